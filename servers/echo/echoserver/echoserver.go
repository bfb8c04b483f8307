// Package echoserver is the echo server's logic: it answers calls on its
// endpoint and runs one ring session at a time, echoing every buffer the
// client sends back on the other direction.
package echoserver

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"grailos/kernel/abi"
	"grailos/kernel/ring"
	"grailos/kernel/shm"
	"grailos/kernel/sys"
	"grailos/servers/echo/echoproto"
)

// Server is one echo server instance.
type Server struct {
	t     *sys.Task
	token string // distinguishes instances (restart tests check it changes)

	mu   sync.Mutex
	stop *atomic.Bool // stops the running session loop
	hang chan struct{}
}

// New creates the server for task t.
func New(t *sys.Task) *Server {
	return &Server{t: t, token: fmt.Sprintf("%x", sys.Monotonic()), hang: make(chan struct{})}
}

// Handle answers one call on the echo endpoint.
func (s *Server) Handle(r *sys.Request) {
	if len(r.Payload) == 0 {
		r.Fail(abi.ErrBadRequest, "empty request")
		return
	}
	switch r.Payload[0] {
	case echoproto.OpEcho:
		r.Reply(r.Payload[1:])
	case echoproto.OpInfo:
		r.Reply([]byte(s.t.Name + " " + s.token))
	case echoproto.OpSession:
		h, err := s.openSession()
		if err != nil {
			r.Fail(abi.ErrQuota, "opening a session: %v", err)
			return
		}
		r.Reply(nil, abi.CapRef{Handle: h, Rights: abi.RightRead | abi.RightWrite})
		s.t.Delete(h) // the client holds its copy; ours is not needed
	case echoproto.OpHang:
		<-s.hang // never closed: the dispatcher is stuck, pings go unanswered
	case echoproto.OpCrash:
		var p *[1]byte
		p[0] = 1 // SIGSEGV
	case echoproto.OpExit:
		os.Exit(3)
	default:
		r.Fail(abi.ErrBadRequest, "unknown echo request %q", r.Payload[0])
	}
}

func (s *Server) openSession() (abi.Handle, error) {
	size, err := ring.SessionBytes(echoproto.Layout)
	if err != nil {
		return 0, err
	}
	h, err := s.t.NewMemory(shm.PageRound(size))
	if err != nil {
		return 0, err
	}
	region, err := s.t.MapMemory(h)
	if err != nil {
		s.t.Delete(h)
		return 0, err
	}
	sess, err := ring.NewSession(region.Bytes(), echoproto.Layout, ring.SideA, true)
	if err != nil {
		region.Close()
		s.t.Delete(h)
		return 0, err
	}
	stop := new(atomic.Bool)
	s.mu.Lock()
	if s.stop != nil {
		s.stop.Store(true) // one session at a time: the newest wins
	}
	s.stop = stop
	s.mu.Unlock()
	go func() {
		defer region.Close()
		if err := serveSession(sess, stop); err != nil {
			fmt.Fprintf(os.Stderr, "echo session ended: %v\n", err)
		}
	}()
	return h, nil
}

// serveSession echoes until stop is set or the peer corrupts the session.
func serveSession(sess *ring.Session, stop *atomic.Bool) error {
	rx, tx := sess.Rx(), sess.Tx()
	in := make([]ring.Desc, 64)
	out := make([]ring.Desc, 64)
	for !stop.Load() {
		n, err := rx.Active.Pop(in)
		if err != nil {
			return err
		}
		if n == 0 {
			if err := rx.Active.Wait(time.Now().Add(time.Second)); err != nil && !isTimeout(err) {
				return err
			}
			continue
		}
		got := 0
		for got < n {
			m, err := tx.Free.Pop(out[got:n])
			if err != nil {
				return err
			}
			got += m
			if got < n {
				if err := tx.Free.Wait(time.Now().Add(time.Second)); err != nil && !isTimeout(err) {
					return err
				}
				if stop.Load() {
					return nil
				}
			}
		}
		for i := 0; i < n; i++ {
			src, err := rx.Buffer(in[i])
			if err != nil {
				return err
			}
			dst, err := tx.Buffer(ring.Desc{Offset: out[i].Offset, Len: uint32(echoproto.Layout.SlotSize)})
			if err != nil {
				return err
			}
			out[i].Len = uint32(copy(dst, src))
			out[i].Cookie = in[i].Cookie
			in[i].Len = uint32(echoproto.Layout.SlotSize)
		}
		tx.Active.Push(out[:n])
		rx.Free.Push(in[:n])
	}
	return nil
}

func isTimeout(err error) bool { return errors.Is(err, ring.ErrTimeout) }
