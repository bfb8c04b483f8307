// Package sys is the task side of the kernel interface: what every GrailOS
// server links to talk to the kernel. Start locks the process down (the exec
// lock the kernel insists on), says hello on the kernel channel and returns
// the task's boot information; the Task then offers calls, listening and
// replying, capability operations, shared memory and, for init, spawning.
//
// Threading: one reader goroutine owns the channel's receive side and routes
// results to waiting callers by sequence number, requests to the dispatch
// queue and events to Events. Requests for all endpoints of a task are
// handled one at a time by Serve, in arrival order, so a server whose handler
// hangs stops answering pings too — which is what heartbeat supervision
// relies on.
package sys

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"grailos/kernel/abi"
	"grailos/kernel/link"
	"grailos/kernel/sandbox"
	"grailos/kernel/shm"
)

// Task is the running task's handle on the kernel.
type Task struct {
	conn   *link.Conn
	Name   string
	Args   []string
	Config []byte
	caps   map[string]abi.NamedCap

	mu       sync.Mutex
	seq      uint32
	waiting  map[uint32]chan result
	handlers map[abi.Handle]Handler
	closed   error

	reqs   chan *Request
	events chan Event
	// OnPeer is called (from the dispatcher) when init reports that a server
	// this task uses has restarted (up=true) or is down for good (up=false).
	OnPeer func(name string, up bool)
	// Health, if set, is called (from the dispatcher) before a heartbeat
	// is answered and should return only once the task's real work loop
	// has shown it is alive: a server whose worker hangs while its
	// dispatcher runs then misses heartbeats, and init's hang detection
	// sees it.
	Health func()
	onNote atomic.Pointer[func(note []byte)]
}

// SetOnNote sets the receiver of the host operator's notes (Kernel.Note):
// each is passed on a goroutine of its own. Notes before it is set are
// dropped.
func (t *Task) SetOnNote(f func(note []byte)) { t.onNote.Store(&f) }

type result struct {
	m   abi.Message
	fds []int
}

// Event is a kernel event about a task whose Task capability we hold.
type Event struct {
	Task abi.Handle
	Kind abi.EventKind
	Exit abi.ExitCode
	Name string
}

// Start locks the task down and connects to the kernel. It must run before
// the task does anything else.
func Start() (*Task, error) {
	if err := sandbox.Lock(); err != nil {
		return nil, fmt.Errorf("exec lock: %w", err)
	}
	conn, err := link.FromFD(sandbox.ChannelFD)
	if err != nil {
		return nil, err
	}
	t := &Task{conn: conn, waiting: map[uint32]chan result{}, handlers: map[abi.Handle]Handler{},
		reqs: make(chan *Request, 256), events: make(chan Event, 256), caps: map[string]abi.NamedCap{}}
	if err := conn.Send(&abi.Message{Header: abi.Header{Op: abi.OpHello, Seq: 1}}); err != nil {
		return nil, fmt.Errorf("hello: %w", err)
	}
	m, fds, err := conn.Recv()
	closeAll(fds)
	if err != nil {
		return nil, fmt.Errorf("waiting for boot: %w", err)
	}
	if m.Op != abi.OpBoot {
		return nil, fmt.Errorf("kernel answered hello with %v: %s", m.Op, m.Payload)
	}
	b, err := abi.DecodeBoot(m.Payload)
	if err != nil {
		return nil, err
	}
	t.Name, t.Args, t.Config = b.Task, b.Args, b.Config
	for _, c := range b.Caps {
		t.caps[c.Name] = c
	}
	go t.read()
	if c, ok := t.caps["control"]; ok {
		if err := t.Listen(c.Handle, t.control); err != nil {
			return nil, fmt.Errorf("listening on the control endpoint: %w", err)
		}
	}
	return t, nil
}

// Cap returns the boot capability called name.
func (t *Task) Cap(name string) (abi.Handle, error) {
	c, ok := t.caps[name]
	if !ok {
		return 0, fmt.Errorf("task %s holds no capability named %q", t.Name, name)
	}
	return c.Handle, nil
}

// Caps lists the boot capabilities.
func (t *Task) Caps() []abi.NamedCap {
	var cs []abi.NamedCap
	for _, c := range t.caps {
		cs = append(cs, c)
	}
	return cs
}

// Events delivers kernel events about tasks this task controls.
func (t *Task) Events() <-chan Event { return t.events }

// ErrDisconnected is returned once the kernel channel is gone.
var ErrDisconnected = errors.New("kernel channel closed")

