// Package session is the NIC session contract: how a client (the network
// stack server, or a test) exchanges Ethernet frames with a NIC driver
// server. Every NIC server (e1000, later rtl8139, virtio-net) offers it the
// same way, so clients never depend on the driver behind it.
//
// Setup: the client calls the NIC server's endpoint with OpOpen. The reply
// carries one Memory capability (read/write) and no payload. The memory
// holds, in order:
//
//	0      64-byte status block (little endian):
//	         0  u32 magic "NIC1"
//	         4  u32 link: 1 up, 0 down
//	         8  u32 link generation: bumped on every change
//	        12  u16 MTU (payload bytes, 1500)
//	        14  6B  MAC address
//	        20  u32 frames the server refused (malformed, too long)
//	        24  u32 frames dropped for want of a free client buffer
//	        28  u32 receive filter in force (RxPromisc | RxAllMulti)
//	64     a ring.Session with Layout (side A = the server):
//	         server Tx = frames received from the wire, for the client
//	         server Rx = frames the client wants sent
//
// Frames are whole Ethernet frames without FCS, 14..MaxFrame bytes. The
// server validates every descriptor and length the client gives it; a bad
// one is refused and counted, never sent. A client that opens again gets a
// fresh session; the server serves only the newest. When the NIC server
// restarts (init tells its clients), the client opens a new session and
// replays what the driver must know (the shadow-driver idea, done once here).
package session

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"grailos/kernel/ring"
	"grailos/kernel/shm"
)

// Request codes on the NIC endpoint (first payload byte).
const (
	OpOpen = 'o'
	// OpRxMode [op, flags]: set the receive filter (flags: RxPromisc,
	// RxAllMulti; others refused). The NIC server applies it through the
	// driver and shows it in the status block. Not kept across a NIC
	// server restart: the client replays it with its other settings.
	OpRxMode = 'm'
)

// Receive filter flags of OpRxMode.
const (
	RxPromisc  = 1 << 0 // every frame on the wire
	RxAllMulti = 1 << 1 // every group (multicast) frame
)

// MaxFrame is the longest frame (no FCS): 1500 + 14 + a VLAN tag.
const MaxFrame = 1518

// Layout is the ring layout of a NIC session.
var Layout = ring.Layout{Slots: 256, SlotSize: 2048}

const (
	statusBytes = 64
	magic       = 0x3143494e // "NIC1"
)

// Bytes is the size of the Memory object a NIC session needs.
func Bytes() int {
	n, err := ring.SessionBytes(Layout)
	if err != nil {
		panic(err)
	}
	return shm.PageRound(statusBytes + n)
}

// Status is the status block, read atomically field by field.
type Status struct {
	Link    bool
	LinkGen uint32
	MTU     uint16
	MAC     [6]byte
	Refused uint32
	Dropped uint32
	RxMode  uint32 // the receive filter in force
}

// status gives atomic access to the status block in shared memory.
type status struct{ b []byte }

func (s status) word(off int) *uint32 { return word32(s.b, off) }

func (s status) read() (Status, error) {
	if atomic.LoadUint32(s.word(0)) != magic {
		return Status{}, errors.New("nic session: bad status block")
	}
	var st Status
	st.Link = atomic.LoadUint32(s.word(4)) == 1
	st.LinkGen = atomic.LoadUint32(s.word(8))
	st.MTU = binary.LittleEndian.Uint16(s.b[12:])
	copy(st.MAC[:], s.b[14:20])
	st.Refused = atomic.LoadUint32(s.word(20))
	st.Dropped = atomic.LoadUint32(s.word(24))
	st.RxMode = atomic.LoadUint32(s.word(28))
	return st, nil
}

// Server is the NIC server's half of one session.
type Server struct {
	mem  []byte
	st   status
	sess *ring.Session
	in   []ring.Desc
}

// NewServer lays out a session in mem (from a Memory object of Bytes()
// bytes the server created) with the device's MAC and MTU.
func NewServer(mem []byte, mac [6]byte, mtu uint16) (*Server, error) {
	if len(mem) < Bytes() {
		return nil, fmt.Errorf("nic session: %d bytes of memory, need %d", len(mem), Bytes())
	}
	sess, err := ring.NewSession(mem[statusBytes:], Layout, ring.SideA, true)
	if err != nil {
		return nil, err
	}
	s := &Server{mem: mem, st: status{mem[:statusBytes]}, sess: sess, in: make([]ring.Desc, 64)}
	binary.LittleEndian.PutUint16(mem[12:], mtu)
	copy(mem[14:20], mac[:])
	atomic.StoreUint32(s.st.word(0), magic)
	return s, nil
}

// SetRxMode publishes the receive filter in force.
func (s *Server) SetRxMode(flags uint32) { atomic.StoreUint32(s.st.word(28), flags) }

// ParseRxMode checks an OpRxMode request's payload.
func ParseRxMode(payload []byte) (promisc, allmulti bool, err error) {
	if len(payload) != 2 || payload[0] != OpRxMode {
		return false, false, errors.New("nic session: OpRxMode takes one flags byte")
	}
	if f := payload[1]; f&^(RxPromisc|RxAllMulti) != 0 {
		return false, false, fmt.Errorf("nic session: unknown receive filter flags %#x", f&^(RxPromisc|RxAllMulti))
	}
	return payload[1]&RxPromisc != 0, payload[1]&RxAllMulti != 0, nil
}

