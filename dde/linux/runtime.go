//go:build dde

package linux

import (
	"errors"
	"fmt"
	"log"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"grailos/dde/linux/fault"
)

// Device is the hardware the driver drives: one PCI function. The DDE
// calls it on the DDE thread for every configuration cycle, MMIO access
// (bar is the BAR index, off the offset inside it, size 1, 2, 4 or 8) and
// port I/O access (size 1, 2 or 4). In process it is a device model; in
// the driver server it is the channel to the machine process.
type Device interface {
	ConfigRead(off uint32, size int) uint32
	ConfigWrite(off uint32, size int, v uint32)
	MMIORead(bar int, off uint32, size int) uint64
	MMIOWrite(bar int, off uint32, size int, v uint64)
	IORead(bar int, off uint32, size int) uint32
	IOWrite(bar int, off uint32, size int, v uint32)
}

// LevelIRQ is implemented by a Device that can tell its interrupt line's
// level. PCI INTx is level-triggered but reaches the runtime as rising
// edges (Runtime.IRQ); a cause the device raises while the handler runs
// keeps the line asserted without a new edge. After each handler the
// runtime asks IRQLevel, which must first let the device perform every
// access made so far (posted writes: the handler's acknowledgements), and
// delivers the interrupt again while the line stays asserted, as an
// interrupt controller does after the EOI. Without it only edges count.
type LevelIRQ interface {
	IRQLevel() bool
}

// NetHost receives what a network driver hands up, on the DDE thread.
// Receive owns frame (a whole Ethernet frame without FCS).
type NetHost interface {
	Receive(frame []byte)
	Carrier(up bool)
}

// TxWaker is implemented by a NetHost that wants to know when a transmit
// queue that refused a frame (ErrQueueFull) takes frames again.
type TxWaker interface {
	TxReady()
}

// TxTimeouter is implemented by a NetHost that wants to hear of the
// transmit watchdog (Linux's dev_watchdog): queue was stopped longer
// than the driver's watchdog_timeo after its last transmit, and the
// driver's ndo_tx_timeout (a reset, for most drivers) runs next.
type TxTimeouter interface {
	TxTimeout(queue int)
}

// Config configures a Runtime.
type Config struct {
	// Device is the PCI function. Required.
	Device Device
	// Module is the donor driver (from its port glue); Start needs it.
	Module Module
	// Pool is the DMA pool: page aligned, a multiple of 4096 bytes, and
	// not Go heap memory (the C runtime keeps pointers into it) — an mmap
	// such as NewPool's, or the shared memory object of the machine.
	Pool []byte
	// PoolBus is the bus address of Pool[0], page aligned; the device
	// sees the pool at [PoolBus, PoolBus+len(Pool)).
	PoolBus uint64
	// VirtualTime makes delays in the driver advance the DDE clock
	// instead of sleeping.
	VirtualTime bool
	// Log receives each kernel log line (without level or newline);
	// nil logs through package log.
	Log func(line string)
	// Net receives frames and carrier changes; nil drops them.
	Net NetHost
	// Fired is told each injected fault that fires (Inject), with the
	// detail line naming it, before the fault takes effect: the DDE
	// thread waits (up to 2 s) until Fired returns, so a fault that kills
	// the process is still on record. Fired runs on another goroutine and
	// must not call the Runtime. nil logs the line.
	Fired func(detail string)
}

// Errors of the network entry points.
var (
	ErrQueueFull = errors.New("dde: transmit queue stopped")
	ErrDown      = errors.New("dde: interface is down")
	ErrStopped   = errors.New("dde: runtime stopped")
)

// Stats are the runtime's counters. After Stop, the *Live fields count
// what the driver leaked.
type Stats struct {
	Now                            time.Duration // the DDE clock
	Jiffies                        uint64
	PoolPages, PoolPagesUsed       int
	KmallocLive, PagesLive         int
	DMACoherentLive, DMAMapsLive   int
	DMARefused                     int // maps of memory outside the pool
	IRQsHandled, IRQsUnhandled     int
	NAPIPolls, TimersRun, WorksRun int
	TxPackets, TxBusy, RxPackets   int
	Warnings                       int // log lines at KERN_WARNING or worse
}

// Runtime is one Linux driver in this process. Its methods may be called
// from any goroutine; each runs on the DDE thread, one at a time, and
// runs the loop (IRQ, NAPI, expired timers, work) before it returns.
type Runtime struct {
	cfg  Config
	reqs chan func()
	done chan struct{}
	wake chan struct{}

	mu      sync.Mutex // guards stopped
	stopped bool
	final   Stats
	traps   int          // WARNs the trap handler reported (DDE thread only)
	tid     atomic.Int32 // the DDE thread's id: entry points called on it run inline

	batch     []byte  // XmitBatch's frames, end to end (DDE thread only)
	batchLens []int32 // and their lengths

	inj *injector // fault reports (inject.c, inject_cgo.go)
}

// current is the one runtime of the process, for the C callbacks.
var current atomic.Pointer[Runtime]

