// Package restart is `grail bench restart`: it crashes a NIC driver server
// N times while a TCP download runs through it (net server, native
// client), and measures each recovery from the kernel's event log —
// crash → detected → spawned → driver probe done → ready → link up → first
// frame forwarded — and, from the client's side, the longest stall, and
// whether every byte of the transfer arrived (SHA-256 per round, one TCP
// connection per round). Where the host allows eBPF, process exits and
// execs seen by kernel tracepoints cross-check detection and spawn.
package restart

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"grailos/arch/machine/wire"
	"grailos/bench/ipc"
	"grailos/kernel"
)

// System is the system the benchmark boots; {{DRIVER}} is the driver's
// server name (binary nic-{{DRIVER}}).
const System = `name = "bench-restart"
[supervisor]
heartbeat = "200ms"
hang_timeout = "1s"
intensity = 50
period = "1s"
backoff = "0s"
on_exhausted = "give_up"
[[server]]
name = "{{DRIVER}}"
binary = "nic-{{DRIVER}}"
role = "driver"
args = ["-virtual-time", "-inject"]
devices = ["nic0:{{DRIVER}}"]
provides = ["nic"]
spare = {{SPARE}}
[server.limits]
memory = "64MiB"
[[server]]
name = "net"
uses = ["nic"]
provides = ["net"]
args = ["-addr", "192.0.2.2/24", "-gw", "192.0.2.1"]
# The fast heartbeat is for the driver (hangs are one way it dies); a loaded
# two-core machine can delay the net server's answer past 1 s, and a false
# hang would restart the stack and lose the transfer being measured.
hang_timeout = "10s"
[server.limits]
memory = "128MiB"
[[server]]
name = "fetch"
uses = ["net"]
restart = "temporary"
args = ["-url", "http://192.0.2.1:8080/", "-rounds", "1000000", "-every", "1s", "-stalls", "20ms", "-wait", "30s"]
[server.limits]
memory = "64MiB"
`

// Booted is what the harness needs of a booted system.
type Booted struct {
	Kernel    *kernel.Kernel
	PeerNetns string
	Stop      func() error
}

// Booter boots a system file.
type Booter func(system []byte) (*Booted, error)

// Options of a run.
type Options struct {
	N         int    // restarts
	Driver    string // server name, e.g. "e1000"
	How       string // kill (SIGKILL), segv, hang or exit (operator notes to a server started with -inject)
	RoundSize int64  // bytes per download round
	Spare     bool   // the kernel keeps a warm spare of the driver (spare = true)
	Progress  io.Writer
	Tracer    Tracer // optional tracepoint cross-check
}

// Tracer is the tracepoint cross-check (package proctrace).
type Tracer interface {
	Events() []TraceEvent
}

// TraceEvent is a tracepoint hit: a process exit or exec.
type TraceEvent struct {
	Kind string
	Pid  int
	Mono int64
}

// Settle is how long the transfer runs between a recovery and the next
// crash.
const Settle = 250 * time.Millisecond

// Phases of one recovery, µs after the crash was caused.
var Phases = []string{"exited", "detected", "spawned", "confined", "attached", "runtime_up", "probe_done", "ready", "link_up", "first_frame"}

// eventOf names the event log entry that ends each phase.
var eventOf = map[string]string{"exited": "exited", "detected": "crash-detected", "spawned": "spawned", "confined": "confined",
	"attached": "device-attached", "runtime_up": "runtime-up", "probe_done": "probe-done",
	"ready": "ready", "link_up": "link-up", "first_frame": "first-frame"}

// Restart is one measured recovery.
type Restart struct {
	N       int                `json:"n"`
	Exit    string             `json:"exit"`
	PhaseUS map[string]float64 `json:"phase_us"`
	StallUS float64            `json:"client_stall_us"` // the client's longest read gap around this crash; 0 if unseen
	// Tracepoints (when available): the old process's exit and the new
	// one's exec, µs after the crash was caused.
	TraceExitUS float64 `json:"tracepoint_exit_us,omitempty"`
	TraceExecUS float64 `json:"tracepoint_exec_us,omitempty"`

	t0     int64 // when the crash was caused (CLOCK_MONOTONIC ns)
	oldPid int
	newPid int
}

