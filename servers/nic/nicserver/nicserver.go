// Package nicserver is the part of every NIC driver server that is not the
// driver: it attaches to the machine device it was granted (device channel,
// DMA pool, interrupt line), runs the driver through the Driver interface
// (the DDE runtime implements it), and offers the NIC session
// (servers/nic/session) on the "nic" endpoint. A port's main only builds
// the Driver and calls Run, so each port stays a few dozen lines. With
// Inject it also takes the operator's fault notes (inject.go): the
// injector of grail inject's campaigns.
//
// Threading: the driver is entered from one loop goroutine (Run), which
// waits for interrupts, frames the client queued, driver timers and work
// the driver asks for. Frames and carrier changes come up from the driver
// on its own thread during those calls; they reach the session under mu.
package nicserver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"grailos/arch/machine/devchan"
	dde "grailos/dde/linux"
	"grailos/dde/linux/fault"
	"grailos/kernel/abi"
	"grailos/kernel/shm"
	"grailos/kernel/sys"
	"grailos/servers/nic/session"
)

// Driver is a NIC driver as the server drives it (dde.Runtime satisfies it).
type Driver interface {
	Start() error
	Open() error
	Xmit(frame []byte) error
	XmitBatch(frames [][]byte) (int, error)
	SetRxMode(promisc, allmulti bool) error
	InjectFault(kind dde.Fault) error
	Inject(s fault.Spec) error
	Watch(addrs []uint64) (int, error)
	WatchHits() []bool
	Loop(f func()) bool
	IRQ()
	Wake() <-chan struct{}
	RunPending(now time.Duration)
	NextDeadline() (time.Duration, bool)
	Now() time.Duration
	MAC() [6]byte
}

// ErrQueueFull is what Driver.Xmit returns while the device's queue is full
// (the port passes its driver's value in Config).

// Hardware is the machine device, attached.
type Hardware struct {
	Desc    devchan.Description
	Channel *devchan.Client
	Pool    []byte // the DMA pool, mapped
	PoolBus uint64
	irq     *devchan.IRQ
	log     func(string)
}

// Attach opens the device capability called name (and name.irq) and
// attaches to the machine.
func Attach(t *sys.Task, name string, log func(string)) (*Hardware, error) {
	dev, err := t.Cap(name)
	if err != nil {
		return nil, err
	}
	irqCap, err := t.Cap(name + ".irq")
	if err != nil {
		return nil, err
	}
	info, files, err := t.DeviceOpen(dev)
	if err != nil {
		return nil, fmt.Errorf("opening device %s: %w", name, err)
	}
	defer func() {
		for _, f := range files {
			f.Close()
		}
	}()
	h := &Hardware{log: log}
	if err := json.Unmarshal(info, &h.Desc); err != nil {
		return nil, fmt.Errorf("device %s: description: %w", name, err)
	}
	if len(files) != 2 {
		return nil, fmt.Errorf("device %s: %d descriptors, want channel and pool", name, len(files))
	}
	chanRegion, err := shm.Map(files[0], true)
	if err != nil {
		return nil, fmt.Errorf("device %s: channel: %w", name, err)
	}
	if h.Channel, err = devchan.Attach(chanRegion); err != nil {
		return nil, fmt.Errorf("device %s: attaching: %w", name, err)
	}
	poolRegion, err := shm.Map(files[1], true)
	if err != nil {
		return nil, fmt.Errorf("device %s: pool: %w", name, err)
	}
	h.Pool, h.PoolBus = poolRegion.Bytes(), h.Desc.BusBase
	irqFile, err := t.NotificationFD(irqCap)
	if err != nil {
		return nil, fmt.Errorf("device %s: interrupt line: %w", name, err)
	}
	defer irqFile.Close()
	if h.irq, err = devchan.OpenIRQ(irqFile); err != nil {
		return nil, err
	}
	return h, nil
}

// The driver sees the hardware through these methods (dde.Device). A failed
// access reads as all-ones, as a PCI master abort does, and is logged.

func (h *Hardware) failed(what string, err error) {
	if err != nil {
		h.log(fmt.Sprintf("nicserver: %s: %v", what, err))
	}
}

