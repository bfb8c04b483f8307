package netserver

import (
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
	"gvisor.dev/gvisor/pkg/waiter"

	"grailos/kernel/ring"
	"grailos/servers/net/socket"
)

// Session serves one socket session (the contract is in package socket).
//
// Two goroutines: serve pops requests in batches and handles them; work
// retries waiting requests of sockets netstack reported ready. Both hold mu
// while they touch sockets. Replies are produced under txMu, returned
// request slots under freeMu. netstack's wait-queue callbacks take only
// readyMu (a leaf) and never block, so they cannot deadlock against mu.
//
// Lock order: mu → txMu → freeMu; readyMu is a leaf.
type Session struct {
	st     *stack.Stack
	m      *socket.ServerMem
	rx, tx *ring.Direction

	mu    sync.Mutex
	socks map[uint32]*sock
	next  uint32

	txMu  sync.Mutex
	spare []ring.Desc
	txd   []ring.Desc

	freeMu sync.Mutex

	readyMu sync.Mutex
	ready   map[*sock]struct{}
	kick    chan struct{}

	closed  atomic.Bool
	once    sync.Once
	done    chan struct{}
	stopped chan struct{} // closed when serve has closed every socket
}

// sock is one socket of a session.
type sock struct {
	h      uint32
	kind   int
	family int
	ep     tcpip.Endpoint
	wq     *waiter.Queue
	entry  waiter.Entry
	reads  []*op // waiting recv/accept, in arrival order
	writes []*op // waiting send/connect, in arrival order
}

// op is a request being served; it owns its request slot until answered.
type op struct {
	hdr     socket.Header
	d       ring.Desc
	payload []byte // the slot's payload bytes (shared memory)
	to      tcpip.FullAddress
	sent    int
	started bool
}

func newSession(st *stack.Stack, m *socket.ServerMem) *Session {
	return &Session{
		st: st, m: m, rx: m.Sess.Rx(), tx: m.Sess.Tx(),
		socks: map[uint32]*sock{}, txd: make([]ring.Desc, 1), spare: make([]ring.Desc, 0, 1),
		ready: map[*sock]struct{}{}, kick: make(chan struct{}, 1), done: make(chan struct{}), stopped: make(chan struct{}),
	}
}

// Closed reports whether the session has ended.
func (s *Session) Closed() bool { return s.closed.Load() }

// Close ends the session: its goroutines stop and its sockets are closed.
func (s *Session) Close() {
	s.once.Do(func() {
		s.closed.Store(true)
		close(s.done)
	})
}

// Sockets returns the number of open sockets.
func (s *Session) Sockets() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.socks)
}

// Wait waits until a closed session has released its sockets (within half
// a second of Close: serve notices at its next wake-up).
func (s *Session) Wait() { <-s.stopped }

func (s *Session) serve() {
	defer close(s.stopped)
	go s.work()
	ds := make([]ring.Desc, 32)
	for !s.closed.Load() {
		n, err := s.rx.Active.Pop(ds)
		if err != nil {
			break
		}
		if n == 0 {
			s.rx.Active.Wait(time.Now().Add(500 * time.Millisecond))
			continue
		}
		s.mu.Lock()
		for i := range n {
			s.request(ds[i])
		}
		s.mu.Unlock()
	}
	s.Close()
	s.mu.Lock()
	for _, sk := range s.socks {
		sk.wq.EventUnregister(&sk.entry)
		sk.ep.Close()
	}
	clear(s.socks)
	s.mu.Unlock()
}

// work retries the waiting requests of sockets netstack woke.
func (s *Session) work() {
	for {
		select {
		case <-s.done:
			return
		case <-s.kick:
		}
		s.readyMu.Lock()
		batch := s.ready
		s.ready = map[*sock]struct{}{}
		s.readyMu.Unlock()
		s.mu.Lock()
		for sk := range batch {
			if s.socks[sk.h] == sk {
				s.progress(sk)
			}
		}
		s.mu.Unlock()
	}
}

