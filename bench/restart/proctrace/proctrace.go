package proctrace

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/features"
	"github.com/cilium/ebpf/link"
	"github.com/cilium/ebpf/ringbuf"
	"github.com/cilium/ebpf/rlimit"
	"golang.org/x/sys/unix"
)

// Event is one tracepoint hit.
type Event struct {
	Kind string // "exit" (sched_process_exit, thread-group leader only) or "exec" (sched_process_exec)
	Pid  int    // tgid: the host pid as /proc shows it
	Comm string // the task's comm at the time (for an exec, the new image's)
	Mono int64  // bpf_ktime_get_ns(): CLOCK_MONOTONIC ns, comparable with unix.ClockGettime(unix.CLOCK_MONOTONIC)
}

// ErrUnavailable wraps every error of Start that means the host cannot do
// this at all — no permission, no bpf(2), a kernel too old or without the
// tracepoints — as opposed to a failure of this package.
var ErrUnavailable = errors.New("proctrace: process tracepoints unavailable")

// ringSize is the ring buffer's size in bytes: a power of two and a
// multiple of the page size. A record takes 40 bytes with its header, so
// the ring holds ≈ 6,500 records the reader has not caught up with.
const ringSize = 256 << 10

// Tracer is an attached pair of tracepoint programs and the events they
// have reported so far.
type Tracer struct {
	ring  *ebpf.Map
	lost  *ebpf.Map
	progs []*ebpf.Program
	links []link.Link
	rd    *ringbuf.Reader
	done  chan struct{} // closed when the reader goroutine returns
	once  sync.Once

	mu        sync.Mutex
	events    []Event
	changed   chan struct{} // closed and replaced whenever events or err change
	err       error         // why the reader stopped, if it failed
	closed    bool
	lostFinal uint64 // Lost at Close
}

// ErrClosed is what WaitFor returns when the event it waits for did not
// come before the Tracer was closed.
var ErrClosed = errors.New("proctrace: tracer closed")

// Available reports whether Start can work here, and if not, why (an error
// wrapping ErrUnavailable when the host lacks the capability). It attaches
// and detaches the programs, so it costs what Start and Close cost — a few
// milliseconds — and says exactly what Start would.
func Available() error {
	t, err := Start()
	if err != nil {
		return err
	}
	return t.Close()
}

// Start loads and attaches the programs and starts reading their events.
func Start() (*Tracer, error) { return start(ringSize) }

// start is Start with a ring of size bytes (a power-of-two number of pages).
func start(size uint32) (*Tracer, error) {
	if err := features.HaveProgramType(ebpf.RawTracepoint); err != nil {
		return nil, classify("raw tracepoint programs", err)
	}
	if err := features.HaveMapType(ebpf.RingBuf); err != nil {
		return nil, classify("BPF ring buffer", err)
	}
	if err := rlimit.RemoveMemlock(); err != nil {
		return nil, classify("raise RLIMIT_MEMLOCK", err)
	}
	t := &Tracer{done: make(chan struct{}), changed: make(chan struct{})}
	ok := false
	defer func() {
		if !ok {
			t.release()
		}
	}()
	var err error
	t.ring, err = ebpf.NewMap(&ebpf.MapSpec{Name: "proctrace_ring", Type: ebpf.RingBuf, MaxEntries: size})
	if err != nil {
		return nil, classify("create ring buffer", err)
	}
	t.lost, err = ebpf.NewMap(&ebpf.MapSpec{Name: "proctrace_lost", Type: ebpf.Array, KeySize: 4, ValueSize: 8, MaxEntries: 1})
	if err != nil {
		return nil, classify("create lost counter", err)
	}
	if t.rd, err = ringbuf.NewReader(t.ring); err != nil {
		return nil, fmt.Errorf("proctrace: ring buffer reader: %w", err)
	}
	for _, tp := range []struct {
		name string
		kind uint32
	}{{"sched_process_exec", kindExec}, {"sched_process_exit", kindExit}} {
		prog, err := ebpf.NewProgram(&ebpf.ProgramSpec{
			Name:         "proctrace_" + kindName[tp.kind],
			Type:         ebpf.RawTracepoint,
			License:      "Dual MIT/GPL", // GPL-compatible, so no helper is refused on licence grounds
			Instructions: program(tp.kind, t.ring, t.lost),
		})
		if err != nil {
			return nil, classify("load "+tp.name+" program", err)
		}
		t.progs = append(t.progs, prog)
		l, err := attach(tp.name, prog)
		if err != nil {
			return nil, err
		}
		t.links = append(t.links, l)
	}
	go t.read()
	ok = true
	return t, nil
}

// attach attaches prog to the raw tracepoint name.
func attach(name string, prog *ebpf.Program) (link.Link, error) {
	l, err := link.AttachRawTracepoint(link.RawTracepointOptions{Name: name, Program: prog})
	if errors.Is(err, unix.ENOENT) {
		return nil, fmt.Errorf("%w: attach %s: kernel %s has no such tracepoint: %w", ErrUnavailable, name, kernelRelease(), err)
	}
	if err != nil {
		return nil, classify("attach "+name, err)
	}
	return l, nil
}