// Report is the benchmark's output.
type Report struct {
	Driver   string                 `json:"driver"`
	How      string                 `json:"how"`
	Spare    bool                   `json:"warm_spare"`
	Restarts []Restart              `json:"restarts"`
	Summary  map[string]ipc.Latency `json:"summary_us"` // per phase, and client_stall
	Rounds   int                    `json:"rounds_completed"`
	Bytes    int64                  `json:"bytes_checked"`
	Intact   bool                   `json:"intact"`
	Errors   []string               `json:"client_errors"` // TCP resets or other failures the client saw
	Requests int64                  `json:"peer_requests"` // HTTP requests the peer answered (one per round when no connection broke)
	Trace    string                 `json:"tracepoints"`   // what the cross-check found, or why there is none
	Seconds  float64                `json:"seconds"`
}

// Run runs the benchmark.
func Run(boot Booter, o Options) (*Report, error) {
	if o.N < 1 || o.RoundSize < 1<<20 {
		return nil, errors.New("restart: N ≥ 1 and round size ≥ 1 MiB")
	}
	switch o.How {
	case "kill", "segv", "hang", "exit":
	default:
		return nil, fmt.Errorf("restart: unknown crash %q (kill, segv, hang, exit)", o.How)
	}
	start := time.Now()
	sys := strings.NewReplacer("{{DRIVER}}", o.Driver, "{{SPARE}}", fmt.Sprint(o.Spare)).Replace(System)
	b, err := boot([]byte(sys))
	if err != nil {
		return nil, err
	}
	defer b.Stop()
	k := b.Kernel
	want, requests, closePeer, err := servePeer(b.PeerNetns, o.RoundSize)
	if err != nil {
		return nil, err
	}
	defer closePeer()
	rep := &Report{Driver: o.Driver, How: o.How, Spare: o.Spare, Summary: map[string]ipc.Latency{}}
	// The transfer must run before the first crash.
	if err := waitFor(30*time.Second, func() bool { return progressed(k.Logs("fetch")) }); err != nil {
		return nil, fmt.Errorf("the download did not start: %v", k.Logs("fetch"))
	}
	for i := 1; i <= o.N; i++ {
		r, err := crashOnce(k, o, i)
		if err != nil {
			return nil, fmt.Errorf("restart %d: %w", i, err)
		}
		rep.Restarts = append(rep.Restarts, r)
		if o.Progress != nil && (i%10 == 0 || i == o.N) {
			fmt.Fprintf(o.Progress, "\r  %d/%d restarts, last: first frame after %.1f ms   ", i, o.N, r.PhaseUS["first_frame"]/1e3)
		}
	}
	if o.Progress != nil {
		fmt.Fprintln(o.Progress)
	}
	// Let the round in flight finish, then check every round.
	done := countResults(k.Logs("fetch"))
	if err := waitFor(5*time.Minute, func() bool { return countResults(k.Logs("fetch")) > done }); err != nil {
		rep.Errors = append(rep.Errors, "the last round did not finish within 5 minutes")
	}
	rep.Rounds, rep.Bytes, rep.Errors, rep.Intact = checkRounds(k.Logs("fetch"), want, rep.Errors)
	rep.Requests = requests.Load()
	if o.Tracer != nil {
		rep.Trace = crossCheck(rep, o.Tracer)
	} else {
		rep.Trace = "not measured"
	}
	for _, p := range append(append([]string(nil), Phases...), "client_stall") {
		var s []time.Duration
		for _, r := range rep.Restarts {
			v := r.PhaseUS[p]
			if p == "client_stall" {
				v = r.StallUS
			}
			if v > 0 {
				s = append(s, time.Duration(v*1e3))
			}
		}
		rep.Summary[p] = ipc.Summarize(s)
	}
	rep.Seconds = time.Since(start).Seconds()
	return rep, nil
}

