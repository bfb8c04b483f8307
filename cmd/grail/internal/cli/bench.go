package cli

import (
	"encoding/json"
	"fmt"
	"io"

	"grailos/bench/ipc"
	netbench "grailos/bench/net"
	"grailos/bench/nic"
	"grailos/bench/restart"
	"grailos/bench/restart/proctrace"
	"grailos/cmd/grail/internal/system"
	"grailos/kernel"
	"grailos/kernel/sandbox"
)

func bench(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usageError{fmt.Errorf("which benchmark? (ipc, nic, net, restart)")}
	}
	switch args[0] {
	case "ipc":
		return benchIPC(args[1:], stdout, stderr)
	case "nic":
		return benchNIC(args[1:], stdout, stderr)
	case "net":
		return benchNet(args[1:], stdout, stderr)
	case "restart":
		return benchRestart(args[1:], stdout, stderr)
	}
	return usageError{fmt.Errorf("unknown benchmark %q (known: ipc, nic, net, restart)", args[0])}
}

func benchIPC(args []string, stdout, stderr io.Writer) error {
	fs := flags("bench ipc", stderr)
	asJSON := fs.Bool("json", false, "print the result as JSON")
	n := fs.Int("n", 20000, "round trips per measurement")
	bin := fs.String("bin", "", "folder of the task binaries (default: the folder of grail)")
	if err := parseFlagsOnly(fs, args); err != nil {
		return err
	}
	boot := func(sys []byte) (*kernel.Kernel, func() error, error) {
		s, stop, err := bootSystem(system.Options{Default: sys, BinDir: *bin, RunRoot: "/run/grail-bench"})
		if err != nil {
			return nil, nil, err
		}
		return s.Kernel, stop, nil
	}
	trapSignals(stderr)
	res, err := ipc.Run(boot, *n, stderr)
	if err != nil {
		return err
	}
	if *asJSON {
		return res.JSON(stdout)
	}
	res.Print(stdout)
	return nil
}

func benchNIC(args []string, stdout, stderr io.Writer) error {
	fs := flags("bench nic", stderr)
	asJSON := fs.Bool("json", false, "print the result as JSON")
	n := fs.Int("n", 2000, "single echo round trips per path")
	m := fs.Int("m", 20000, "echoes in the flood per path")
	bin := fs.String("bin", "", "folder of the task binaries (default: the folder of grail)")
	if err := parseFlagsOnly(fs, args); err != nil {
		return err
	}
	boot := func(sys []byte) (*kernel.Kernel, int, func() error, error) {
		s, stop, err := bootSystem(system.Options{Default: sys, BinDir: *bin, RunRoot: "/run/grail-bench"})
		if err != nil {
			return nil, 0, nil, err
		}
		return s.Kernel, s.MachinePid(0), stop, nil
	}
	trapSignals(stderr)
	rep, err := nic.RunAll(boot, sandbox.RSS, *n, *m, stderr)
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	rep.Print(stdout)
	return nil
}

func benchNet(args []string, stdout, stderr io.Writer) error {
	fs := flags("bench net", stderr)
	asJSON := fs.Bool("json", false, "print the result as JSON")
	size := fs.Int64("size", 64<<20, "bytes per bulk transfer through GrailOS")
	vethSize := fs.Int64("veth-size", 512<<20, "bytes per bulk transfer over the veth baseline (it is much faster; a longer run is a steadier rate)")
	requests := fs.Int("requests", 2000, "request/response exchanges of 64 bytes per path")
	bin := fs.String("bin", "", "folder of the task binaries (default: the folder of grail)")
	if err := parseFlagsOnly(fs, args); err != nil {
		return err
	}
	if *size < 1<<20 || *vethSize < 1<<20 || *requests < 1 {
		return usageError{fmt.Errorf("-size and -veth-size must be at least 1 MiB, -requests at least 1")}
	}
	boot := func(sys []byte) (*netbench.Booted, error) {
		s, stop, err := bootSystem(system.Options{Default: sys, BinDir: *bin, RunRoot: "/run/grail-bench"})
		if err != nil {
			return nil, err
		}
		return &netbench.Booted{Kernel: s.Kernel, MachinePid: s.MachinePid(0), PeerNetns: system.PeerNetns(s.Name, "nic0"), Stop: stop}, nil
	}
	trapSignals(stderr)
	rep, err := netbench.RunAll(boot, netbench.Options{Size: *size, VethSize: *vethSize, Requests: *requests, Progress: stderr})
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	rep.Print(stdout)
	return nil
}

func benchRestart(args []string, stdout, stderr io.Writer) error {
	fs := flags("bench restart", stderr)
	asJSON := fs.Bool("json", false, "print the result as JSON")
	n := fs.Int("n", 100, "restarts")
	driver := fs.String("driver", "e1000", "the NIC driver server (binary nic-NAME)")
	how := fs.String("how", "kill", "how the driver dies: kill (SIGKILL), segv (a segfault in its transmit code), hang (caught by the heartbeat) or exit")
	plotFile := fs.String("plot", "", "write a picture of the phases and the crash → first frame histogram (.png or .svg)")
	round := fs.Int64("round-size", 256<<20, "bytes per download round (each round is checksummed)")
	spare := fs.Bool("spare", true, "let the kernel keep a warm spare of the driver (spare = true in the system file)")
	bin := fs.String("bin", "", "folder of the task binaries (default: the folder of grail)")
	if err := parseFlagsOnly(fs, args); err != nil {
		return err
	}
	if *n < 1 || *round < 1<<20 {
		return usageError{fmt.Errorf("-n must be at least 1 and -round-size at least 1 MiB")}
	}
	boot := func(sys []byte) (*restart.Booted, error) {
		s, stop, err := bootSystem(system.Options{Default: sys, BinDir: *bin, RunRoot: "/run/grail-bench"})
		if err != nil {
			return nil, err
		}
		return &restart.Booted{Kernel: s.Kernel, PeerNetns: system.PeerNetns(s.Name, "nic0"), Stop: stop}, nil
	}
	trapSignals(stderr)
	opts := restart.Options{N: *n, Driver: *driver, How: *how, RoundSize: *round, Spare: *spare, Progress: stderr}
	tr, terr := proctrace.Start()
	if terr == nil {
		defer tr.Close()
		opts.Tracer = tracer{tr}
	}
	fmt.Fprintf(stderr, "crashing %s %d times (%s) during a TCP download\n", *driver, *n, *how)
	rep, err := restart.Run(boot, opts)
	if err != nil {
		return err
	}
	if terr != nil {
		rep.Trace = fmt.Sprintf("not available here: %v", terr)
	}
	if *plotFile != "" {
		if err := rep.Plot(*plotFile); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "wrote %s\n", *plotFile)
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	rep.Print(stdout)
	return nil
}

// tracer adapts proctrace to the benchmark's cross-check.
type tracer struct{ t *proctrace.Tracer }

func (t tracer) Events() []restart.TraceEvent {
	evs := t.t.Events()
	out := make([]restart.TraceEvent, len(evs))
	for i, e := range evs {
		out[i] = restart.TraceEvent{Kind: e.Kind, Pid: e.Pid, Mono: e.Mono}
	}
	return out
}
