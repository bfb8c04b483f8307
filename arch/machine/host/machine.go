package host

import (
	"fmt"
	"io"
	"log"
	"net"
	"net/netip"
	"os"
	"runtime"
	"sync"
	"time"

	"grailos/arch/machine/devchan"
	"grailos/arch/machine/hw"
	"grailos/arch/machine/wire"
	"grailos/kernel/shm"
)

// Config is the machine's small configuration: one device model, its
// pool, its channel, and optionally its wire.
type Config struct {
	Model    string  // device model (LookupModel); "" means DefaultModel
	Name     string  // instance name; "" means "<model>-0"
	MAC      [6]byte // zero means DefaultMAC
	PoolSize int     // bytes; 0 means DefaultPoolSize
	BusBase  uint64  // 0 means DefaultBusBase
	QueueCap int     // channel queue entries; 0 means devchan.DefaultQueueCap
	// Wire, if set, creates the TAP and its peer namespace; nil leaves
	// the cable unplugged from any peer (transmitted frames are dropped
	// and counted by the model).
	Wire *wire.Config
	// Log receives the machine's log lines; nil discards them.
	Log *log.Logger
}

// DefaultMAC is QEMU's first NIC address.
var DefaultMAC = [6]byte{0x52, 0x54, 0x00, 0x12, 0x34, 0x56}

// Stats are the machine's counters.
type Stats struct {
	MMIO       uint64 // MMIO accesses served by the model
	IO         uint64 // port I/O accesses served
	Config     uint64 // configuration cycles served
	Refused    uint64 // channel requests refused (malformed, or decode off)
	DMARefused uint64 // device accesses the IOMMU refused
	FramesIn   uint64 // frames from the wire into the model
	FramesOut  uint64 // frames from the model onto the wire
	RxFrames   uint64 // frames the model wrote into the receive ring
	Attaches   uint64 // drivers attached
	IRQEdges   uint64 // rising edges of INTA#
}

func (s Stats) String() string {
	return fmt.Sprintf("mmio %d io %d config %d refused %d dma-refused %d frames-in %d (to ring %d) frames-out %d attaches %d irq-edges %d",
		s.MMIO, s.IO, s.Config, s.Refused, s.DMARefused, s.FramesIn, s.RxFrames, s.FramesOut, s.Attaches, s.IRQEdges)
}

// Machine is the hosted hardware for one device: the function, its DMA
// pool, its device channel and IRQ eventfd, its wire, and the goroutines
// that serve them (the channel, the wire's receive loop, the model's
// timers).
type Machine struct {
	cfg    Config
	log    *log.Logger
	fn     *Function
	pool   *Pool
	chFile *os.File
	chMem  *shm.Region
	srv    *devchan.Server
	irq    *os.File
	wire   *wire.Wire
	epoch  time.Time
	wake   chan struct{}
	stop   chan struct{}
	devWG  sync.WaitGroup // the channel server, the timers and the watchdog
	wireWG sync.WaitGroup // the wire's receive loop

	startOnce, closeOnce sync.Once
	closeErr             error
	refusals, events     limiter
	iommu                paced // the IOMMU's refusals: each one matters to a fault campaign
}