// markReady is netstack's wait-queue callback.
func (s *Session) markReady(sk *sock) {
	s.readyMu.Lock()
	s.ready[sk] = struct{}{}
	s.readyMu.Unlock()
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// progress completes waiting requests of sk in order, as far as possible.
func (s *Session) progress(sk *sock) {
	for len(sk.reads) > 0 && s.try(sk, sk.reads[0]) {
		sk.reads = sk.reads[1:]
	}
	for len(sk.writes) > 0 && s.try(sk, sk.writes[0]) {
		sk.writes = sk.writes[1:]
	}
}

// free returns a request slot to the client.
func (s *Session) free(d ring.Desc) {
	s.freeMu.Lock()
	d.Len = uint32(socket.Layout.SlotSize)
	s.rx.Free.Push([]ring.Desc{d})
	s.freeMu.Unlock()
}

// slot takes a free reply slot (txMu held), waiting up to ReplyTimeout for
// the client to return one; on failure the session is closed.
func (s *Session) slot() (ring.Desc, []byte, bool) {
	if len(s.spare) == 1 {
		d := s.spare[0]
		s.spare = s.spare[:0]
		b, _ := s.tx.Buffer(d)
		return d, b, true
	}
	deadline := time.Now().Add(socket.ReplyTimeout)
	for {
		n, err := s.tx.Free.Pop(s.txd)
		if err != nil {
			s.Close()
			return ring.Desc{}, nil, false
		}
		if n == 1 {
			break
		}
		if s.closed.Load() || s.tx.Free.Wait(deadline) != nil {
			s.Close()
			return ring.Desc{}, nil, false
		}
	}
	d := ring.Desc{Offset: s.txd[0].Offset, Len: uint32(socket.Layout.SlotSize)}
	b, err := s.tx.Buffer(d)
	if err != nil {
		// The client returned a descriptor that is not one of our slots.
		s.m.Refused()
		s.Close()
		return ring.Desc{}, nil, false
	}
	return d, b, true
}

// answerFill answers o with a payload fill writes into the slot. fill
// returns the payload length, status, handle and arg, or ok=false to keep
// o waiting (nothing is sent). It reports whether o was answered.
func (s *Session) answerFill(o *op, fill func(p []byte) (n int, st syscall.Errno, handle uint32, arg uint64, ok bool)) bool {
	s.txMu.Lock()
	d, b, ok := s.slot()
	if !ok {
		s.txMu.Unlock()
		return true
	}
	n, st, handle, arg, ok := fill(b[socket.HeaderSize:])
	if !ok {
		s.spare = append(s.spare, d)
		s.txMu.Unlock()
		return false
	}
	socket.Header{Op: o.hdr.Op, Status: uint16(st), Handle: handle, Tag: o.hdr.Tag, Len: uint32(n), Arg: arg}.Put(b)
	d.Len = uint32(socket.HeaderSize + n)
	s.txd[0] = d
	s.tx.Active.Push(s.txd)
	s.txMu.Unlock()
	s.free(o.d)
	return true
}

// answer answers o with status, handle, arg and the concatenated parts.
func (s *Session) answer(o *op, st syscall.Errno, handle uint32, arg uint64, parts ...[]byte) {
	s.answerFill(o, func(p []byte) (int, syscall.Errno, uint32, uint64, bool) {
		n := 0
		for _, part := range parts {
			n += copy(p[n:], part)
		}
		return n, st, handle, arg, true
	})
}

// request handles one request descriptor (mu held).
func (s *Session) request(d ring.Desc) {
	buf, err := s.rx.Buffer(d)
	if err != nil {
		// Not one of our slots: nothing to answer, nothing to free.
		s.m.Refused()
		return
	}
	h, err := socket.DecodeHeader(buf)
	if err == socket.ErrShort {
		s.m.Refused()
		s.free(d)
		return
	}
	o := &op{hdr: h, d: d}
	if err != nil {
		s.answer(o, syscall.EINVAL, h.Handle, 0)
		return
	}
	o.payload = buf[socket.HeaderSize:]
	switch h.Op {
	case socket.OpSocket:
		s.open(o)
		return
	case socket.OpCancel:
		s.cancel(h.Handle, uint32(h.Arg))
		s.free(d)
		return
	}
	sk := s.socks[h.Handle]
	if sk == nil {
		s.answer(o, syscall.EBADF, h.Handle, 0)
		return
	}
	s.dispatch(sk, o)
}

// cancel answers the waiting request tag of socket h with ECANCELED.
func (s *Session) cancel(h, tag uint32) {
	sk := s.socks[h]
	if sk == nil {
		return
	}
	for _, q := range []*[]*op{&sk.reads, &sk.writes} {
		for i, o := range *q {
			if o.hdr.Tag == tag {
				*q = append((*q)[:i:i], (*q)[i+1:]...)
				s.answer(o, syscall.ECANCELED, sk.h, uint64(o.sent))
				return
			}
		}
	}
}