// ConfigRead implements dde.Device.ConfigRead.
func (h *Hardware) ConfigRead(off uint32, size int) uint32 {
	v, err := h.Channel.ConfigRead(off, size)
	if err != nil {
		h.failed("config read", err)
		return ^uint32(0)
	}
	return v
}

// ConfigWrite implements dde.Device.ConfigWrite.
func (h *Hardware) ConfigWrite(off uint32, size int, v uint32) {
	h.failed("config write", h.Channel.ConfigWrite(off, size, v))
}

// MMIORead implements dde.Device.MMIORead.
func (h *Hardware) MMIORead(bar int, off uint32, size int) uint64 {
	v, err := h.Channel.MMIORead(bar, off, size)
	if err != nil {
		h.failed("mmio read", err)
		return ^uint64(0)
	}
	return v
}

// MMIOWrite implements dde.Device.MMIOWrite.
func (h *Hardware) MMIOWrite(bar int, off uint32, size int, v uint64) {
	h.failed("mmio write", h.Channel.MMIOWrite(bar, off, size, v))
}

// IORead implements dde.Device.IORead.
func (h *Hardware) IORead(bar int, off uint32, size int) uint32 {
	v, err := h.Channel.IORead(bar, off, size)
	if err != nil {
		h.failed("io read", err)
		return ^uint32(0)
	}
	return v
}

// IOWrite implements dde.Device.IOWrite.
func (h *Hardware) IOWrite(bar int, off uint32, size int, v uint32) {
	h.failed("io write", h.Channel.IOWrite(bar, off, size, v))
}

// Server runs one NIC: driver plus session.
type Server struct {
	t        *sys.Task
	drv      Driver
	queueErr error
	// Inject makes the server take the operator's fault notes (Kernel.Note;
	// inject.go): for fault-injection campaigns, recovery tests and
	// benchmarks, set from the server's -inject flag. Clients of the NIC
	// session can never ask for a fault.
	Inject bool

	traces    chan traceEvent // events for the kernel's log, sent off the loop
	forwarded atomic.Bool     // a frame has gone through since start

	mu      sync.Mutex
	sess    *session.Server
	region  *shm.Region
	retired []*shm.Region // replaced sessions' memory, unmapped once no loop can still use it
	carrier bool
	mac     [6]byte
	backlog [][]byte
	rxFlags uint32      // receive filter in force (mu)
	ctl     chan func() // work for the loop from other goroutines

	batch  []byte   // transmit: the frames of one batch, end to end
	frames [][]byte // and each one (loop only)
	lens   []int
}

// New makes a server for driver d; queueFull is the driver's "transmit
// queue stopped" error (frames are held back and retried, not dropped).
func New(t *sys.Task, d Driver, queueFull error) *Server {
	return &Server{t: t, drv: d, queueErr: queueFull, ctl: make(chan func()), traces: make(chan traceEvent, 16)}
}

// traceEvent is an event for the kernel's log, stamped when it happened.
type traceEvent struct {
	at           int64
	kind, detail string
}

// trace queues an event for the kernel's log without blocking the loop
// (a full queue drops it: events are for people and benchmarks).
func (s *Server) trace(kind, detail string) {
	select {
	case s.traces <- traceEvent{sys.Monotonic(), kind, detail}:
	default:
	}
}

// firstFrame records the first frame forwarded in either direction.
func (s *Server) firstFrame(dir string) {
	if !s.forwarded.Load() && s.forwarded.CompareAndSwap(false, true) {
		s.trace("first-frame", dir)
	}
}

// Receive implements dde.NetHost.Receive: a frame from the wire.
func (s *Server) Receive(frame []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sess != nil {
		if ok, _ := s.sess.Deliver(frame); ok {
			s.firstFrame("rx")
		}
	}
}

// Carrier implements dde.NetHost.Carrier.
func (s *Server) Carrier(up bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.carrier = up
	if s.sess != nil {
		s.sess.SetLink(up)
	}
	s.trace(map[bool]string{true: "link-up", false: "link-down"}[up], "")
	fmt.Printf("link %s\n", map[bool]string{true: "up", false: "down"}[up])
}