// crashOnce crashes the driver and waits until its new instance forwarded
// a frame and the client's data flows again.
func crashOnce(k *kernel.Kernel, o Options, i int) (Restart, error) {
	r := Restart{N: i, PhaseUS: map[string]float64{}}
	mark := k.Events().Len()
	results := countResults(k.Logs("fetch"))
	r.oldPid, _ = k.Pid(o.Driver)
	t0 := kernel.Monotonic()
	r.t0 = t0
	var err error
	if o.How == "kill" {
		err = k.Kill(o.Driver)
	} else {
		err = k.Note(o.Driver, []byte("inject "+o.How))
	}
	if err != nil {
		return r, err
	}
	ex, _, err := k.Events().WaitFor(mark, o.Driver, "exited", 30*time.Second)
	if err != nil {
		return r, err
	}
	r.Exit = ex.Detail
	for _, p := range Phases {
		ev, _, err := k.Events().WaitFor(mark, o.Driver, eventOf[p], 30*time.Second)
		if err != nil {
			var last []string
			for _, e := range k.Events().Since(mark) {
				last = append(last, fmt.Sprintf("%+.1fms %s %s %s", float64(e.T-t0)/1e6, e.Subject, e.Kind, e.Detail))
			}
			return r, fmt.Errorf("%s: %w; events since the crash:\n  %s\n%s's last lines: %v", p, err,
				strings.Join(lastLines(last, 25), "\n  "), o.Driver, lastLines(k.Logs(o.Driver), 10))
		}
		r.PhaseUS[p] = float64(ev.T-t0) / 1e3
		if p == "spawned" {
			fmt.Sscanf(ev.Detail, "pid %d", &r.newPid)
		}
	}
	// The client reads again: the stall line that ends after the crash is
	// the gap the crash caused (read now: the log keeps only recent lines).
	// A crash between two rounds leaves no stall line (a round's first
	// read counts from its request); a round that ended since counts too.
	err = waitFor(30*time.Second, func() bool {
		lines := k.Logs("fetch")
		if countResults(lines) > results {
			return true
		}
		for _, l := range lines {
			if f := strings.Fields(l); len(f) == 4 && f[0] == "STALL" {
				from, _ := strconv.ParseInt(f[2], 10, 64)
				if to, _ := strconv.ParseInt(f[3], 10, 64); to > t0 {
					r.StallUS = float64(to-from) / 1e3
					return true
				}
			}
		}
		return false
	})
	if err != nil {
		return r, fmt.Errorf("the client's download did not resume: %v", lastLines(k.Logs("fetch"), 5))
	}
	// Let TCP run a while before the next crash: its retransmission timer
	// backs off with every timeout and only recovers from fresh round-trip
	// samples; crashing again at once would measure that backoff, not the
	// driver.
	time.Sleep(Settle)
	return r, nil
}

func lastLines(l []string, n int) []string {
	if len(l) > n {
		return l[len(l)-n:]
	}
	return l
}

func progressed(lines []string) bool {
	for _, l := range lines {
		if f := strings.Fields(l); len(f) == 4 && f[0] == "PROGRESS" && f[2] != "0" {
			return true
		}
	}
	return false
}

func countResults(lines []string) int {
	n := 0
	for _, l := range lines {
		if strings.HasPrefix(l, "RESULT ") {
			n++
		}
	}
	return n
}

// checkRounds checks every finished round against the expected digest.
func checkRounds(lines []string, want string, errs []string) (rounds int, bytes int64, outErrs []string, intact bool) {
	intact = true
	for _, l := range lines {
		f := strings.Fields(l)
		switch {
		case len(f) >= 7 && f[0] == "RESULT":
			n, _ := strconv.ParseInt(f[2], 10, 64)
			rounds++
			bytes += n
			if f[3] != want || f[6] != "1" {
				intact = false
				errs = append(errs, fmt.Sprintf("round %s: %s bytes, SHA-256 %.16s…, %s connections", f[1], f[2], f[3], f[6]))
			}
		case len(f) >= 2 && f[0] == "ERROR":
			intact = false
			errs = append(errs, l)
		}
	}
	return rounds, bytes, errs, intact && rounds > 0
}

