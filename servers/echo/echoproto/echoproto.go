// Package echoproto is the contract of the echo server: its request codes,
// its ring session layout, and a client. The echo server is the smallest
// real server of GrailOS — it answers calls on its endpoint and echoes
// messages through a shared-memory ring session — and serves the IPC
// benchmark, the supervision tests and the demo.
package echoproto

import (
	"errors"
	"fmt"
	"time"

	"grailos/kernel/abi"
	"grailos/kernel/ring"
	"grailos/kernel/shm"
	"grailos/kernel/sys"
)

// Request codes: the first byte of a call's payload.
const (
	OpEcho    = 'e' // reply with the rest of the payload
	OpSession = 's' // reply with a Memory capability holding a fresh ring session (client is side B)
	OpHang    = 'h' // never answer, and stop answering anything (a hung server, for heartbeat tests)
	OpCrash   = 'c' // die of a nil-pointer dereference (SIGSEGV in the server)
	OpExit    = 'x' // exit with status 3
	OpInfo    = 'i' // reply with "name instance-token"
)

// Layout is the echo session layout: 256 slots of 2 KiB per direction.
var Layout = ring.Layout{Slots: 256, SlotSize: 2048}

// ErrStale is returned by RoundTrip when Stale reports the session dead.
var ErrStale = errors.New("echo: session is stale (the server restarted)")

// Client talks to an echo server through an endpoint and, once opened, a ring.
type Client struct {
	T       *sys.Task
	EP      abi.Handle
	Timeout time.Duration
	// Stale, if set, is polled while a ring round trip waits: once it
	// returns true (the server restarted, so nobody serves this session any
	// more) the round trip gives up with ErrStale.
	Stale func() bool

	region *shm.Region
	mem    abi.Handle
	sess   *ring.Session
	descs  []ring.Desc
}

// Echo calls the server with data and returns its answer.
func (c *Client) Echo(data []byte) ([]byte, error) {
	r, err := c.T.Call(c.EP, append([]byte{OpEcho}, data...), nil, c.Timeout)
	if err != nil {
		return nil, err
	}
	return r.Payload, nil
}

// Send sends a bare request code (hang, crash, exit, info).
func (c *Client) Send(op byte) ([]byte, error) {
	r, err := c.T.Call(c.EP, []byte{op}, nil, c.Timeout)
	if err != nil {
		return nil, err
	}
	return r.Payload, nil
}

// Open (re)opens the ring session, dropping any previous one.
func (c *Client) Open() error {
	c.Close()
	r, err := c.T.Call(c.EP, []byte{OpSession}, nil, c.Timeout)
	if err != nil {
		return err
	}
	if len(r.Caps) != 1 || r.Caps[0].Handle == 0 {
		return errors.New("echo: session reply carries no memory capability")
	}
	c.mem = r.Caps[0].Handle
	region, err := c.T.MapMemory(c.mem)
	if err != nil {
		return err
	}
	s, err := ring.NewSession(region.Bytes(), Layout, ring.SideB, false)
	if err != nil {
		region.Close()
		return err
	}
	c.region, c.sess = region, s
	c.descs = make([]ring.Desc, Layout.Slots)
	return nil
}

// Close drops the ring session.
func (c *Client) Close() {
	if c.region != nil {
		c.region.Close()
		c.T.Delete(c.mem)
		c.region, c.sess = nil, nil
	}
}

// Session exposes the open session (for benchmarks that batch).
func (c *Client) Session() *ring.Session { return c.sess }

// RoundTrip sends msg through the ring and copies the echo into out,
// returning its length.
func (c *Client) RoundTrip(msg, out []byte, deadline time.Time) (int, error) {
	if c.sess == nil {
		return 0, errors.New("echo: no session open")
	}
	tx, rx := c.sess.Tx(), c.sess.Rx()
	d := c.descs[:1]
	for {
		n, err := tx.Free.Pop(d)
		if err != nil {
			return 0, err
		}
		if n == 1 {
			break
		}
		if err := c.wait(tx.Free, deadline); err != nil {
			return 0, err
		}
	}
	buf, err := tx.Buffer(ring.Desc{Offset: d[0].Offset, Len: uint32(Layout.SlotSize)})
	if err != nil {
		return 0, err
	}
	d[0].Len = uint32(copy(buf, msg))
	if tx.Active.Push(d) != 1 {
		return 0, errors.New("echo: active queue full")
	}
	for {
		n, err := rx.Active.Pop(d)
		if err != nil {
			return 0, err
		}
		if n == 1 {
			break
		}
		if err := c.wait(rx.Active, deadline); err != nil {
			return 0, err
		}
	}
	b, err := rx.Buffer(d[0])
	if err != nil {
		return 0, err
	}
	n := copy(out, b)
	d[0].Len = uint32(Layout.SlotSize)
	if rx.Free.Push(d) != 1 {
		return n, fmt.Errorf("echo: free queue full")
	}
	return n, nil
}

// wait waits for entries in q until deadline, in slices so that Stale is
// looked at while waiting.
func (c *Client) wait(q *ring.Queue[ring.Desc], deadline time.Time) error {
	if c.Stale == nil {
		return q.Wait(deadline)
	}
	for {
		if c.Stale() {
			return ErrStale
		}
		step := time.Now().Add(20 * time.Millisecond)
		if step.After(deadline) {
			step = deadline
		}
		err := q.Wait(step)
		if err == nil || !errors.Is(err, ring.ErrTimeout) || !time.Now().Before(deadline) {
			return err
		}
	}
}