// New builds the machine. Nothing runs until Start.
func New(cfg Config) (m *Machine, err error) {
	if cfg.Model == "" {
		cfg.Model = DefaultModel
	}
	if cfg.Name == "" {
		cfg.Name = cfg.Model + "-0"
	}
	if cfg.MAC == ([6]byte{}) {
		cfg.MAC = DefaultMAC
	}
	if cfg.PoolSize == 0 {
		cfg.PoolSize = DefaultPoolSize
	}
	if cfg.BusBase == 0 {
		cfg.BusBase = DefaultBusBase
	}
	if cfg.QueueCap == 0 {
		cfg.QueueCap = devchan.DefaultQueueCap
	}
	m = &Machine{cfg: cfg, log: cfg.Log, epoch: time.Now(), wake: make(chan struct{}, 1), stop: make(chan struct{})}
	if m.log == nil {
		m.log = log.New(io.Discard, "", 0)
	}
	built := m // the named result is nil on the error returns
	defer func() {
		if err != nil {
			built.release()
		}
	}()
	if m.pool, err = NewPool(cfg.PoolSize, cfg.BusBase); err != nil {
		return nil, err
	}
	var w hw.Wire
	if cfg.Wire != nil {
		if m.wire, err = wire.Open(*cfg.Wire); err != nil {
			return nil, err
		}
		w = m.wire
	}
	m.fn, err = NewFunction(FunctionConfig{
		Model: cfg.Model, MAC: cfg.MAC, DMA: m.pool, Wire: w, Clock: m, Wake: m.wakeAt,
		OnEvent: func(e hw.Event) {
			if e.Kind == hw.EventDMARefused {
				m.iommu.logf(m.log, "device: %v", e)
				return
			}
			m.events.logf(m.log, "device: %v", e)
		},
		OnAttach: func(gen uint32) { m.log.Printf("driver attached (generation %d): function reset", gen) },
	})
	if err != nil {
		return nil, err
	}
	size, err := devchan.RegionBytes(cfg.QueueCap)
	if err != nil {
		return nil, err
	}
	if m.chFile, err = shm.Create("devchan-"+cfg.Name, size); err != nil {
		return nil, err
	}
	if m.chMem, err = shm.Map(m.chFile, true); err != nil {
		return nil, err
	}
	if m.irq, err = devchan.NewEventFD(); err != nil {
		return nil, err
	}
	m.srv, err = devchan.NewServer(m.chMem, devchan.Config{
		BARs: m.fn.BARs(), QueueCap: cfg.QueueCap, IRQ: m.irq,
		OnRefusal: func(r devchan.Request, st devchan.Status) {
			m.refusals.logf(m.log, "refused %v bar %d offset %#x size %d value %#x (seq %d): %v",
				r.Op, r.BAR, r.Offset, r.Size, r.Value, r.Seq, st)
		},
		OnCorrupt: func(err error) { m.log.Printf("channel corrupt, waiting for a new attach: %v", err) },
	}, m.fn)
	if err != nil {
		return nil, err
	}
	m.fn.SetIRQ(m.srv.SetIRQ)
	return m, nil
}

// Now implements hw.Clock: monotonic time since the machine was built.
func (m *Machine) Now() time.Duration { return time.Since(m.epoch) }

// wakeAt is the model's Wake hook; it runs with the device lock held, so
// it only nudges the timer goroutine.
func (m *Machine) wakeAt(time.Duration) {
	select {
	case m.wake <- struct{}{}:
	default:
	}
}

// Start runs the channel server, the wire's receive loop and the model's
// timers. It is idempotent.
func (m *Machine) Start() {
	m.startOnce.Do(func() {
		m.devWG.Add(3)
		go func() {
			defer m.devWG.Done()
			m.srv.Serve()
		}()
		go func() {
			defer m.devWG.Done()
			m.timers()
		}()
		go func() {
			defer m.devWG.Done()
			m.watchdog()
		}()
		if m.wire != nil {
			m.wireWG.Add(1)
			go func() {
				defer m.wireWG.Done()
				dev := m.fn.Model()
				if err := m.wire.Run(dev.Receive); err != nil {
					m.log.Printf("wire: %v", err)
				}
			}()
		}
		m.log.Printf("%s: %s %x, pool %d bytes at bus %#x, channel %d bytes%s",
			m.cfg.Name, m.fn.Spec().Chip, m.cfg.MAC, m.pool.Size(), m.pool.Base(), m.chMem.Size(), m.wireNote())
	})
}

func (m *Machine) wireNote() string {
	if m.wire == nil {
		return ", no wire"
	}
	return fmt.Sprintf(", wire %s in netns %s (peer %v)", m.wire.TAP(), m.wire.Netns(), m.wire.Addrs())
}