func waitFor(d time.Duration, ok func() bool) error {
	deadline := time.Now().Add(d)
	for !ok() {
		if time.Now().After(deadline) {
			return errors.New("timed out")
		}
		time.Sleep(2 * time.Millisecond)
	}
	return nil
}

// servePeer serves rounds of size bytes of a ChaCha8 stream in the peer
// namespace and returns their SHA-256 and a request counter.
func servePeer(ns string, size int64) (string, *atomic.Int64, func(), error) {
	var key [32]byte
	copy(key[:], "grail bench restart")
	h := sha256.New()
	io.CopyN(h, rand.NewChaCha8(key), size)
	want := hex.EncodeToString(h.Sum(nil))
	var requests atomic.Int64
	var srv *http.Server
	err := wire.InNetns(ns, func() error {
		ln, err := net.Listen("tcp", "192.0.2.1:8080")
		if err != nil {
			return err
		}
		srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			requests.Add(1)
			w.Header().Set("Content-Length", strconv.FormatInt(size, 10))
			io.CopyN(w, rand.NewChaCha8(key), size)
		})}
		go srv.Serve(ln)
		return nil
	})
	if err != nil {
		return "", nil, nil, err
	}
	// Closed before the system stops: an open socket would keep the
	// namespace alive after its name is removed.
	return want, &requests, func() { srv.Close() }, nil
}

// crossCheck matches tracepoint exits and execs to the restarts: the old
// pid's exit, and the exec of the new pid (its last exec: a task is
// exec'd twice, as grail's stage 1 and then as the server binary).
func crossCheck(rep *Report, tr Tracer) string {
	evs := tr.Events()
	var matched, spares int
	var exitDelta, execDelta []time.Duration
	for i := range rep.Restarts {
		r := &rep.Restarts[i]
		var exit, exec int64
		for _, e := range evs {
			switch {
			case e.Kind == "exit" && e.Pid == r.oldPid && e.Mono >= r.t0 && exit == 0:
				exit = e.Mono
			case e.Kind == "exec" && e.Pid == r.newPid:
				exec = e.Mono // the last one: the server binary after stage 1
			}
		}
		if exit == 0 {
			continue
		}
		matched++
		r.TraceExitUS = float64(exit-r.t0) / 1e3
		exitDelta = append(exitDelta, time.Duration((r.PhaseUS["detected"]-r.TraceExitUS)*1e3))
		if exec > r.t0 {
			r.TraceExecUS = float64(exec-r.t0) / 1e3
			execDelta = append(execDelta, time.Duration((r.PhaseUS["spawned"]-r.TraceExecUS)*1e3))
		} else if exec > 0 {
			spares++ // a warm spare: exec'd before the crash
		}
	}
	if matched == 0 {
		return fmt.Sprintf("tracepoints attached, but no restart matched (%d events)", len(evs))
	}
	ex := ipc.Summarize(exitDelta)
	s := fmt.Sprintf("sched_process_exit matched %d of %d restarts: the old process's exit tracepoint fired p50 %.0f µs after the crash "+
		"was caused, and init's crash-detected came p50 %.0f µs (max %.0f) after it", matched, len(rep.Restarts),
		medianOf(rep.Restarts, func(r Restart) float64 { return r.TraceExitUS }), ex.P50, ex.Max)
	if len(execDelta) > 0 {
		s += fmt.Sprintf("; sched_process_exec of the new server binary came p50 %.0f µs after the kernel's spawned event",
			-ipc.Summarize(execDelta).P50)
	}
	if spares > 0 {
		s += fmt.Sprintf("; %d new instances were warm spares, exec'd before their crash", spares)
	}
	return s
}

func medianOf(rs []Restart, f func(Restart) float64) float64 {
	var v []time.Duration
	for _, r := range rs {
		if x := f(r); x > 0 {
			v = append(v, time.Duration(x*1e3))
		}
	}
	return ipc.Summarize(v).P50
}
