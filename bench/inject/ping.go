package inject

import (
	"bufio"
	"fmt"
	"io"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"grailos/kernel"
)

// Workloads a campaign can run through the driver: a checksummed TCP
// download (the client task fetch, from a server in the peer namespace)
// and a ping flood (Debian's ping, from the peer namespace to the net
// server's address).
const (
	WorkloadTCP  = "tcp"
	WorkloadPing = "ping"
)

// DefaultWorkloads run together unless --workload says otherwise.
var DefaultWorkloads = []string{WorkloadTCP, WorkloadPing}

// ParseWorkloads parses a --workload list.
func ParseWorkloads(list string) ([]string, error) {
	if list == "" {
		return DefaultWorkloads, nil
	}
	var out []string
	for _, w := range strings.Split(list, ",") {
		switch w = strings.TrimSpace(w); w {
		case WorkloadTCP, WorkloadPing:
			if !slices.Contains(out, w) {
				out = append(out, w)
			}
		default:
			return nil, fmt.Errorf("unknown workload %q (tcp, ping)", w)
		}
	}
	return out, nil
}

// pingInterval is the flood's pace: 200 echo requests a second.
const pingInterval = "0.005"

// flood is a running ping flood: it counts echo replies as ping prints
// them, stamped with CLOCK_MONOTONIC (the event log's clock).
type flood struct {
	cmd     *exec.Cmd
	mu      sync.Mutex
	replies int64
	last    int64
	done    chan struct{}
	tail    []string // ping's last lines, for an error
}

// startFlood starts ping in the peer namespace ns against addr.
func startFlood(ns, addr string) (*flood, error) {
	if _, err := exec.LookPath("ping"); err != nil {
		return nil, fmt.Errorf("the ping workload needs Debian's ping (iputils-ping): %w", err)
	}
	f := &flood{done: make(chan struct{})}
	f.cmd = exec.Command("ip", "netns", "exec", ns, "ping", "-n", "-i", pingInterval, "-W", "1", addr)
	f.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	out, err := f.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	f.cmd.Stderr = f.cmd.Stdout
	if err := f.cmd.Start(); err != nil {
		return nil, fmt.Errorf("ping flood: %w", err)
	}
	go f.read(out)
	return f, nil
}

func (f *flood) read(r io.Reader) {
	defer close(f.done)
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		l := sc.Text()
		now := kernel.Monotonic()
		f.mu.Lock()
		if strings.Contains(l, " bytes from ") && strings.Contains(l, "icmp_seq=") {
			f.replies++
			f.last = now
		} else {
			f.tail = append(f.tail, l)
			if len(f.tail) > 5 {
				f.tail = f.tail[1:]
			}
		}
		f.mu.Unlock()
	}
}

// progress is the replies so far and when the last came.
func (f *flood) progress() (int64, int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.replies, f.last
}

// ended says why ping ended, or "" while it runs.
func (f *flood) ended() string {
	select {
	case <-f.done:
		f.mu.Lock()
		defer f.mu.Unlock()
		return fmt.Sprintf("ping ended: %s", strings.Join(f.tail, " / "))
	default:
		return ""
	}
}

func (f *flood) stop() {
	f.cmd.Process.Kill()
	select {
	case <-f.done:
	case <-time.After(5 * time.Second):
	}
	f.cmd.Wait()
}

// level is how far the workloads have come: the download's bytes, the
// flood's replies, and when the later of them last grew.
type level struct {
	bytes, replies int64
	at             int64
}

// minReplies are the echo replies that show the flood gets through.
const minReplies = 5

func (c *campaign) level() level {
	var l level
	if c.tcp {
		l.bytes, l.at = c.mon.progress()
	}
	if c.ping != nil {
		var at int64
		l.replies, at = c.ping.progress()
		l.at = max(l.at, at)
	}
	return l
}

// ahead says whether every workload moved on from a to b (the download by
// minProgress bytes, the flood by minReplies replies).
func (c *campaign) ahead(a, b level) bool {
	return (!c.tcp || b.bytes-a.bytes >= minProgress) && (c.ping == nil || b.replies-a.replies >= minReplies)
}

// moved describes what moved from a to b, for a person.
func (c *campaign) moved(a, b level) string {
	var parts []string
	if c.tcp {
		parts = append(parts, fmt.Sprintf("%d KiB", (b.bytes-a.bytes)>>10))
	}
	if c.ping != nil {
		parts = append(parts, fmt.Sprintf("%d echo replies", b.replies-a.replies))
	}
	return strings.Join(parts, " and ")
}