func (t *Task) read() {
	for {
		m, fds, err := t.conn.Recv()
		if err != nil {
			t.mu.Lock()
			t.closed = fmt.Errorf("%w: %v", ErrDisconnected, err)
			for s, ch := range t.waiting {
				close(ch)
				delete(t.waiting, s)
			}
			t.mu.Unlock()
			close(t.reqs)
			return
		}
		switch m.Op {
		case abi.OpResult:
			t.mu.Lock()
			ch, ok := t.waiting[m.Seq]
			delete(t.waiting, m.Seq)
			t.mu.Unlock()
			if ok {
				ch <- result{copyMsg(m), fds}
			} else {
				// A result nobody waits for any more (the call timed out):
				// release what it brought.
				closeAll(fds)
				for _, c := range m.Caps {
					if c.Handle != 0 {
						go t.Delete(c.Handle)
					}
				}
			}
		case abi.OpRequest:
			closeAll(fds)
			t.reqs <- &Request{t: t, Endpoint: m.Cap, token: m.Arg0, Badge: m.Arg1,
				Payload: append([]byte(nil), m.Payload...), Caps: append([]abi.CapRef(nil), m.Caps...)}
		case abi.OpEvent:
			closeAll(fds)
			if abi.EventKind(m.Arg0) == abi.EventNote && m.Cap == 0 {
				if f := t.onNote.Load(); f != nil {
					go (*f)(append([]byte(nil), m.Payload...))
				}
				continue
			}
			select {
			case t.events <- Event{Task: m.Cap, Kind: abi.EventKind(m.Arg0), Exit: abi.ExitCode(m.Arg1), Name: string(m.Payload)}:
			default:
			}
		default:
			closeAll(fds)
		}
	}
}

func copyMsg(m abi.Message) abi.Message {
	m.Payload = append([]byte(nil), m.Payload...)
	m.Caps = append([]abi.CapRef(nil), m.Caps...)
	return m
}

// rpc sends m to the kernel and waits for its result. timeout 0 waits forever.
func (t *Task) rpc(m *abi.Message, timeout time.Duration) (abi.Message, []int, error) {
	ch := make(chan result, 1)
	t.mu.Lock()
	if t.closed != nil {
		err := t.closed
		t.mu.Unlock()
		return abi.Message{}, nil, err
	}
	t.seq++
	if t.seq == 0 {
		t.seq = 1
	}
	m.Seq = t.seq
	t.waiting[m.Seq] = ch
	t.mu.Unlock()
	if err := t.conn.Send(m); err != nil {
		t.mu.Lock()
		delete(t.waiting, m.Seq)
		t.mu.Unlock()
		return abi.Message{}, nil, err
	}
	var timer <-chan time.Time
	if timeout > 0 {
		tm := time.NewTimer(timeout)
		defer tm.Stop()
		timer = tm.C
	}
	select {
	case r, ok := <-ch:
		if !ok {
			return abi.Message{}, nil, t.closed
		}
		if r.m.Status != abi.OK {
			closeAll(r.fds)
			return r.m, nil, &abi.StatusError{Status: r.m.Status, Detail: string(r.m.Payload)}
		}
		return r.m, r.fds, nil
	case <-timer:
		t.mu.Lock()
		_, still := t.waiting[m.Seq]
		delete(t.waiting, m.Seq)
		t.mu.Unlock()
		if !still { // the result raced the timer: take it
			r, ok := <-ch
			if ok && r.m.Status == abi.OK {
				return r.m, r.fds, nil
			}
		}
		return abi.Message{}, nil, abi.Errorf(abi.ErrTimeout, "%v: no answer within %v", m.Op, timeout)
	}
}

func (t *Task) simple(op abi.Op, h abi.Handle, a0, a1 uint64) (abi.Message, error) {
	m, fds, err := t.rpc(&abi.Message{Header: abi.Header{Op: op, Cap: h, Arg0: a0, Arg1: a1}}, 0)
	closeAll(fds)
	return m, err
}

// Reply is the answer to a Call.
type Reply struct {
	Payload []byte
	Caps    []abi.CapRef // handles now in this task's table
	Arg     uint64
}

// Call calls endpoint ep, transferring caps, and waits up to timeout (0 =
// forever) for the reply.
func (t *Task) Call(ep abi.Handle, payload []byte, caps []abi.CapRef, timeout time.Duration) (*Reply, error) {
	m, fds, err := t.rpc(&abi.Message{Header: abi.Header{Op: abi.OpCall, Cap: ep}, Caps: caps, Payload: payload}, timeout)
	closeAll(fds)
	if err != nil {
		return nil, err
	}
	return &Reply{Payload: m.Payload, Caps: m.Caps, Arg: m.Arg1}, nil
}

// Ready tells the kernel (and through it the parent) that the task is up.
func (t *Task) Ready() error { _, err := t.simple(abi.OpReady, 0, 0, 0); return err }

// Trace appends an event to the kernel's event log, stamped now. Only init
// may name another task as the subject; anyone else's events are about
// themselves.
func (t *Task) Trace(kind, subject, detail string) error {
	return t.TraceAt(Monotonic(), kind, subject, detail)
}

// TraceAt is Trace with the stamp (Monotonic) of when it happened.
func (t *Task) TraceAt(mono int64, kind, subject, detail string) error {
	tr := abi.Trace{Kind: kind, Subject: subject, Detail: detail}
	_, fds, err := t.rpc(&abi.Message{Header: abi.Header{Op: abi.OpTrace, Arg0: uint64(mono)}, Payload: tr.Encode()}, 0)
	closeAll(fds)
	return err
}

