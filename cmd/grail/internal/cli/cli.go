// Package cli implements the grail subcommands. Each takes its arguments and
// writers so tests can run them and read what they print.
package cli

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"text/tabwriter"
	"time"

	"grailos/cmd/grail/internal/system"
	"grailos/servers/init/systems"
)

const usage = `usage: grail COMMAND [ARGS]

  up [SYSTEM-FILE]     boot a system (the default one when none is named) and
                       stay in the foreground; Ctrl-C shuts it down cleanly
  ps [--json]          tasks of the running system: state, restarts, memory
  kill NAME            crash a server on purpose (SIGKILL), as a fault would
  logs [-f] [NAME]     output of a server (all servers when none is named)
  events [--json]      the kernel's event log (crash, detection, restart, ready)
  check SYSTEM-FILE    validate a system file
  demo                 boot the default system, crash a server, watch it return
  bench ipc [--json]   IPC round trips and throughput against Unix sockets and pipes
  bench nic [--json]   frames through the e1000 driver server against a Linux veth pair
  inject --faults N --seed S [--types LIST] [--driver NAME] [--shard I/N]
         [--json FILE] [--plot FILE] [--replay FILE:LINE]
                       a fault-injection campaign against a NIC driver server
                       during a checksummed download; inject merge FILES...
                       combines shards
  port NAME --from linux:PATH...
                       scaffold a driver port, compile it, report its kernel-symbol coverage
  port --report [--json]
                       coverage of every PCI NIC driver in the donor tarball

Commands that talk to a running system take --system NAME when several run.
`

// Main runs one command and returns the process exit code.
func Main(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprint(stdout, usage)
		return 0
	}
	cmds := map[string]func([]string, io.Writer, io.Writer) error{
		"up": up, "ps": ps, "kill": kill, "logs": logs, "events": events, "check": check,
		"demo": demo, "bench": bench, "port": portCmd, "inject": injectCmd,
	}
	f, ok := cmds[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "grail: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	if err := f(args[1:], stdout, stderr); err != nil {
		var ue usageError
		if errors.As(err, &ue) {
			fmt.Fprintf(stderr, "grail %s: %v\n", args[0], err)
			return 2
		}
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintf(stderr, "grail %s: %v\n", args[0], err)
		return 1
	}
	return 0
}

type usageError struct{ error }

func flags(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("grail "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

// parseFlagsOnly is parse for commands that take no arguments besides
// flags: a stray word (a value given to a boolean flag, "--json FILE")
// would otherwise end flag parsing silently and drop the flags after it.
func parseFlagsOnly(fs *flag.FlagSet, args []string) error {
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("unexpected argument %q (flags after it were not read)", fs.Arg(0))}
	}
	return nil
}

func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err}
	}
	return nil
}

func up(args []string, stdout, stderr io.Writer) error {
	fs := flags("up", stderr)
	bin := fs.String("bin", "", "folder of the task binaries (default: the folder of grail)")
	runRoot := fs.String("run-dir", "", "parent folder of the run folder (default /run/grail)")
	noCg := fs.Bool("no-cgroups", false, "run tasks without cgroup limits")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 1 {
		return usageError{fmt.Errorf("at most one system file")}
	}
	opts := system.Options{File: fs.Arg(0), Default: systems.Default, BinDir: *bin, RunRoot: *runRoot,
		Output: stdout, NoCgroups: *noCg}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	s, err := system.Boot(opts)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "grail: system %q up (run folder %s); Ctrl-C stops it\n", s.Name, s.RunDir)
	initDone := make(chan struct{})
	go func() { s.Wait(); close(initDone) }()
	select {
	case sig := <-sigs:
		fmt.Fprintf(stdout, "grail: %v: shutting down\n", sig)
		return s.Stop()
	case <-initDone:
		code := s.Wait()
		s.Stop()
		return fmt.Errorf("init ended (%v): the system stopped; see `grail events` output above", code)
	}
}

func dial(fs *flag.FlagSet, args []string, extra ...func()) (*system.Client, error) {
	name := fs.String("system", "", "name of the running system")
	runRoot := fs.String("run-dir", "", "parent folder of the run folder (default /run/grail)")
	if err := parse(fs, args); err != nil {
		return nil, err
	}
	sock, err := system.Find(*runRoot, *name)
	if err != nil {
		return nil, err
	}
	return system.Dial(sock)
}

