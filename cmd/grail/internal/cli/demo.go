package cli

import (
	"bytes"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"grailos/cmd/grail/internal/system"
	"grailos/kernel"
	"grailos/servers/init/systems"
)

// syncBuffer collects task output for the demo.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// waitEvent waits for an event matching subject and kind after index from.
func waitEvent(k *kernel.Kernel, from int, subject, kind string, timeout time.Duration) (kernel.Event, int, error) {
	return k.Events().WaitFor(from, subject, kind, timeout)
}

func demo(args []string, stdout, stderr io.Writer) error {
	fs := flags("demo", stderr)
	bin := fs.String("bin", "", "folder of the task binaries (default: the folder of grail)")
	verbose := fs.Bool("v", false, "show every line the tasks print")
	if err := parse(fs, args); err != nil {
		return err
	}
	out := &syncBuffer{}
	var taskOut io.Writer = out
	if *verbose {
		taskOut = io.MultiWriter(out, stdout)
	}
	fmt.Fprintln(stdout, "== GrailOS demo: boot the default system, crash a server, watch it come back ==")
	t0 := time.Now()
	trapSignals(stderr)
	s, stop, err := bootSystem(system.Options{Default: systems.Default, BinDir: *bin, Output: taskOut, RunRoot: "/run/grail-demo"})
	if err != nil {
		return err
	}
	defer stop()
	k := s.Kernel
	for _, name := range []string{"echo", "pinger", "e1000", "nicprobe"} {
		if _, _, err := waitEvent(k, 0, name, "ready", 20*time.Second); err != nil {
			return err
		}
	}
	fmt.Fprintf(stdout, "\nbooted in %v: kernel, init, the machine (an emulated Intel 82540EM whose wire is a TAP\n"+
		"device in the namespace %s) and four confined servers:\n"+
		"  echo + pinger   a server and its client: calls through the kernel, data through a shared-memory ring\n"+
		"  e1000           the unmodified Linux e1000 driver (Debian's linux-source-6.1) on the DDE\n"+
		"  nicprobe        a client of the driver's NIC session at 192.0.2.2\n\n",
		time.Since(t0).Round(time.Millisecond), system.PeerNetns("default", "nic0"))
	printPS(stdout, k)
	if err := k.WaitOutput("pinger", "ring session to echo opened", 1, 10*time.Second); err != nil {
		return err
	}
	if err := k.WaitOutput("nicprobe", "DONE", 1, 20*time.Second); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "\nwhat the Linux e1000 driver printed:")
	for _, l := range k.Logs("e1000") {
		fmt.Fprintf(stdout, "  %s\n", l)
	}
	fmt.Fprintln(stdout, "\nwhat nicprobe saw through the driver (the peer is Linux's own stack):")
	for _, l := range k.Logs("nicprobe") {
		if strings.HasPrefix(l, "CHECK ") {
			fmt.Fprintf(stdout, "  %s\n", strings.TrimPrefix(l, "CHECK "))
		}
	}
	ns := system.PeerNetns("default", "nic0")
	fmt.Fprintf(stdout, "\n$ ip netns exec %s ping -c 3 192.0.2.2\n", ns)
	if out, err := exec.Command("ip", "netns", "exec", ns, "ping", "-c", "3", "-i", "0.2", "-W", "2", "192.0.2.2").CombinedOutput(); err != nil {
		fmt.Fprintf(stdout, "  ping failed: %v\n", err)
	} else {
		for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			if strings.Contains(l, "bytes from") || strings.Contains(l, "transmitted") {
				fmt.Fprintf(stdout, "  %s\n", l)
			}
		}
	}
	time.Sleep(300 * time.Millisecond)

	mark := k.Events().Len()
	outMark := len(out.String())
	pid, _ := k.Pid("echo")
	fmt.Fprintf(stdout, "\n$ grail kill echo        # SIGKILL to pid %d, as a crash would\n", pid)
	killT := kernel.Monotonic()
	if err := k.Kill("echo"); err != nil {
		return err
	}
	ready, _, err := waitEvent(k, mark, "echo", "ready", 20*time.Second)
	if err != nil {
		return err
	}
	// Let the client notice and re-attach.
	if err := k.WaitOutput("pinger", "ring session to echo opened", 2, 10*time.Second); err != nil {
		return err
	}
	time.Sleep(300 * time.Millisecond)
	fmt.Fprintln(stdout, "\nwhat the event log recorded (ms after the kill):")
	for _, e := range k.Events().Since(mark) {
		if e.Subject != "echo" || e.T > ready.T {
			continue
		}
		fmt.Fprintf(stdout, "  %+8.3f  %-18s %s\n", float64(e.T-killT)/1e6, e.Kind, e.Detail)
	}
	fmt.Fprintf(stdout, "\necho was back %.1f ms after the kill.\n", float64(ready.T-killT)/1e6)
	fmt.Fprintln(stdout, "\nwhat the client (pinger) saw meanwhile:")
	shown := 0
	for _, l := range strings.Split(out.String()[outMark:], "\n") {
		if strings.HasPrefix(l, "pinger") && !strings.Contains(l, "round trips ok") && shown < 8 {
			fmt.Fprintf(stdout, "  %s\n", l)
			shown++
		}
	}
	if shown == 0 {
		fmt.Fprintln(stdout, "  nothing: its calls waited in the kernel while echo restarted")
	}

	// The same for the driver: the machine keeps its device, the new
	// instance resets it, the client re-opens its NIC session.
	mark = k.Events().Len()
	pid, _ = k.Pid("e1000")
	fmt.Fprintf(stdout, "\n$ grail kill e1000       # the Linux driver's server, pid %d\n", pid)
	killT = kernel.Monotonic()
	if err := k.Kill("e1000"); err != nil {
		return err
	}
	ready, _, err = waitEvent(k, mark, "e1000", "ready", 20*time.Second)
	if err != nil {
		return err
	}
	if err := k.WaitOutput("nicprobe", "NIC session re-opened", 1, 10*time.Second); err != nil {
		return err
	}
	if err := k.WaitOutput("e1000", "link up", 2, 10*time.Second); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "e1000 was back (probed, device reset, ready) %.1f ms after the kill; the client re-opened its session.\n",
		float64(ready.T-killT)/1e6)
	fmt.Fprintf(stdout, "$ ip netns exec %s ping -c 3 192.0.2.2\n", ns)
	if out, err := exec.Command("ip", "netns", "exec", ns, "ping", "-c", "3", "-i", "0.2", "-W", "2", "192.0.2.2").CombinedOutput(); err == nil || len(out) > 0 {
		for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			if strings.Contains(l, "transmitted") {
				fmt.Fprintf(stdout, "  %s\n", l)
			}
		}
	}
	fmt.Fprintln(stdout)
	printPS(stdout, k)
	fmt.Fprintln(stdout, "\nshutting down")
	if err := stop(); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "stopped cleanly: every task reaped, cgroups and run folder removed")
	return nil
}

func printPS(w io.Writer, k *kernel.Kernel) {
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  NAME\tPID\tSTATE\tRESTARTS\tRSS\tCAPS")
	for _, t := range k.Tasks() {
		fmt.Fprintf(tw, "  %s\t%d\t%s\t%d\t%s\t%d\n", t.Name, t.Pid, t.State, t.Restarts, mib(t.RSSBytes), t.CapCount)
	}
	tw.Flush()
}
