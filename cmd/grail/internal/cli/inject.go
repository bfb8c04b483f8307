package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"grailos/bench/inject"
	"grailos/cmd/grail/internal/progress"
	"grailos/cmd/grail/internal/system"
	"grailos/dde/linux/fault"
)

// injectCmd: grail inject [flags], grail inject merge FILES...
func injectCmd(args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "merge" {
		return injectMerge(args[1:], stdout, stderr)
	}
	fs := flags("inject", stderr)
	faults := fs.Int("faults", 100, "faults in the whole campaign (all shards)")
	seed := fs.Uint64("seed", 1, "the campaign's seed: with a fault's index it chooses the fault")
	types := fs.String("types", "all", "fault classes to cycle through: code, api, hang, dma, data, device, or class/kind (code/flip, api/alloc, dma/rx, data/pointer, device/irq-lost ...)")
	driver := fs.String("driver", "e1000", "the NIC driver server (binary nic-NAME): e1000 or rtl8139")
	shard := fs.String("shard", "0/1", "run shard I of N (I from 0): faults i with i % N == I")
	jsonFile := fs.String("json", "", "write one JSON line per fault to this file, as they end")
	plotFile := fs.String("plot", "", "write a picture of the outcomes per kind of fault (.png or .svg)")
	replay := fs.String("replay", "", "run the fault on line LINE of FILE (a --json file) again: FILE:LINE")
	window := fs.Duration("window", inject.DefaultWindow, "how long a fired fault without visible effect is watched")
	fireWait := fs.Duration("fire-wait", inject.DefaultFireWait, "how long an armed fault may take to fire")
	stall := fs.Duration("stall", inject.DefaultStallLimit, "how long the data may stop, the driver alive, before the harness restarts it")
	hang := fs.Duration("hang-timeout", inject.DefaultHangTimeout, "the driver's hang timeout (init's heartbeat comes at a sixth of it)")
	rto := fs.Duration("peer-rto-min", inject.DefaultMinRTO, "the peer's minimum TCP retransmission timeout (0 keeps Linux's 200ms): short recoveries after each fault")
	workload := fs.String("workload", "tcp,ping", "what runs through the driver during each fault: tcp (a checksummed download), ping (a ping flood from the peer), or both")
	rate := fs.Float64("rate", 8, "the download's pace in MiB/s (0: as fast as it goes); the workload only has to show the driver works")
	round := fs.Int64("round-size", inject.DefaultRoundSize, "bytes per checksummed download round")
	name := fs.String("name", "", "the system's name (default inject-I); campaigns sharing a host need different ones")
	logFile := fs.String("log", "", "write the system's output (every task, the machine) to this file")
	parallel := fs.Int("parallel", 1, "run the campaign as this many shards at once on this host (one system each), then merge them")
	bin := fs.String("bin", "", "folder of the task binaries (default: the folder of grail)")
	noCg := fs.Bool("no-cgroups", false, "run tasks without cgroup limits (containers without a writable cgroup tree)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("unexpected arguments %q (merge FILES... is the other form)", fs.Args())}
	}
	classes, err := inject.ParseClasses(*types)
	if err != nil {
		return usageError{err}
	}
	workloads, err := inject.ParseWorkloads(*workload)
	if err != nil {
		return usageError{err}
	}
	i, n, err := parseShard(*shard)
	if err != nil {
		return usageError{err}
	}
	if *parallel > 1 {
		if *replay != "" || n > 1 {
			return usageError{fmt.Errorf("--parallel runs every shard itself: not with --shard or --replay")}
		}
		return injectParallel(fs, *parallel, *faults, *jsonFile, *plotFile, *name, *logFile, stdout, stderr)
	}
	if *bin == "" {
		exe, err := os.Executable()
		if err != nil {
			return err
		}
		*bin = filepath.Dir(exe)
	}
	o := inject.Options{Faults: *faults, Seed: *seed, Classes: classes, Driver: *driver, Shard: i, Shards: n,
		BinDir: *bin, Name: *name, Window: *window, FireWait: *fireWait, StallLimit: *stall, RoundSize: *round,
		HangTimeout: *hang, MinRTO: *rto, Workloads: workloads, Rate: int64(*rate * (1 << 20))}
	var recorded *inject.Record
	if *replay != "" {
		r, err := inject.ReadLine(*replay)
		if err != nil {
			return err
		}
		recorded = &r
		o.Replay, o.ReplayOf, o.Driver, o.Seed = []inject.Record{r}, *replay, r.Driver, r.Seed
	} else if *jsonFile != "" {
		o.Stream, o.SummaryFile = true, *jsonFile // the records are in the file
	}
	if *logFile != "" {
		f, err := os.Create(*logFile)
		if err != nil {
			return err
		}
		defer f.Close()
		o.Log = f
	}
	var out io.Writer
	if *jsonFile != "" {
		f, err := os.OpenFile(*jsonFile, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
		if err != nil {
			return err
		}
		defer f.Close()
		out = f
	}
	bar := progress.New(stderr, "faults", 0)
	bar.Unit = progress.Count
	bar.Rate = func(r float64) string { return fmt.Sprintf("%.2f faults", r) }
	o.OnFault = func(done, total int, r inject.Record) error {
		bar.Total = int64(total)
		if r.Outcome == inject.OutcomeOutside || r.Outcome == inject.OutcomeHarness {
			bar.Note(fmt.Sprintf("fault %d (%s): %s: %s", r.Index, r.Kind, r.Outcome, r.Detail))
		}
		bar.Set(int64(done))
		if out != nil {
			return inject.WriteRecord(out, r)
		}
		return nil
	}
	boot := func(sys []byte, output io.Writer) (*inject.Booted, error) {
		s, stop, err := bootSystem(system.Options{Default: sys, BinDir: *bin, RunRoot: "/run/grail-inject", Output: output,
			NoCgroups: *noCg})
		if err != nil {
			return nil, err
		}
		alive := func() bool { pid := s.MachinePid(0); return pid > 0 && unix.Kill(pid, 0) == nil }
		return &inject.Booted{Kernel: s.Kernel, PeerNetns: system.PeerNetns(s.Name, "nic0"), MachineAlive: alive,
			MachinePid: func() int { return s.MachinePid(0) }, Stop: stop,
			DeviceFault: func(f fault.Spec) error { return s.DeviceFault(0, f) }, Device: s.DeviceName(0)}, nil
	}
	trapSignals(stderr)
	if recorded != nil {
		fmt.Fprintf(stderr, "replaying fault %d (%s) of seed %d on %s; recorded outcome: %s\n", recorded.Index, recorded.Kind,
			recorded.Seed, recorded.Driver, recorded.Outcome)
	} else {
		fmt.Fprintf(stderr, "injecting %d faults (shard %d/%d, seed %d, %s) into %s (workload: %s)\n",
			(*faults-i+n-1)/n, i, n, *seed, strings.Join(classes, ","), *driver, strings.Join(workloads, " and "))
	}
	rep, err := inject.Run(boot, o)
	bar.Finish()
	if rep != nil {
		if len(rep.Ran) > 0 {
			fmt.Fprintf(stdout, "%s: %d donor functions, %d ran under the workload (code and hang faults go there): %s\n",
				o.Driver, rep.Functions, len(rep.Ran), strings.Join(rep.Ran, " "))
		}
		rep.Summary.Print(stdout)
		if recorded != nil && len(rep.Records) == 1 {
			got := rep.Records[0]
			fmt.Fprintf(stdout, "replay: outcome %s (recorded %s): %s\n", got.Outcome, recorded.Outcome, got.Detail)
			if got.Outcome != recorded.Outcome && err == nil {
				err = fmt.Errorf("the replay's outcome %s differs from the recorded %s", got.Outcome, recorded.Outcome)
			}
		}
		if *plotFile != "" && rep.Summary.Faults > 0 {
			if perr := rep.Summary.Plot(*plotFile, fmt.Sprintf("%s: outcomes of %d faults (seed %d)", o.Driver, rep.Summary.Faults, o.Seed)); perr != nil {
				return perr
			}
			fmt.Fprintf(stderr, "wrote %s\n", *plotFile)
		}
	}
	return err
}

// injectMerge: grail inject merge [--plot FILE] [--json] FILES...
func injectMerge(args []string, stdout, stderr io.Writer) error {
	fs := flags("inject merge", stderr)
	plotFile := fs.String("plot", "", "write a picture of the outcomes per kind of fault (.png or .svg)")
	out := fs.String("o", "", "write the merged records (JSON lines, in fault order) to this file")
	asJSON := fs.Bool("json", false, "print the summary as JSON")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return usageError{fmt.Errorf("name the shard files to merge")}
	}
	recs, err := inject.Merge(fs.Args())
	if err != nil {
		return err
	}
	file := ""
	if *out != "" {
		if err := writeRecords(*out, recs); err != nil {
			return err
		}
		file = *out
	}
	s := inject.Summarize(recs, file)
	if *plotFile != "" && len(recs) > 0 {
		if err := s.Plot(*plotFile, fmt.Sprintf("%s: outcomes of %d faults (seed %d)", recs[0].Driver, len(recs), recs[0].Seed)); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "wrote %s\n", *plotFile)
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(s)
	}
	fmt.Fprintf(stdout, "%d files, %d faults\n", fs.NArg(), len(recs))
	s.Print(stdout)
	return nil
}

// parseShard parses I/N.
func parseShard(s string) (int, int, error) {
	a, b, ok := strings.Cut(s, "/")
	i, err1 := strconv.Atoi(a)
	n, err2 := strconv.Atoi(b)
	if !ok || err1 != nil || err2 != nil || n < 1 || i < 0 || i >= n {
		return 0, 0, fmt.Errorf("--shard %q: want I/N with 0 ≤ I < N", s)
	}
	return i, n, nil
}

// writeRecords writes records to file, one JSON line each.
func writeRecords(file string, recs []inject.Record) error {
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	for _, r := range recs {
		if err := inject.WriteRecord(f, r); err != nil {
			f.Close()
			return err
		}
	}
	return f.Close()
}
