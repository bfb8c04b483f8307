package devchan

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"grailos/kernel/ring"
	"grailos/kernel/shm"
)

// Handler is the function behind a channel; the machine implements it
// over a device model and its configuration space. All calls come from
// the serving goroutine, one at a time, in request order, and only with
// requests that passed Validate: the BAR exists and is of the right kind,
// the width is allowed, the access is aligned and inside the BAR, and a
// written value fits the width. The handler still decides what the
// function does with it, including refusing it (for example
// StatusDisabled while the command register's decode bit is off).
type Handler interface {
	// Attach is called when a driver attaches, before its first request:
	// the machine resets the function (a function-level reset) so that
	// every driver starts from power-on state and a dead driver's DMA
	// set-up dies with it.
	Attach(gen uint32)
	ConfigRead(off uint32, size int) (uint32, Status)
	ConfigWrite(off uint32, size int, v uint32) Status
	MMIORead(bar int, off uint32, size int) (uint64, Status)
	MMIOWrite(bar int, off uint32, size int, v uint64) Status
	IORead(bar int, off uint32, size int) (uint32, Status)
	IOWrite(bar int, off uint32, size int, v uint32) Status
}

// Config describes the channel a Server lays out.
type Config struct {
	BARs       [NumBARs]BAR
	ConfigSize int // bytes of configuration space; 0 means DefaultConfigSize
	QueueCap   int // entries per queue, a power of two; 0 means DefaultQueueCap
	// Spin is how many times the idle server polls for work before it
	// sleeps on the doorbell; 0 means DefaultSpin, negative never spins.
	Spin int
	// IRQSpin is the poll budget after the server raised the interrupt
	// line from outside a request (a received frame, a timer): the
	// driver is about to answer, typically after a wake-up from idle that
	// outlasts Spin. 0 means DefaultIRQSpin; it is never below Spin.
	IRQSpin int
	// IRQ, if set, is an eventfd (NewEventFD) written on every rising edge
	// of the interrupt line.
	IRQ *os.File
	// OnRefusal, if set, is called (on the serving goroutine) for every
	// refused request, posted or not.
	OnRefusal func(Request, Status)
	// OnCorrupt, if set, is called when the driver's end of a queue is
	// found corrupt; the channel then waits for the next attach.
	OnCorrupt func(error)
}

// DefaultSpin is the idle server's default poll budget: about 40 µs on
// the reference machine, long enough to cover the gap between two
// accesses of a driver that is running, short enough that an idle
// channel goes to sleep at once in human terms.
const DefaultSpin = 1 << 12

// MaxSleep bounds one sleep of the idle server on the doorbell. A
// wake-up should never be lost, but one was (issue 5: a driver killed
// between taking the doorbell and its FUTEX_WAKE left the machine asleep
// for good); the bound turns any wake-up lost in a way not yet known
// into a delay instead of a machine that never answers again. An idle
// machine pays one wake-up and Spin polls per MaxSleep (~0.04% of a core).
const MaxSleep = 100 * time.Millisecond

// DefaultIRQSpin is the default poll budget after an interrupt, about
// 200 µs: above the ~100 µs a wake-up from idle costs on the reference
// machine (chanbench's cold figures), so that the driver's interrupt
// handler does not find the machine asleep in turn.
const DefaultIRQSpin = 1 << 14

// ServerStats are the server's counters.
type ServerStats struct {
	Requests uint64 // requests taken from the queue
	Replies  uint64 // replies sent (non-posted requests)
	Posted   uint64 // posted writes performed
	Refused  uint64 // requests refused, posted or not
	Attaches uint64 // drivers attached
	Corrupt  uint64 // times a queue was found corrupt
	Dropped  uint64 // replies dropped because the reply queue was full
	IRQEdges uint64 // rising edges of the interrupt line
	Sleeps   uint64 // times the server slept on the doorbell
	// Overslept counts sleeps that ended by MaxSleep with work waiting:
	// a wake-up that was lost (or, rarely, one that was on its way). It
	// should stay 0; the machine logs it.
	Overslept uint64
}