// New checks the configuration, starts the DDE thread and initialises
// the C runtime: the pool and the PCI function (BARs assigned, IRQ
// routed). The driver does not run until Start.
func New(cfg Config) (*Runtime, error) {
	switch {
	case cfg.Device == nil:
		return nil, errors.New("dde: Config.Device is required")
	case len(cfg.Pool) == 0 || len(cfg.Pool)%4096 != 0:
		return nil, fmt.Errorf("dde: pool of %d bytes is not a multiple of 4096", len(cfg.Pool))
	case cfg.PoolBus%4096 != 0:
		return nil, fmt.Errorf("dde: pool bus address %#x is not page aligned", cfg.PoolBus)
	}
	if err := checkBuild(); err != nil {
		return nil, err
	}
	if cfg.Log == nil {
		cfg.Log = func(line string) { log.Print(line) }
	}
	r := &Runtime{cfg: cfg, reqs: make(chan func()), done: make(chan struct{}), wake: make(chan struct{}, 1)}
	if !current.CompareAndSwap(nil, r) {
		return nil, errors.New("dde: another runtime is active in this process")
	}
	go r.thread()
	var err error
	r.do(func() {
		if err = r.startInjector(); err == nil {
			err = r.cInit()
		}
	})
	if err != nil {
		r.shutdown()
		return nil, err
	}
	return r, nil
}

// thread is the DDE thread: it runs requests until reqs is closed.
func (r *Runtime) thread() {
	runtime.LockOSThread() // never unlocked: the thread ends with the goroutine
	r.tid.Store(int32(unix.Gettid()))
	for f := range r.reqs {
		f()
	}
	close(r.done)
}

// do runs f on the DDE thread and waits for it.
//
// Called on the DDE thread itself (from a Loop), f runs inline: no
// hand-off, no wake-up of another thread.
func (r *Runtime) do(f func()) bool {
	if r.tid.Load() == int32(unix.Gettid()) {
		f()
		r.takeTraps()
		return true
	}
	r.mu.Lock()
	if r.stopped {
		r.mu.Unlock()
		return false
	}
	ch := make(chan struct{})
	r.reqs <- func() {
		f()
		r.takeTraps()
		close(ch)
	}
	r.mu.Unlock()
	<-ch
	return true
}

// takeTraps logs the WARNs the trap handler noted (DDE thread).
func (r *Runtime) takeTraps() {
	for _, w := range cTraps() {
		r.traps++
		r.cfg.Log(w)
	}
}

// Loop runs f on the DDE thread and returns when f does. Every entry
// point f calls (Xmit, IRQ handling through RunPending, NextDeadline,
// Stats...) runs inline on the thread, so a host's event loop inside f
// pays no thread hand-off per call. Other goroutines' calls wait until f
// returns: f should be the host's one loop. Reports false if the runtime
// was stopped.
func (r *Runtime) Loop(f func()) bool { return r.do(f) }

func (r *Runtime) shutdown() {
	r.mu.Lock()
	if !r.stopped {
		r.stopped = true
		close(r.reqs)
	}
	r.mu.Unlock()
	<-r.done
	r.stopInjector()
	current.CompareAndSwap(r, nil)
}

// Start runs the module's init: the driver registers with the PCI core,
// which matches its ID table and probes the device; the probe registers
// the network interface.
func (r *Runtime) Start() error {
	if r.cfg.Module.Init == nil {
		return errors.New("dde: Config.Module has no init function")
	}
	var err error
	if !r.do(func() { err = r.cStart() }) {
		return ErrStopped
	}
	return err
}

// Open brings the interface up (ndo_open).
func (r *Runtime) Open() error {
	var err error
	if !r.do(func() { err = r.cOpen() }) {
		return ErrStopped
	}
	return err
}

// Close takes the interface down (ndo_stop).
func (r *Runtime) Close() error {
	var err error
	if !r.do(func() { err = r.cClose() }) {
		return ErrStopped
	}
	return err
}

// Xmit transmits one Ethernet frame (without FCS) through
// ndo_start_xmit; the frame is copied into an skb in the pool first.
// ErrQueueFull means the driver stopped its queue: retry after TxReady
// or after RunPending.
func (r *Runtime) Xmit(frame []byte) error {
	var err error
	if !r.do(func() { err = r.cXmit(frame) }) {
		return ErrStopped
	}
	return err
}

// XmitBatch transmits frames in order with one entry into the DDE:
// each but the last is flagged "more follows" (netdev_xmit_more), so the
// driver may ring the device's doorbell once for the batch. It stops at
// the first refusal and returns how many frames went; ErrQueueFull as
// for Xmit.
func (r *Runtime) XmitBatch(frames [][]byte) (int, error) {
	var sent int
	var err error
	if !r.do(func() {
		r.batch, r.batchLens = r.batch[:0], r.batchLens[:0]
		for _, f := range frames {
			if len(f) == 0 {
				break // refused below like Xmit refuses it
			}
			r.batch = append(r.batch, f...)
			r.batchLens = append(r.batchLens, int32(len(f)))
		}
		if len(r.batchLens) > 0 {
			sent, err = r.cXmitBatch(r.batch, r.batchLens)
		}
		if err == nil && sent < len(frames) {
			err = r.cXmit(frames[sent])
		}
	}) {
		return 0, ErrStopped
	}
	return sent, err
}