// TxTimeout implements dde.TxTimeouter: the DDE's transmit watchdog
// found the queue stopped too long and calls the driver's ndo_tx_timeout
// (a reset) next. Event tx-timeout, detail the queue.
func (s *Server) TxTimeout(queue int) {
	s.trace("tx-timeout", fmt.Sprint(queue))
	fmt.Printf("transmit queue %d timed out: the driver resets\n", queue)
}

// request answers a call on the nic endpoint.
func (s *Server) request(r *sys.Request) {
	switch {
	case len(r.Payload) == 1 && r.Payload[0] == session.OpOpen:
		s.open(r)
	case len(r.Payload) > 0 && r.Payload[0] == session.OpRxMode:
		s.rxMode(r)
	default:
		r.Fail(abi.ErrBadRequest, "unknown NIC request")
	}
}

// rxMode applies a receive filter request on the loop (the driver's
// thread) and answers once the driver has it.
func (s *Server) rxMode(r *sys.Request) {
	promisc, allmulti, err := session.ParseRxMode(r.Payload)
	if err != nil {
		r.Fail(abi.ErrBadRequest, "%v", err)
		return
	}
	done := make(chan error, 1)
	select {
	case s.ctl <- func() { done <- s.drv.SetRxMode(promisc, allmulti) }:
	case <-time.After(5 * time.Second):
		r.Fail(abi.ErrTimeout, "the driver loop is busy")
		return
	}
	if err := <-done; err != nil {
		r.Fail(abi.ErrBadRequest, "receive filter: %v", err)
		return
	}
	s.trace("rx-mode", fmt.Sprintf("promisc=%v allmulti=%v", promisc, allmulti))
	s.mu.Lock()
	s.rxFlags = uint32(r.Payload[1])
	if s.sess != nil {
		s.sess.SetRxMode(s.rxFlags)
	}
	s.mu.Unlock()
	r.Reply(nil)
}

// open answers a session request: a fresh session replaces the old one.
func (s *Server) open(r *sys.Request) {
	h, err := s.t.NewMemory(session.Bytes())
	if err != nil {
		r.Fail(abi.ErrQuota, "session memory: %v", err)
		return
	}
	region, err := s.t.MapMemory(h)
	if err != nil {
		s.t.Delete(h)
		r.Fail(abi.ErrQuota, "mapping session memory: %v", err)
		return
	}
	sess, err := session.NewServer(region.Bytes(), s.mac, 1500)
	if err != nil {
		region.Close()
		s.t.Delete(h)
		r.Fail(abi.ErrBadRequest, "%v", err)
		return
	}
	s.mu.Lock()
	if s.region != nil {
		s.retired = append(s.retired, s.region)
	}
	s.sess, s.region = sess, region
	sess.SetLink(s.carrier)
	sess.SetRxMode(s.rxFlags)
	s.mu.Unlock()
	r.Reply(nil, abi.CapRef{Handle: h, Rights: abi.RightRead | abi.RightWrite})
	s.t.Delete(h)
}

