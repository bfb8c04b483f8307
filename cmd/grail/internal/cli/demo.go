package cli

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"grailos/cmd/grail/internal/peer"
	"grailos/cmd/grail/internal/progress"
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

// demoClient is the native program the demo adds to the default system: it
// downloads the peer's file twice and waits for nginx to come up first.
const demoClient = `
# Added by grail demo: the download client, an ordinary Go program on the
# native personality (personalities/native/programs/fetch).
[[server]]
name = "fetch"
uses = ["net"]
restart = "temporary"
args = ["-url", "http://192.0.2.1/blob", "-rounds", "2", "-pause", "1s", "-wait", "60s", "-every", "100ms"]
[server.limits]
memory = "64MiB"
`

func demo(args []string, stdout, stderr io.Writer) error {
	fs := flags("demo", stderr)
	bin := fs.String("bin", "", "folder of the task binaries (default: the folder of grail)")
	verbose := fs.Bool("v", false, "show every line the tasks print")
	size := fs.Int64("size", 64<<20, "bytes to download")
	killAt := fs.Float64("kill-at", 0.4, "kill the driver when this fraction of the second download has arrived")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *size < 1<<20 || *killAt <= 0 || *killAt >= 1 {
		return usageError{errors.New("-size must be at least 1 MiB and -kill-at between 0 and 1")}
	}
	if _, err := peer.NginxBinary(); err != nil {
		return err
	}
	out := &syncBuffer{}
	var taskOut io.Writer = out
	if *verbose {
		taskOut = io.MultiWriter(out, stdout)
	}
	fmt.Fprintln(stdout, "== GrailOS demo: a real Linux driver in a confined server, crashed under load ==")
	t0 := time.Now()
	trapSignals(stderr)
	def := append(append([]byte(nil), systems.Default...), demoClient...)
	s, stop, err := bootSystem(system.Options{Default: def, BinDir: *bin, Output: taskOut, RunRoot: "/run/grail-demo"})
	if err != nil {
		return err
	}
	defer stop()
	k := s.Kernel
	for _, name := range []string{"echo", "pinger", "e1000", "net", "fetch"} {
		if _, _, err := waitEvent(k, 0, name, "ready", 20*time.Second); err != nil {
			return err
		}
	}
	ns := system.PeerNetns("default", "nic0")
	fmt.Fprintf(stdout, "\nbooted in %v: kernel, init, the machine (an emulated Intel 82540EM whose wire is a TAP\n"+
		"device in the namespace %s, where Linux's own stack answers at 192.0.2.1) and confined servers:\n"+
		"  echo + pinger   a server and its client: calls through the kernel, data through a shared-memory ring\n"+
		"  e1000           the unmodified Linux e1000 driver (Debian's linux-source-6.1) on the DDE\n"+
		"  net             gVisor's netstack on the driver's NIC session, at 192.0.2.2\n"+
		"  fetch           an ordinary Go net/http client on the native personality\n\n",
		time.Since(t0).Round(time.Millisecond), ns)
	printPS(stdout, k)
	if err := k.WaitOutput("e1000", "link up", 1, 10*time.Second); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "\nwhat the Linux e1000 driver printed:")
	for _, l := range k.Logs("e1000") {
		fmt.Fprintf(stdout, "  %s\n", l)
	}
	fmt.Fprintf(stdout, "\n$ ip netns exec %s ping -c 3 192.0.2.2     # answered by netstack, through the driver\n", ns)
	peerPing(stdout, ns, true)

	// A plain server crash first: echo.
	if err := k.WaitOutput("pinger", "ring session to echo opened", 1, 10*time.Second); err != nil {
		return err
	}
	mark := k.Events().Len()
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
	if err := k.WaitOutput("pinger", "ring session to echo opened", 2, 10*time.Second); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "  echo was back %.1f ms after the kill; its client re-opened its ring session and resent its call.\n",
		float64(ready.T-killT)/1e6)

	// The main act: downloads through the whole path, the second one with
	// the driver killed in the middle.
	dir, err := os.MkdirTemp("", "grail-demo-www-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	fmt.Fprintf(stdout, "\nwriting a %s test file for nginx ... ", progress.MiB(*size))
	want, err := peer.WriteBlob(dir, "blob", "grailos demo", *size)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "SHA-256 %x\n", want[:8])
	ng, err := peer.StartNginx(ns, "192.0.2.1:80", dir)
	if err != nil {
		return err
	}
	defer ng.Stop()
	fmt.Fprintf(stdout, "nginx (Debian) serves it in %s at http://192.0.2.1/blob\n", ns)

	fmt.Fprintln(stdout, "\ndownload 1: fetch → net server → e1000 server → machine → TAP → nginx")
	r1, err := followDownload(stdout, k, 1, nil)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, "\ndownload 2: the same, and the e1000 driver server is killed (SIGKILL) in the middle")
	var kill killRecord
	r2, err := followDownload(stdout, k, 2, func(got, total int64) bool {
		if kill.done || total <= 0 || float64(got) < *killAt*float64(total) {
			return false
		}
		kill.done = true
		kill.mark = k.Events().Len()
		kill.at = got
		kill.pid, _ = k.Pid("e1000")
		kill.t = kernel.Monotonic()
		kill.err = k.Kill("e1000")
		return true
	})
	if err != nil {
		return err
	}
	if kill.err != nil {
		return fmt.Errorf("killing e1000: %w", kill.err)
	}

	// The report.
	wantHex := fmt.Sprintf("%x", want)
	fmt.Fprintln(stdout, "\n== report ==")
	intact := true
	for i, r := range []downloadResult{r1, r2} {
		ok := r.Sum == wantHex && r.Bytes == *size
		intact = intact && ok
		verdict := "intact (SHA-256 matches nginx's file)"
		if !ok {
			verdict = fmt.Sprintf("NOT INTACT: %d bytes, SHA-256 %.16s…, want %d bytes, %.16s…", r.Bytes, r.Sum, *size, wantHex)
		}
		fmt.Fprintf(stdout, "  download %d: %s in %.2f s = %.1f MiB/s over %d TCP connection(s); %s\n",
			i+1, progress.MiB(r.Bytes), r.Seconds, float64(r.Bytes)/(1<<20)/r.Seconds, r.Conns, verdict)
	}
	if !kill.done {
		fmt.Fprintln(stdout, "  the driver was not killed: the download ended before it reached the kill point")
	} else {
		fmt.Fprintf(stdout, "  e1000 (pid %d) killed at %s of download 2:\n", kill.pid, progress.MiB(kill.at))
		for _, e := range k.Events().Since(kill.mark) {
			if (e.Subject != "e1000" && e.Subject != "net") || e.Kind == "heartbeat" {
				continue
			}
			fmt.Fprintf(stdout, "    %+9.3f ms  %-6s %-16s %s\n", float64(e.T-kill.t)/1e6, e.Subject, e.Kind, e.Detail)
		}
		if rd, _, err := waitEvent(k, kill.mark, "e1000", "ready", time.Second); err == nil {
			fmt.Fprintf(stdout, "    the driver was back (probed, device reset, link up, session offered) %.1f ms after the kill;\n", float64(rd.T-kill.t)/1e6)
		}
		fmt.Fprintf(stdout, "    the client's longest stall was %.0f ms (download 1: %.0f ms) — the rest is TCP's\n"+
			"    retransmission timer: segments lost in the gap are sent again, nothing is lost\n", r2.StallMS, r1.StallMS)
		if r2.Conns == 1 {
			fmt.Fprintln(stdout, "    the TCP connection survived: one connection carried the whole download")
		}
	}
	fmt.Fprintln(stdout)
	printPS(stdout, k)
	fmt.Fprintln(stdout, "\nshutting down")
	ng.Stop()
	if err := stop(); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "stopped cleanly: every task reaped, cgroups and run folder removed")
	if !intact {
		return errors.New("a download was not intact")
	}
	return nil
}