// IRQ notes that the device raised its interrupt line. It never blocks
// and may be called from any goroutine, also from inside a Device
// method; the handler runs on the DDE thread in the next loop, at the
// latest in the next call of RunPending. Wake is signalled.
func (r *Runtime) IRQ() {
	cIRQNotify()
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// Wake is signalled when work is pending that a RunPending would do (an
// IRQ arrived). Timers are the host's to watch, through NextDeadline.
func (r *Runtime) Wake() <-chan struct{} { return r.wake }

// RunPending moves the DDE clock to now (never backwards) and runs
// whatever is due: a pending IRQ, scheduled NAPI polls, expired timers,
// queued work, until nothing is left.
func (r *Runtime) RunPending(now time.Duration) {
	r.do(func() { cRun(now) })
}

// NextDeadline is when the earliest pending timer expires, on the DDE
// clock; ok is false when no timer is pending.
func (r *Runtime) NextDeadline() (at time.Duration, ok bool) {
	r.do(func() { at, ok = cNextDeadline() })
	return at, ok
}

// Now is the DDE clock.
func (r *Runtime) Now() time.Duration {
	return r.Stats().Now
}

// InjectFault plants kind at the entry of the donor's ndo_start_xmit: it
// fires the next time the driver transmits. For recovery tests and
// benchmarks only; nothing undoes it but a restart of the process.
func (r *Runtime) InjectFault(kind Fault) error {
	var err error
	if !r.do(func() { err = r.cInjectFault(kind) }) {
		return ErrStopped
	}
	return err
}

// Inject plants fault s (package grailos/dde/linux/fault): a code or
// hang fault waits, as a breakpoint, for the driver to reach its address;
// a kernel-API or wild-DMA fault is armed in the runtime's fault points
// and its trigger, if any, run (an ErrTrigger error then means the
// interface is down or the driver off the device); a data fault is
// checked against the structure it names and changes its word at the
// start of the s.Nth turn of the loop from now (any entry point that
// runs the loop: RunPending, Xmit...). Config.Fired hears when it fires. For fault-injection campaigns only; nothing undoes a
// fault but a restart of the process.
func (r *Runtime) Inject(s fault.Spec) error {
	if err := s.Validate(); err != nil {
		return err
	}
	var err error
	if !r.do(func() { err = r.cInject(s) }) {
		return ErrStopped
	}
	return err
}

// Watch plants one-shot breakpoints on function entries of the donor's
// text (a profile: which functions run); it returns how many are watched.
func (r *Runtime) Watch(addrs []uint64) (int, error) {
	var n int
	var err error
	if !r.do(func() { n, err = r.cWatch(addrs) }) {
		return 0, ErrStopped
	}
	return n, err
}

// WatchHits reports, for every watched entry in the order Watch planted
// them, whether the driver has run it since.
func (r *Runtime) WatchHits() []bool {
	var hits []bool
	r.do(func() { hits = r.cWatchHits() })
	return hits
}

// FaultState reports, for a kernel-API site (fault.APISites) or wild-DMA
// direction (fault.DMASites), the calls seen since it was armed, how many
// failed, and whether it is still armed.
func (r *Runtime) FaultState(site string) (calls, fired int, armed bool) {
	r.do(func() { calls, fired, armed = r.cFaultState(site) })
	return calls, fired, armed
}

// SetRxMode sets the interface's receive filter: promiscuous (every
// frame) and all-multicast (every group frame), applied through the
// driver's ndo_set_rx_mode as `ip link set ... promisc/allmulticast on`.
func (r *Runtime) SetRxMode(promisc, allmulti bool) error {
	var err error
	if !r.do(func() { err = r.cSetRxMode(promisc, allmulti) }) {
		return ErrStopped
	}
	return err
}

// MAC is the interface's address, as the driver set it (zero before
// the interface is registered).
func (r *Runtime) MAC() [6]byte {
	var mac [6]byte
	r.do(func() { mac = cMAC() })
	return mac
}

// Stats returns the counters; after Stop, the final ones.
func (r *Runtime) Stats() Stats {
	var st Stats
	if !r.do(func() { st = cStats(); st.Warnings += r.traps }) {
		return r.final
	}
	return st
}

// Stop takes the interface down, runs the module's exit (the driver
// unregisters and frees what it allocated), releases the PCI function
// and ends the DDE thread. The final Stats tell what leaked.
func (r *Runtime) Stop() error {
	var err error
	if !r.do(func() {
		err = r.cStop()
		r.final = cStats()
		cFini()
	}) {
		return ErrStopped
	}
	r.final.Warnings += r.traps // after do: its WARNs are counted too
	r.shutdown()
	return err
}

// Elapsed is real time (CLOCK_MONOTONIC) since New: what a host without
// VirtualTime passes to RunPending, and compares NextDeadline with.
func (r *Runtime) Elapsed() time.Duration { return cElapsed() }