// timers runs the model's interrupt-moderation timers on the real clock:
// sleep until the earliest deadline (or until the model arms an earlier
// one), then Tick.
func (m *Machine) timers() {
	dev := m.fn.Model()
	t := time.NewTimer(time.Hour)
	t.Stop()
	for {
		if at, ok := dev.NextDeadline(); ok {
			if d := at - m.Now(); d <= 0 {
				dev.Tick()
				continue
			} else {
				t.Reset(d)
			}
		}
		select {
		case <-m.stop:
			t.Stop()
			return
		case <-m.wake:
			t.Stop()
		case <-t.C:
			dev.Tick()
		}
	}
}

// AttachWatchdog is how long an attach request may wait for the channel
// server before the machine logs every goroutine's stack: well under the
// driver's own limit (devchan.DefaultTimeout), so that a machine that
// stops answering (issue 5) says where it is stuck while the driver is
// still waiting.
const AttachWatchdog = 3 * time.Second

// watchdog checks the channel server once a second until Close (see
// watch).
func (m *Machine) watchdog() {
	var w watchState
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-m.stop:
			return
		case <-t.C:
			m.watch(&w, m.Now())
		}
	}
}

// watchState is what the watchdog remembers between two checks.
type watchState struct {
	nonce     uint32        // the pending attach request seen last
	since     time.Duration // when it was first seen (machine clock)
	dumped    bool          // its goroutine dump is logged
	overslept uint64        // the server's Overslept count logged last
}

// watch is one check at now: an attach request pending for
// AttachWatchdog gets one goroutine dump in the log, and wake-ups the
// channel server found lost (devchan.ServerStats.Overslept) are logged.
func (m *Machine) watch(w *watchState, now time.Duration) {
	st := m.srv.Stats()
	if st.Overslept != w.overslept {
		m.log.Printf("watchdog: channel server found %d lost wake-up(s) so far (work waiting after a %v sleep)",
			st.Overslept, devchan.MaxSleep)
		w.overslept = st.Overslept
	}
	nonce, pending := m.srv.AttachPending()
	switch {
	case !pending:
		w.nonce, w.dumped = 0, false
	case nonce != w.nonce:
		w.nonce, w.since, w.dumped = nonce, now, false
	case !w.dumped && now-w.since >= AttachWatchdog:
		w.dumped = true
		buf := make([]byte, 1<<20)
		buf = buf[:runtime.Stack(buf, true)]
		m.log.Printf("watchdog: attach request %#x not answered for %v (generation %d, server %+v); goroutines:\n%s",
			nonce, (now - w.since).Truncate(time.Millisecond), m.srv.Generation(), st, buf)
	}
}

// Description is what the machine hands over with the descriptors.
func (m *Machine) Description() devchan.Description {
	h := m.fn.Space().Header()
	d := devchan.Description{
		Name: m.cfg.Name, Model: m.fn.Spec().Chip,
		VendorID: h.VendorID, DeviceID: h.DeviceID, SubsysVendorID: h.SubsysVendorID, SubsystemID: h.SubsystemID,
		Revision: h.Revision, Class: h.Class, InterruptPin: h.InterruptPin,
		MAC:  net.HardwareAddr(m.cfg.MAC[:]).String(),
		BARs: m.fn.BARs(), ConfigSize: devchan.DefaultConfigSize, QueueCap: m.cfg.QueueCap,
		ChannelSize: m.chMem.Size(), PoolSize: m.pool.Size(), BusBase: m.pool.Base(),
	}
	if m.wire != nil {
		d.Netns = m.wire.Netns()
		for _, a := range m.wire.Addrs() {
			d.PeerAddrs = append(d.PeerAddrs, a.String())
		}
	}
	return d
}

// Handoff sends the description and the channel, pool and IRQ
// descriptors over conn (a SOCK_SEQPACKET socket).
func (m *Machine) Handoff(conn *net.UnixConn) error {
	d := m.Description()
	return devchan.SendHandoff(conn, &d, m.chFile, m.pool.File(), m.irq)
}

