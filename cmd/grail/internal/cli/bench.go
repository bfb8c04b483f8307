package cli

import (
	"encoding/json"
	"fmt"
	"io"

	"grailos/bench/ipc"
	"grailos/bench/nic"
	"grailos/cmd/grail/internal/system"
	"grailos/kernel"
	"grailos/kernel/sandbox"
)

func bench(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usageError{fmt.Errorf("which benchmark? (ipc, nic)")}
	}
	switch args[0] {
	case "ipc":
		return benchIPC(args[1:], stdout, stderr)
	case "nic":
		return benchNIC(args[1:], stdout, stderr)
	}
	return usageError{fmt.Errorf("unknown benchmark %q (known: ipc, nic)", args[0])}
}

func benchIPC(args []string, stdout, stderr io.Writer) error {
	fs := flags("bench ipc", stderr)
	asJSON := fs.Bool("json", false, "print the result as JSON")
	n := fs.Int("n", 20000, "round trips per measurement")
	bin := fs.String("bin", "", "folder of the task binaries (default: the folder of grail)")
	if err := parse(fs, args); err != nil {
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
	if err := parse(fs, args); err != nil {
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