// Run brings the NIC up and serves until the task ends. hw's interrupt
// line feeds the driver.
func (s *Server) Run(hw *Hardware) error {
	go func() {
		for e := range s.traces {
			s.t.TraceAt(e.at, e.kind, "", e.detail)
		}
	}()
	if err := s.drv.Start(); err != nil {
		return fmt.Errorf("driver start: %w", err)
	}
	s.mac = s.drv.MAC()
	s.trace("probe-done", fmt.Sprintf("%x", s.mac))
	if err := s.drv.Open(); err != nil {
		return fmt.Errorf("driver open: %w", err)
	}
	ep, err := s.t.Cap("nic")
	if err != nil {
		return err
	}
	if err := s.t.Listen(ep, s.request); err != nil {
		return err
	}
	// A heartbeat is answered only once the loop (the driver's thread)
	// has taken a turn: a driver hung inside its own code is a hang.
	s.t.SetOnNote(s.note)
	s.t.Health = func() {
		done := make(chan struct{})
		s.ctl <- func() { close(done) }
		<-done
	}
	go s.t.Serve(context.Background())
	irqs := make(chan struct{}, 1)
	go func() {
		for {
			if _, err := hw.irq.Wait(time.Time{}); err != nil {
				if errors.Is(err, os.ErrClosed) {
					return
				}
				continue
			}
			select {
			case irqs <- struct{}{}:
			default:
			}
		}
	}()
	txs := make(chan struct{}, 1)
	drained := make(chan struct{}, 1)
	go s.watchTx(txs, drained)
	if err := s.t.Ready(); err != nil {
		return err
	}
	// The loop runs on the driver's own thread: every driver call in it is
	// a plain function call, not a hand-off to another thread.
	s.drv.Loop(func() {
		// The Go timer is armed once per driver deadline: the DDE clock
		// stands still between timer expiries, so re-arming it with
		// at-Now on every turn of a busy loop would push the driver's
		// timers (e1000's watchdog) out for as long as frames keep
		// coming — which a fault campaign found (its timer faults never
		// fired).
		timer := time.NewTimer(time.Hour)
		armed, armedAt := false, time.Duration(0)
		for {
			at, ok := s.drv.NextDeadline()
			if ok && (!armed || at != armedAt) {
				timer.Reset(max(at-s.drv.Now(), 0))
				armed, armedAt = true, at
			}
			select {
			case <-irqs:
				s.drv.IRQ()
				s.drv.RunPending(s.drv.Now())
			case <-s.drv.Wake():
				s.drv.RunPending(s.drv.Now())
				s.flush()
			case <-txs:
				s.transmit()
				drained <- struct{}{}
			case f := <-s.ctl:
				f()
			case <-timer.C:
				armed = false
				if ok {
					s.drv.RunPending(at)
				}
			}
		}
	})
	return errors.New("the driver runtime stopped")
}

// watchTx signals txs whenever the client has queued frames, and waits for
// the loop to take them before watching again.
func (s *Server) watchTx(txs, drained chan struct{}) {
	for {
		// Here neither this loop nor transmit (which runs only between
		// txs and drained) touches a session, and Receive holds mu: the
		// memory of replaced sessions can go.
		s.mu.Lock()
		sess := s.sess
		for _, r := range s.retired {
			r.Close()
		}
		s.retired = nil
		s.mu.Unlock()
		if sess == nil {
			time.Sleep(10 * time.Millisecond)
			continue
		}
		if err := sess.WaitPending(time.Now().Add(100 * time.Millisecond)); err != nil {
			continue
		}
		txs <- struct{}{}
		<-drained
	}
}

// transmit hands the client's queued frames to the driver.
func (s *Server) transmit() {
	s.mu.Lock()
	sess := s.sess
	s.mu.Unlock()
	if sess == nil {
		return
	}
	if !s.flush() {
		return // the device is still full; the frames wait in the ring
	}
	// The frames go to the driver as one batch (one doorbell); the ring
	// buffers are returned only after Pending's callback, so they are
	// copied out first.
	s.batch, s.frames = s.batch[:0], s.frames[:0]
	sess.Pending(64, func(frame []byte) {
		s.batch = append(s.batch, frame...)
		s.frames = append(s.frames, nil)
		s.lens = append(s.lens[:len(s.frames)-1], len(frame))
	})
	off := 0
	for i, n := range s.lens[:len(s.frames)] {
		s.frames[i] = s.batch[off : off+n]
		off += n
	}
	if len(s.frames) == 0 {
		return
	}
	sent, err := s.drv.XmitBatch(s.frames)
	if sent > 0 {
		s.firstFrame("tx")
	}
	if errors.Is(err, s.queueErr) {
		for _, f := range s.frames[sent:] {
			s.backlog = append(s.backlog, append([]byte(nil), f...))
		}
	} else if err != nil && sent < len(s.frames) {
		// A frame the driver refused for another reason (length): drop
		// it, counted by the driver, and send the rest.
		for _, f := range s.frames[sent+1:] {
			if err := s.drv.Xmit(f); errors.Is(err, s.queueErr) {
				s.backlog = append(s.backlog, append([]byte(nil), f...))
			}
		}
	}
}

// flush retries frames the device refused while full; it reports whether
// the backlog is empty.
func (s *Server) flush() bool {
	for len(s.backlog) > 0 {
		if err := s.drv.Xmit(s.backlog[0]); errors.Is(err, s.queueErr) {
			return false
		}
		s.backlog = s.backlog[1:]
	}
	return true
}