type killRecord struct {
	done bool
	mark int
	at   int64
	pid  int
	t    int64
	err  error
}

// downloadResult is fetch's RESULT line.
type downloadResult struct {
	Bytes   int64
	Sum     string
	Seconds float64
	StallMS float64
	Conns   int
}

// followDownload draws round r of fetch as a progress bar until its
// RESULT; at is called with each progress and may act (it returns true
// when it did, and a note is printed).
func followDownload(w io.Writer, k *kernel.Kernel, r int, at func(got, total int64) bool) (downloadResult, error) {
	rs := strconv.Itoa(r)
	var bar *progress.Bar
	deadline := time.Now().Add(10 * time.Minute)
	for time.Now().Before(deadline) {
		var got, total int64 = -1, 0
		for _, l := range k.Logs("fetch") {
			f := strings.Fields(l)
			if len(f) < 2 || (f[1] != rs && f[0] != "ERROR") {
				continue
			}
			switch f[0] {
			case "PROGRESS":
				if len(f) == 4 {
					got, _ = strconv.ParseInt(f[2], 10, 64)
					total, _ = strconv.ParseInt(f[3], 10, 64)
				}
			case "ERROR":
				if bar != nil {
					bar.Finish()
				}
				return downloadResult{}, fmt.Errorf("fetch: %s", strings.Join(f[2:], " "))
			case "RESULT":
				if len(f) != 7 {
					return downloadResult{}, fmt.Errorf("fetch: malformed %q", l)
				}
				var res downloadResult
				res.Bytes, _ = strconv.ParseInt(f[2], 10, 64)
				res.Sum = f[3]
				res.Seconds, _ = strconv.ParseFloat(f[4], 64)
				res.StallMS, _ = strconv.ParseFloat(f[5], 64)
				res.Conns, _ = strconv.Atoi(f[6])
				if bar == nil {
					bar = progress.New(w, "fetch", res.Bytes)
				}
				bar.Set(res.Bytes)
				bar.Finish()
				return res, nil
			}
		}
		if got >= 0 {
			if bar == nil {
				bar = progress.New(w, "fetch", total)
			}
			bar.Set(got)
			if at != nil && at(got, total) {
				bar.Note(fmt.Sprintf("  $ grail kill e1000   # at %s", progress.MiB(got)))
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return downloadResult{}, fmt.Errorf("download %d did not finish within 10 minutes", r)
}

// peerPing pings the net server from the peer namespace and prints the
// summary (and the replies, if all).
func peerPing(w io.Writer, ns string, all bool) {
	out, err := exec.Command("ip", "netns", "exec", ns, "ping", "-c", "3", "-i", "0.2", "-W", "2", "192.0.2.2").CombinedOutput()
	if err != nil && len(out) == 0 {
		fmt.Fprintf(w, "  ping failed: %v\n", err)
		return
	}
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if (all && strings.Contains(l, "bytes from")) || strings.Contains(l, "transmitted") {
			fmt.Fprintf(w, "  %s\n", l)
		}
	}
}

func printPS(w io.Writer, k *kernel.Kernel) {
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  NAME\tPID\tSTATE\tRESTARTS\tRSS\tCAPS")
	for _, t := range k.Tasks() {
		fmt.Fprintf(tw, "  %s\t%d\t%s\t%d\t%s\t%d\n", t.Name, t.Pid, t.State, t.Restarts, mib(t.RSSBytes), t.CapCount)
	}
	tw.Flush()
}