// classify wraps err in ErrUnavailable if it says the host lacks the
// capability, and says which.
func classify(what string, err error) error {
	var verr *ebpf.VerifierError
	var reason string
	switch {
	case errors.As(err, &verr) && len(verr.Log) > 0:
		// The verifier read the program and rejected it: a bug here. (A load
		// refused before verification is a VerifierError too, with no log.)
		return fmt.Errorf("proctrace: %s: %w", what, err)
	case errors.Is(err, ebpf.ErrNotSupported):
		reason = "kernel " + kernelRelease() + " is too old (needs Linux ≥ 5.8)"
	case errors.Is(err, unix.EPERM), errors.Is(err, unix.EACCES):
		reason = fmt.Sprintf("no permission (euid %d; needs CAP_BPF and CAP_PERFMON, or CAP_SYS_ADMIN, and bpf(2) not blocked by seccomp or an LSM)", os.Geteuid())
	case errors.Is(err, unix.ENOSYS):
		reason = "no bpf(2) system call (kernel built without CONFIG_BPF_SYSCALL, or filtered by seccomp)"
	default:
		return fmt.Errorf("proctrace: %s: %w", what, err)
	}
	return fmt.Errorf("%w: %s: %s: %w", ErrUnavailable, what, reason, err)
}

// kernelRelease is the kernel's release, for error messages.
func kernelRelease() string {
	var u unix.Utsname
	if unix.Uname(&u) != nil {
		return "(unknown)"
	}
	return unix.ByteSliceToString(u.Release[:])
}

// read moves records from the ring to t.events until the reader is
// flushed (by Close) or fails.
func (t *Tracer) read() {
	defer close(t.done)
	var rec ringbuf.Record
	for {
		err := t.rd.ReadInto(&rec)
		var ev Event
		if err == nil {
			ev, err = decode(rec.RawSample)
		}
		t.mu.Lock()
		if err == nil {
			t.events = append(t.events, ev)
		} else if !errors.Is(err, ringbuf.ErrFlushed) {
			t.err = fmt.Errorf("proctrace: reading the ring: %w", err)
		}
		close(t.changed)
		t.changed = make(chan struct{})
		t.mu.Unlock()
		if err != nil {
			return
		}
	}
}

// Events returns a copy of the events so far, in the order the kernel
// committed them (see the package doc). It works after Close too.
func (t *Tracer) Events() []Event {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]Event(nil), t.events...)
}

// WaitFor returns the first event at or after index from of Events that
// has the kind and pid asked for ("" and 0 match any), with its index, or an
// error after timeout, once the Tracer is closed, or if reading failed.
// Passing the index + 1 on the next call continues the scan.
func (t *Tracer) WaitFor(from int, kind string, pid int, timeout time.Duration) (Event, int, error) {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		t.mu.Lock()
		for i := max(from, 0); i < len(t.events); i++ {
			if e := t.events[i]; (kind == "" || e.Kind == kind) && (pid == 0 || e.Pid == pid) {
				t.mu.Unlock()
				return e, i, nil
			}
		}
		from = len(t.events)
		changed, err := t.changed, t.err
		if err == nil && t.closed {
			err = ErrClosed
		}
		t.mu.Unlock()
		if err != nil {
			return Event{}, -1, err
		}
		select {
		case <-changed:
		case <-timer.C:
			return Event{}, -1, fmt.Errorf("proctrace: no %q event of pid %d within %v", kind, pid, timeout)
		}
	}
}

// Lost returns how many records the kernel dropped because the ring was
// full. Those events are missing from Events.
func (t *Tracer) Lost() uint64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return t.lostFinal
	}
	return t.lostNow()
}

// lostNow reads the kernel's lost counter; 0 if it cannot.
func (t *Tracer) lostNow() uint64 {
	var n uint64
	if t.lost == nil || t.lost.Lookup(uint32(0), &n) != nil {
		return 0
	}
	return n
}

// Close detaches the programs, reads what is left in the ring, and frees
// everything. It is idempotent; Events and Lost keep working after it.
func (t *Tracer) Close() error {
	var err error
	t.once.Do(func() {
		for _, l := range t.links {
			err = errors.Join(err, l.Close())
		}
		t.links = nil
		// Drain: the reader returns the records still in the ring, then stops.
		if ferr := t.rd.Flush(); ferr != nil {
			err = errors.Join(err, ferr)
			t.rd.Close() // stops the reader anyway
		}
		<-t.done
		t.mu.Lock()
		t.lostFinal = t.lostNow()
		t.closed = true
		close(t.changed)
		t.changed = make(chan struct{})
		t.mu.Unlock()
		err = errors.Join(err, t.release())
	})
	return err
}

// release frees the kernel objects. The reader goroutine must not be
// running (or never have started).
func (t *Tracer) release() error {
	var err error
	for _, l := range t.links {
		err = errors.Join(err, l.Close())
	}
	t.links = nil
	if t.rd != nil {
		err = errors.Join(err, t.rd.Close())
	}
	for _, p := range t.progs {
		err = errors.Join(err, p.Close())
	}
	t.progs = nil
	for _, m := range []*ebpf.Map{t.ring, t.lost} {
		if m != nil {
			err = errors.Join(err, m.Close())
		}
	}
	return err
}