// Server is the machine's end of a channel. Serve runs it on one
// goroutine; SetIRQ, Stats and Close may be called from any goroutine.
type Server struct {
	mem  []byte
	h    header
	cfg  Config
	bars [NumBARs]BAR // private copy: the shared one is for the driver only
	hd   Handler
	req  *ring.Queue[Request]
	rep  *ring.Queue[Reply]

	stopped    atomic.Bool
	serving    atomic.Bool
	irqBoost   atomic.Bool // the line rose since the server last worked or slept
	lastAttach uint32      // serving goroutine only
	broken     bool        // serving goroutine only
	late       bool        // serving goroutine only: the last sleep ran out (MaxSleep)
	gen        uint32      // serving goroutine only

	irqMu  sync.Mutex
	irqOn  bool
	irqBuf [8]byte

	requests, replies, posted, refused, attaches, corrupt, dropped, edges, sleeps, overslept atomic.Uint64
}

// NewServer lays a channel out in region (mapped writable, at least
// RegionBytes(cfg.QueueCap) long) and returns its machine end. The region
// must not be shared with a driver yet; afterwards the caller passes its
// memory object on. The server does not own region, or cfg.IRQ.
func NewServer(region *shm.Region, cfg Config, hd Handler) (*Server, error) {
	if hd == nil {
		return nil, errors.New("devchan: nil handler")
	}
	if cfg.QueueCap == 0 {
		cfg.QueueCap = DefaultQueueCap
	}
	if cfg.ConfigSize == 0 {
		cfg.ConfigSize = DefaultConfigSize
	}
	if cfg.Spin == 0 {
		cfg.Spin = DefaultSpin
	}
	if cfg.IRQSpin == 0 {
		cfg.IRQSpin = DefaultIRQSpin
	}
	cfg.IRQSpin = max(cfg.IRQSpin, cfg.Spin)
	if cfg.ConfigSize < 64 || cfg.ConfigSize > 4096 || cfg.ConfigSize%4 != 0 {
		return nil, fmt.Errorf("devchan: configuration space of %d bytes (want 64..4096, a multiple of 4)", cfg.ConfigSize)
	}
	need, err := RegionBytes(cfg.QueueCap)
	if err != nil {
		return nil, err
	}
	if !region.Writable() {
		return nil, errors.New("devchan: channel region is mapped read-only")
	}
	mem := region.Bytes()
	if len(mem) < need {
		return nil, fmt.Errorf("devchan: channel region %d bytes, need %d", len(mem), need)
	}
	reqOff, repOff, total := queueOffsets(cfg.QueueCap)
	s := &Server{mem: mem, h: newHeader(mem), cfg: cfg, bars: cfg.BARs, hd: hd}
	clear(mem[:total])
	if s.req, err = ring.NewQueue[Request](mem[reqOff:repOff], cfg.QueueCap); err != nil {
		return nil, err
	}
	if s.rep, err = ring.NewQueue[Reply](mem[repOff:total], cfg.QueueCap); err != nil {
		return nil, err
	}
	s.req.Reset()
	s.rep.Reset()
	le := binary.LittleEndian
	le.PutUint32(mem[offVersion:], version)
	le.PutUint32(mem[offQueueCap:], uint32(cfg.QueueCap))
	le.PutUint32(mem[offReqQueue:], uint32(reqOff))
	le.PutUint32(mem[offReplyQueue:], uint32(repOff))
	le.PutUint32(mem[offCfgSize:], uint32(cfg.ConfigSize))
	for i, b := range cfg.BARs {
		kind := uint32(barNone)
		if b.Size != 0 {
			kind = barMem
			if b.IO {
				kind = barIO
			}
		}
		le.PutUint32(mem[offBARs+8*i:], b.Size)
		le.PutUint32(mem[offBARs+8*i+4:], kind)
	}
	atomic.StoreUint64(word64(mem, offMagic), magic) // last: the header is complete
	return s, nil
}