func ps(args []string, stdout, stderr io.Writer) error {
	fs := flags("ps", stderr)
	asJSON := fs.Bool("json", false, "print JSON")
	c, err := dial(fs, args)
	if err != nil {
		return err
	}
	defer c.Close()
	r, err := c.Do(system.Request{Cmd: "ps"})
	if err != nil {
		return err
	}
	if *asJSON {
		return json.NewEncoder(stdout).Encode(r.Tasks)
	}
	tw := tabwriter.NewWriter(stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tPID\tSTATE\tRESTARTS\tRSS\tCAPS\tUPTIME\tROLE")
	for _, t := range r.Tasks {
		pid := "-"
		if t.Pid > 0 {
			pid = fmt.Sprint(t.Pid)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%d\t%s\t%s\n", t.Name, pid, t.State, t.Restarts,
			mib(t.RSSBytes), t.CapCount, t.Uptime.Round(time.Second), t.Role)
	}
	return tw.Flush()
}

func mib(b int64) string {
	if b == 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20))
}

func kill(args []string, stdout, stderr io.Writer) error {
	fs := flags("kill", stderr)
	c, err := dial(fs, args)
	if err != nil {
		return err
	}
	defer c.Close()
	if fs.NArg() != 1 {
		return usageError{fmt.Errorf("name one server")}
	}
	if _, err := c.Do(system.Request{Cmd: "kill", Name: fs.Arg(0)}); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "killed %s\n", fs.Arg(0))
	return nil
}

func logs(args []string, stdout, stderr io.Writer) error {
	fs := flags("logs", stderr)
	follow := fs.Bool("f", false, "keep printing new lines")
	c, err := dial(fs, args)
	if err != nil {
		return err
	}
	defer c.Close()
	seen := 0
	for {
		r, err := c.Do(system.Request{Cmd: "logs", Name: fs.Arg(0)})
		if err != nil {
			return err
		}
		if seen > len(r.Lines) {
			seen = 0
		}
		for _, l := range r.Lines[seen:] {
			fmt.Fprintln(stdout, l)
		}
		seen = len(r.Lines)
		if !*follow {
			return nil
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func events(args []string, stdout, stderr io.Writer) error {
	fs := flags("events", stderr)
	asJSON := fs.Bool("json", false, "print JSON lines")
	c, err := dial(fs, args)
	if err != nil {
		return err
	}
	defer c.Close()
	r, err := c.Do(system.Request{Cmd: "events"})
	if err != nil {
		return err
	}
	enc := json.NewEncoder(stdout)
	for _, e := range r.Events {
		if *asJSON {
			enc.Encode(e)
		} else {
			fmt.Fprintln(stdout, e)
		}
	}
	return nil
}

func check(args []string, stdout, stderr io.Writer) error {
	if len(args) != 1 {
		return usageError{fmt.Errorf("name one system file")}
	}
	def, _, err := system.Load(system.Options{File: args[0]})
	if err != nil {
		return err
	}
	var names []string
	for _, s := range def.Servers {
		names = append(names, s.Name)
	}
	fmt.Fprintf(stdout, "%s: system %q, %d servers: %s\n", args[0], def.Name, len(def.Servers), strings.Join(names, ", "))
	return nil
}

// cleanups run when a trapped signal arrives; see trapSignals.
var (
	cleanupMu sync.Mutex
	cleanups  []func() error
)

// trapSignals makes Ctrl-C and SIGTERM run the registered cleanups and exit
// 130, for commands that run to completion (demo, benchmarks).
func trapSignals(stderr io.Writer) {
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		sig := <-sigs
		fmt.Fprintf(stderr, "grail: %v: stopping\n", sig)
		cleanupMu.Lock()
		for i := len(cleanups) - 1; i >= 0; i-- {
			cleanups[i]()
		}
		os.Exit(130)
	}()
}

// bootSystem boots a system for a command that runs to completion and
// registers its shutdown as a cleanup. The returned stop is idempotent.
func bootSystem(opts system.Options) (*system.System, func() error, error) {
	s, err := system.Boot(opts)
	if err != nil {
		return nil, nil, err
	}
	cleanupMu.Lock()
	cleanups = append(cleanups, s.Stop)
	cleanupMu.Unlock()
	return s, s.Stop, nil
}