// Mint derives a copy of h with rights reduced to mask and, if badge != 0, a badge.
func (t *Task) Mint(h abi.Handle, mask abi.Rights, badge uint64) (abi.Handle, error) {
	m, err := t.simple(abi.OpMint, h, uint64(mask), badge)
	return abi.Handle(m.Arg0), err
}

// Delete removes h from the task's table.
func (t *Task) Delete(h abi.Handle) error { _, err := t.simple(abi.OpDelete, h, 0, 0); return err }

// Revoke deletes every capability derived from h and returns how many.
func (t *Task) Revoke(h abi.Handle) (int, error) {
	m, err := t.simple(abi.OpRevoke, h, 0, 0)
	return int(m.Arg0), err
}

// Inspect returns the type and rights of h.
func (t *Task) Inspect(h abi.Handle) (abi.ObjectType, abi.Rights, error) {
	m, err := t.simple(abi.OpInspect, h, 0, 0)
	return abi.ObjectType(m.Arg0), abi.Rights(m.Arg1), err
}

// NewEndpoint creates an endpoint (call, receive and grant rights).
func (t *Task) NewEndpoint() (abi.Handle, error) {
	m, err := t.simple(abi.OpNewEndpoint, 0, 0, 0)
	return abi.Handle(m.Arg0), err
}

// NewNotification creates a notification (signal, wait and grant rights).
func (t *Task) NewNotification() (abi.Handle, error) {
	m, err := t.simple(abi.OpNewNotification, 0, 0, 0)
	return abi.Handle(m.Arg0), err
}

// Signal signals a notification.
func (t *Task) Signal(h abi.Handle) error { _, err := t.simple(abi.OpSignal, h, 0, 0); return err }

// NotificationFD returns the eventfd behind a notification (needs RightWait).
func (t *Task) NotificationFD(h abi.Handle) (*os.File, error) {
	_, fds, err := t.rpc(&abi.Message{Header: abi.Header{Op: abi.OpNotifyFD, Cap: h}}, 0)
	if err != nil {
		return nil, err
	}
	if len(fds) != 1 {
		closeAll(fds)
		return nil, errors.New("kernel sent no eventfd")
	}
	return os.NewFile(uintptr(fds[0]), "notification"), nil
}

// NewMemory creates a shared memory object of at least size bytes (counted
// against the task's memory limit).
func (t *Task) NewMemory(size int) (abi.Handle, error) {
	m, err := t.simple(abi.OpNewMemory, 0, uint64(size), 0)
	return abi.Handle(m.Arg0), err
}

// MapMemory maps a Memory capability: writable if it carries RightWrite.
func (t *Task) MapMemory(h abi.Handle) (*shm.Region, error) {
	m, fds, err := t.rpc(&abi.Message{Header: abi.Header{Op: abi.OpMemoryFD, Cap: h}}, 0)
	if err != nil {
		return nil, err
	}
	if len(fds) != 1 {
		closeAll(fds)
		return nil, errors.New("kernel sent no memory descriptor")
	}
	f := os.NewFile(uintptr(fds[0]), "memory")
	defer f.Close()
	return shm.Map(f, abi.Rights(m.Arg1)&abi.RightWrite != 0)
}

// DeviceOpen returns a device's description and descriptors (needs read
// and write rights on the Device capability). The caller owns the files.
func (t *Task) DeviceOpen(h abi.Handle) ([]byte, []*os.File, error) {
	m, fds, err := t.rpc(&abi.Message{Header: abi.Header{Op: abi.OpDeviceOpen, Cap: h}}, 0)
	if err != nil {
		return nil, nil, err
	}
	files := make([]*os.File, len(fds))
	for i, fd := range fds {
		files[i] = os.NewFile(uintptr(fd), fmt.Sprintf("device-%d", i))
	}
	return m.Payload, files, nil
}

// Spawn asks the kernel to start a task (needs the spawner capability). It
// returns the Task capability and the host pid.
func (t *Task) Spawn(spawner abi.Handle, spec *abi.SpawnSpec, caps []abi.CapRef) (abi.Handle, int, error) {
	m, fds, err := t.rpc(&abi.Message{Header: abi.Header{Op: abi.OpSpawn, Cap: spawner}, Caps: caps, Payload: spec.Encode()}, 0)
	closeAll(fds)
	return abi.Handle(m.Arg0), int(m.Arg1), err
}

// Kill kills the task h designates (needs RightControl).
func (t *Task) Kill(h abi.Handle) error { _, err := t.simple(abi.OpKill, h, 0, 0); return err }

// Raw sends an arbitrary message and returns the kernel's answer; for tests
// that check how the kernel treats malformed requests.
func (t *Task) Raw(m *abi.Message, timeout time.Duration) (abi.Message, error) {
	r, fds, err := t.rpc(m, timeout)
	closeAll(fds)
	return r, err
}

// Monotonic reads CLOCK_MONOTONIC in nanoseconds (the event log's clock).
func Monotonic() int64 {
	var ts unix.Timespec
	unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
	return ts.Nano()
}

func closeAll(fds []int) {
	for _, fd := range fds {
		unix.Close(fd)
	}
}