// SetLink publishes the link state.
func (s *Server) SetLink(up bool) {
	v := uint32(0)
	if up {
		v = 1
	}
	if atomic.SwapUint32(s.st.word(4), v) != v {
		atomic.AddUint32(s.st.word(8), 1)
	}
}

// Deliver hands a received frame to the client. It reports false (and
// counts a drop) when the client has no free buffer.
func (s *Server) Deliver(frame []byte) (bool, error) {
	if len(frame) > Layout.SlotSize {
		atomic.AddUint32(s.st.word(24), 1)
		return false, nil
	}
	tx := s.sess.Tx()
	d := s.in[:1]
	n, err := tx.Free.Pop(d)
	if err != nil {
		return false, err
	}
	if n == 0 {
		atomic.AddUint32(s.st.word(24), 1)
		return false, nil
	}
	buf, err := tx.Buffer(ring.Desc{Offset: d[0].Offset, Len: uint32(Layout.SlotSize)})
	if err != nil {
		return false, err
	}
	d[0].Len = uint32(copy(buf, frame))
	tx.Active.Push(d)
	return true, nil
}

// Pending calls fn for each frame the client queued for sending (at most
// max), then returns the buffers. A malformed descriptor or length is
// refused and counted; fn sees only valid frames. fn must not keep frame.
func (s *Server) Pending(max int, fn func(frame []byte)) (int, error) {
	rx := s.sess.Rx()
	if max > len(s.in) {
		max = len(s.in)
	}
	n, err := rx.Active.Pop(s.in[:max])
	if err != nil {
		return 0, err
	}
	sent := 0
	for i := 0; i < n; i++ {
		d := s.in[i]
		if d.Len < 14 || d.Len > MaxFrame {
			atomic.AddUint32(s.st.word(20), 1)
		} else if frame, err := rx.Buffer(d); err != nil {
			atomic.AddUint32(s.st.word(20), 1)
		} else {
			fn(frame)
			sent++
		}
		s.in[i].Len = uint32(Layout.SlotSize)
	}
	if n > 0 {
		rx.Free.Push(s.in[:n])
	}
	return sent, nil
}

// WaitPending waits until the client queued frames, or the deadline.
func (s *Server) WaitPending(deadline time.Time) error { return s.sess.Rx().Active.Wait(deadline) }

// Status reads the status block.
func (s *Server) Status() Status { st, _ := s.st.read(); return st }

// Client is the client's half of one session.
type Client struct {
	st   status
	sess *ring.Session
	d    []ring.Desc
}

// NewClient attaches to a session the server laid out in mem.
func NewClient(mem []byte) (*Client, error) {
	if len(mem) < Bytes() {
		return nil, fmt.Errorf("nic session: %d bytes of memory, need %d", len(mem), Bytes())
	}
	c := &Client{st: status{mem[:statusBytes]}, d: make([]ring.Desc, 1)}
	if _, err := c.st.read(); err != nil {
		return nil, err
	}
	sess, err := ring.NewSession(mem[statusBytes:], Layout, ring.SideB, false)
	if err != nil {
		return nil, err
	}
	c.sess = sess
	return c, nil
}

// Status reads the status block (MAC, link, counters).
func (c *Client) Status() (Status, error) { return c.st.read() }

// Send queues frame for transmission, waiting for a free buffer until the
// deadline.
func (c *Client) Send(frame []byte, deadline time.Time) error {
	if len(frame) < 14 || len(frame) > MaxFrame {
		return fmt.Errorf("nic session: frame of %d bytes (want 14..%d)", len(frame), MaxFrame)
	}
	tx := c.sess.Tx()
	for {
		n, err := tx.Free.Pop(c.d)
		if err != nil {
			return err
		}
		if n == 1 {
			break
		}
		if err := tx.Free.Wait(deadline); err != nil {
			return err
		}
	}
	buf, err := tx.Buffer(ring.Desc{Offset: c.d[0].Offset, Len: uint32(Layout.SlotSize)})
	if err != nil {
		return err
	}
	c.d[0].Len = uint32(copy(buf, frame))
	tx.Active.Push(c.d)
	return nil
}

// SendRaw pushes a descriptor as is (tests of the server's validation).
func (c *Client) SendRaw(d ring.Desc) { c.sess.Tx().Active.Push([]ring.Desc{d}) }

// Recv copies the next received frame into buf, waiting until the deadline.
func (c *Client) Recv(buf []byte, deadline time.Time) (int, error) {
	rx := c.sess.Rx()
	for {
		n, err := rx.Active.Pop(c.d)
		if err != nil {
			return 0, err
		}
		if n == 1 {
			break
		}
		if err := rx.Active.Wait(deadline); err != nil {
			return 0, err
		}
	}
	b, err := rx.Buffer(c.d[0])
	if err != nil {
		return 0, err
	}
	n := copy(buf, b)
	c.d[0].Len = uint32(Layout.SlotSize)
	rx.Free.Push(c.d)
	return n, nil
}