// Serve serves the channel until Close; it returns nil then. It may be
// called once.
func (s *Server) Serve() error {
	if !s.serving.CompareAndSwap(false, true) {
		return errors.New("devchan: Serve called twice")
	}
	var batch [32]Request
	idle := 0
	for !s.stopped.Load() {
		if s.step(batch[:]) {
			idle = 0
			s.irqBoost.Store(false)
			continue
		}
		if idle < s.cfg.Spin || (idle < s.cfg.IRQSpin && s.irqBoost.Load()) {
			idle++
			if idle%256 == 0 {
				runtime.Gosched()
			}
			continue
		}
		idle = 0
		s.irqBoost.Store(false)
		s.sleep(batch[:])
	}
	return nil
}

// step handles a pending attach and one batch of requests. It reports
// whether it did any work.
func (s *Server) step(batch []Request) bool {
	late := s.late
	s.late = false
	if atomic.LoadUint32(s.h.attachReq) != s.lastAttach {
		if late {
			s.overslept.Add(1) // before the answer, so that the driver sees it in Stats
		}
		s.attach()
		return true
	}
	if s.broken {
		return false
	}
	n, err := s.req.Pop(batch)
	if err != nil {
		s.fail(err)
		return false
	}
	if late && n > 0 {
		s.overslept.Add(1)
	}
	for i := range n {
		s.handle(&batch[i])
	}
	return n > 0
}

// sleep announces that the server sleeps, re-checks for work and sleeps
// on the doorbell until a driver or Close rings it. Work found on the
// re-check is done at once.
func (s *Server) sleep(batch []Request) {
	atomic.StoreUint32(s.h.doorbell, 1)
	if s.stopped.Load() || s.step(batch) {
		atomic.StoreUint32(s.h.doorbell, 0)
		return
	}
	s.sleeps.Add(1)
	if shm.FutexWait(s.h.doorbell, 1, MaxSleep) != shm.ErrTimeout {
		return // woken, or a spurious wake-up: the loop re-checks
	}
	// Nobody rang for MaxSleep. Work the next step finds was published
	// without a wake-up that arrived: it counts it (ServerStats.Overslept).
	atomic.StoreUint32(s.h.doorbell, 0)
	s.late = true
}

// attach resets the channel for a new driver: both queues emptied, the
// posted-error record cleared, a new generation, a function-level reset,
// and the driver's nonce acknowledged.
func (s *Server) attach() {
	nonce := atomic.LoadUint32(s.h.attachReq)
	s.lastAttach = nonce
	s.req.Reset()
	s.rep.Reset()
	s.broken = false
	atomic.StoreUint32(s.h.postedErrs, 0)
	atomic.StoreUint32(s.h.lastSt, 0)
	atomic.StoreUint64(s.h.lastSeq, 0)
	s.gen++
	s.hd.Attach(s.gen)
	atomic.StoreUint32(s.h.gen, s.gen)
	s.attaches.Add(1)
	atomic.StoreUint32(s.h.attachAck, nonce)
	shm.FutexWake(s.h.attachAck, 1<<30)
}

func (s *Server) fail(err error) {
	s.broken = true
	s.corrupt.Add(1)
	if s.cfg.OnCorrupt != nil {
		s.cfg.OnCorrupt(err)
	}
}

// handle performs one request (copied out of shared memory by Pop).
func (s *Server) handle(r *Request) {
	s.requests.Add(1)
	st := Validate(*r, &s.bars, uint32(s.cfg.ConfigSize))
	var v uint64
	if st == StatusOK {
		v, st = s.perform(r)
	}
	if st != StatusOK {
		s.refused.Add(1)
		v = ^uint64(0)
		if s.cfg.OnRefusal != nil {
			s.cfg.OnRefusal(*r, st)
		}
	}
	if r.Op.Posted() {
		if st != StatusOK {
			atomic.StoreUint32(s.h.lastSt, uint32(st))
			atomic.StoreUint64(s.h.lastSeq, r.Seq)
			atomic.AddUint32(s.h.postedErrs, 1)
		} else {
			s.posted.Add(1)
		}
		return
	}
	if st == StatusOK && r.Size < 8 && r.Size > 0 {
		v &= 1<<(8*r.Size) - 1
	}
	rep := [1]Reply{{Seq: r.Seq, Value: v, Status: st, Op: r.Op}}
	// Count before publishing, so that a driver holding the reply sees
	// it in Stats.
	s.replies.Add(1)
	if s.rep.Push(rep[:]) == 1 {
		return
	}
	s.replies.Add(^uint64(0))
	if err := s.rep.Err(); err != nil {
		s.fail(err)
		return
	}
	// The driver does not consume its replies (it has died, or it sends
	// reads without waiting for them). Never block on it.
	s.dropped.Add(1)
}