// Files returns the channel memfd, the pool memfd and the IRQ eventfd
// (owned by the machine), for a driver in the same process.
func (m *Machine) Files() (channel, pool, irq *os.File) { return m.chFile, m.pool.File(), m.irq }

// Function returns the machine's PCI function.
func (m *Machine) Function() *Function { return m.fn }

// Netns returns the peer namespace's name, or "" without a wire.
func (m *Machine) Netns() string {
	if m.wire == nil {
		return ""
	}
	return m.wire.Netns()
}

// PeerAddrs returns the peer's addresses on the wire.
func (m *Machine) PeerAddrs() []netip.Prefix {
	if m.wire == nil {
		return nil
	}
	return m.wire.Addrs()
}

// Stats returns the machine's counters.
func (m *Machine) Stats() Stats {
	fs, ss := m.fn.Stats(), m.srv.Stats()
	tx, rx := m.fn.Model().Frames()
	s := Stats{
		MMIO: fs.MMIOReads + fs.MMIOWrites, IO: fs.IO, Config: fs.Config,
		Refused: ss.Refused, DMARefused: m.pool.Refused(),
		FramesOut: tx, RxFrames: rx,
		Attaches: ss.Attaches, IRQEdges: ss.IRQEdges,
	}
	if m.wire != nil {
		s.FramesIn = m.wire.Stats().FramesIn
	}
	return s
}

// Close stops everything, removes the wire (TAP and namespace), logs the
// counters and releases the memory objects (a driver's mappings stay
// valid). It is idempotent.
func (m *Machine) Close() error {
	m.closeOnce.Do(func() {
		// Stop the driver's side first, so that nothing transmits onto a
		// closed TAP, then the wire.
		m.srv.Close()
		close(m.stop)
		m.devWG.Wait()
		if m.wire != nil {
			if err := m.wire.Close(); err != nil {
				m.closeErr = err
			}
		}
		m.wireWG.Wait()
		m.log.Printf("stats: %v", m.Stats())
		m.log.Printf("%s: %s", m.fn.Spec().Chip, m.fn.Model().Counters())
		m.release()
	})
	return m.closeErr
}

// release frees what New acquired (also on New's failure paths).
func (m *Machine) release() {
	if m.wire != nil {
		if err := m.wire.Close(); err != nil && m.closeErr == nil {
			m.closeErr = err
		}
	}
	if m.chMem != nil {
		m.chMem.Close()
	}
	if m.chFile != nil {
		m.chFile.Close()
	}
	if m.irq != nil {
		m.irq.Close()
	}
	if m.pool != nil {
		m.pool.Close()
	}
}

// limiter logs the first few of a kind of message, then every 1000th,
// so a misbehaving driver cannot flood the log.
type limiter struct {
	mu sync.Mutex
	n  uint64
}

func (l *limiter) logf(lg *log.Logger, format string, args ...any) {
	l.mu.Lock()
	l.n++
	n := l.n
	l.mu.Unlock()
	switch {
	case n <= 10:
		lg.Printf(format, args...)
	case n%1000 == 0:
		lg.Printf(format+fmt.Sprintf(" (%d so far)", n), args...)
	}
}

// paced logs the first few of a kind of message, then at most one per
// 50 ms (with the count so far): unlike limiter, a refusal that comes
// alone — one wild descriptor of a fault campaign (grail inject) — is
// always logged, while a driver that keeps trying cannot flood the log.
type paced struct {
	mu   sync.Mutex
	n    uint64
	last time.Time
}

func (p *paced) logf(lg *log.Logger, format string, args ...any) {
	p.mu.Lock()
	p.n++
	n, now := p.n, time.Now()
	ok := n <= 10 || now.Sub(p.last) >= 50*time.Millisecond
	if ok {
		p.last = now
	}
	p.mu.Unlock()
	switch {
	case ok && n <= 10:
		lg.Printf(format, args...)
	case ok:
		lg.Printf(format+fmt.Sprintf(" (%d so far)", n), args...)
	}
}