func (s *Server) perform(r *Request) (uint64, Status) {
	bar, off, size := int(r.BAR), r.Offset, int(r.Size)
	switch r.Op {
	case OpConfigRead:
		v, st := s.hd.ConfigRead(off, size)
		return uint64(v), st
	case OpConfigWrite:
		return 0, s.hd.ConfigWrite(off, size, uint32(r.Value))
	case OpMMIORead:
		return s.hd.MMIORead(bar, off, size)
	case OpMMIOWrite:
		return 0, s.hd.MMIOWrite(bar, off, size, r.Value)
	case OpIORead:
		v, st := s.hd.IORead(bar, off, size)
		return uint64(v), st
	case OpIOWrite:
		return 0, s.hd.IOWrite(bar, off, size, uint32(r.Value))
	}
	return 0, StatusOK // OpSync
}

// SetIRQ drives the interrupt line: the level word in the header follows
// level, and a rising edge bumps the edge counter and signals the eventfd.
// It is what the machine wires to the device model's IRQ hook.
func (s *Server) SetIRQ(level bool) {
	s.irqMu.Lock()
	defer s.irqMu.Unlock()
	if level == s.irqOn {
		return
	}
	s.irqOn = level
	if !level {
		atomic.StoreUint32(s.h.irqLevel, 0)
		return
	}
	atomic.StoreUint32(s.h.irqLevel, 1)
	atomic.AddUint32(s.h.irqEdges, 1)
	// Wake the server now if it sleeps, so that its wake-up overlaps the
	// driver's instead of following it, and have it poll for the
	// interrupt handler's accesses.
	s.irqBoost.Store(true)
	s.h.ring()
	s.edges.Add(1)
	if s.cfg.IRQ != nil {
		s.irqBuf[0] = 1
		s.cfg.IRQ.Write(s.irqBuf[:]) // only fails when the counter saturates: the line is pending anyway
	}
}

// AttachPending reports whether a driver has asked to attach and the
// server has not answered yet, and with which nonce. Any goroutine may
// call it (the machine's watchdog does).
func (s *Server) AttachPending() (nonce uint32, pending bool) {
	ack := atomic.LoadUint32(s.h.attachAck)
	nonce = atomic.LoadUint32(s.h.attachReq)
	return nonce, nonce != ack
}

// Generation returns the number of drivers that have attached so far.
func (s *Server) Generation() uint32 { return atomic.LoadUint32(s.h.gen) }

// Stats returns a snapshot of the server's counters.
func (s *Server) Stats() ServerStats {
	return ServerStats{
		Requests: s.requests.Load(), Replies: s.replies.Load(), Posted: s.posted.Load(),
		Refused: s.refused.Load(), Attaches: s.attaches.Load(), Corrupt: s.corrupt.Load(),
		Dropped: s.dropped.Load(), IRQEdges: s.edges.Load(), Sleeps: s.sleeps.Load(),
		Overslept: s.overslept.Load(),
	}
}

// Close stops Serve (it returns after the request it is performing). It
// is idempotent. The region stays mapped; the caller unmaps it after
// Serve has returned.
func (s *Server) Close() {
	s.stopped.Store(true)
	atomic.StoreUint32(s.h.doorbell, 0)
	shm.FutexWake(s.h.doorbell, 1)
}
