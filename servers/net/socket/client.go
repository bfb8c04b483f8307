package socket

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"grailos/kernel/ring"
)

// ErrNoReply is returned when the server did not answer a request within
// ReplyTimeout of its cancellation, or the session was closed.
var ErrNoReply = errors.New("socket session: no reply from the net server")

// Client is the client's half of a session. It is safe for concurrent use:
// requests are pushed under a mutex, and one reader goroutine hands each
// reply to the call waiting for its tag, copying the payload straight into
// the buffers that call supplied.
type Client struct {
	st   status
	sess *ring.Session

	txMu sync.Mutex // the request ring's producer end
	txd  []ring.Desc

	mu    sync.Mutex // calls, tag
	calls map[uint32]*Call
	tag   uint32

	closed atomic.Bool
	done   chan struct{}
}

// Call is one request in flight.
type Call struct {
	c              *Client
	handle, tag    uint32
	outPrefix, out []byte
	reply          Header
	n              int
	done           chan struct{}
	prefixN        int
}

// NewClient attaches to a session the server laid out in mem and starts the
// reader goroutine. mem must stay mapped until Close.
func NewClient(mem []byte) (*Client, error) {
	if len(mem) < Bytes() {
		return nil, fmt.Errorf("socket session: %d bytes of memory, need %d", len(mem), Bytes())
	}
	c := &Client{st: status{mem[:statusBytes]}, txd: make([]ring.Desc, 1), calls: map[uint32]*Call{}, done: make(chan struct{})}
	if _, err := c.st.read(); err != nil {
		return nil, err
	}
	sess, err := ring.NewSession(mem[statusBytes:], Layout, ring.SideB, false)
	if err != nil {
		return nil, err
	}
	c.sess = sess
	go c.read()
	return c, nil
}

// Status reads the status block.
func (c *Client) Status() (Status, error) { return c.st.read() }

// Close stops the reader; calls still waiting fail with ErrNoReply.
func (c *Client) Close() {
	if c.closed.CompareAndSwap(false, true) {
		<-c.done
	}
}

// Start sends a request whose payload is prefix followed by data. The
// reply's payload will be copied into outPrefix first, the rest into out.
func (c *Client) Start(h Header, prefix, data, outPrefix, out []byte) (*Call, error) {
	n := len(prefix) + len(data)
	if n > MaxPayload {
		return nil, fmt.Errorf("socket session: payload of %d bytes (max %d)", n, MaxPayload)
	}
	call := &Call{c: c, handle: h.Handle, outPrefix: outPrefix, out: out, done: make(chan struct{})}
	c.mu.Lock()
	for {
		c.tag++
		if _, busy := c.calls[c.tag]; c.tag != 0 && !busy {
			break
		}
	}
	call.tag = c.tag
	c.calls[call.tag] = call
	c.mu.Unlock()
	h.Tag, h.Len = call.tag, uint32(n)
	err := c.push(func(b []byte) int {
		h.Put(b)
		k := copy(b[HeaderSize:], prefix)
		copy(b[HeaderSize+k:], data)
		return HeaderSize + n
	})
	if err != nil {
		c.forget(call.tag)
		return nil, err
	}
	return call, nil
}

func (c *Client) forget(tag uint32) {
	c.mu.Lock()
	delete(c.calls, tag)
	c.mu.Unlock()
}

// push fills one free request slot with fill and hands it to the server.
func (c *Client) push(fill func(b []byte) int) error {
	c.txMu.Lock()
	defer c.txMu.Unlock()
	tx := c.sess.Tx()
	deadline := time.Now().Add(ReplyTimeout)
	for {
		n, err := tx.Free.Pop(c.txd)
		if err != nil {
			return err
		}
		if n == 1 {
			break
		}
		if c.closed.Load() {
			return ErrNoReply
		}
		if err := tx.Free.Wait(deadline); err != nil {
			return fmt.Errorf("socket session: no free request slot: %w", err)
		}
	}
	buf, err := tx.Buffer(ring.Desc{Offset: c.txd[0].Offset, Len: uint32(Layout.SlotSize)})
	if err != nil {
		return err
	}
	c.txd[0].Len = uint32(fill(buf))
	tx.Active.Push(c.txd)
	return nil
}

// Wait waits for the reply. When cancel is closed first, it asks the
// server to answer now (OpCancel) and then still waits for the reply, which
// is ECANCELED or, if the request had completed meanwhile, its real answer.
// It returns the reply header and the bytes copied into out (after the
// prefix).
func (call *Call) Wait(cancel <-chan struct{}) (Header, int, error) {
	select {
	case <-call.done:
		return call.reply, call.n, nil
	case <-call.c.done:
		return Header{}, 0, ErrNoReply
	case <-cancel:
	}
	call.c.push(func(b []byte) int {
		Header{Op: OpCancel, Handle: call.handle, Arg: uint64(call.tag)}.Put(b)
		return HeaderSize
	})
	t := time.NewTimer(ReplyTimeout)
	defer t.Stop()
	select {
	case <-call.done:
		return call.reply, call.n, nil
	case <-call.c.done:
	case <-t.C:
	}
	call.c.forget(call.tag)
	return Header{}, 0, ErrNoReply
}

// PrefixLen returns how many reply bytes went into outPrefix.
func (call *Call) PrefixLen() int { return call.prefixN }

// Do is Start then Wait.
func (c *Client) Do(h Header, prefix, data, outPrefix, out []byte, cancel <-chan struct{}) (Header, int, error) {
	call, err := c.Start(h, prefix, data, outPrefix, out)
	if err != nil {
		return Header{}, 0, err
	}
	return call.Wait(cancel)
}

// Exchange sends msg verbatim (a test of the server's validation: its len
// field may lie) as request tag msg[8:12] and waits up to timeout for the
// reply, whose payload goes to out.
func (c *Client) Exchange(msg []byte, out []byte, timeout time.Duration) (Header, int, error) {
	if len(msg) < HeaderSize || len(msg) > Layout.SlotSize {
		return Header{}, 0, fmt.Errorf("socket session: raw message of %d bytes", len(msg))
	}
	h, _ := DecodeHeader(msg)
	call := &Call{c: c, handle: h.Handle, tag: h.Tag, out: out, done: make(chan struct{})}
	c.mu.Lock()
	c.calls[h.Tag] = call
	c.mu.Unlock()
	if err := c.push(func(b []byte) int { return copy(b, msg) }); err != nil {
		c.forget(h.Tag)
		return Header{}, 0, err
	}
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-call.done:
		return call.reply, call.n, nil
	case <-t.C:
		c.forget(h.Tag)
		return Header{}, 0, ErrNoReply
	}
}

// PushDesc pushes a descriptor as is, naming whatever it names (a test of
// the server's validation).
func (c *Client) PushDesc(d ring.Desc) {
	c.txMu.Lock()
	defer c.txMu.Unlock()
	c.sess.Tx().Active.Push([]ring.Desc{d})
}

// read is the reader goroutine: it pops replies in batches and completes
// the calls they answer.
func (c *Client) read() {
	defer close(c.done)
	rx := c.sess.Rx()
	ds := make([]ring.Desc, 32)
	for !c.closed.Load() {
		n, err := rx.Active.Pop(ds)
		if err != nil {
			return
		}
		if n == 0 {
			rx.Active.Wait(time.Now().Add(200 * time.Millisecond))
			continue
		}
		for i := range n {
			if buf, err := rx.Buffer(ds[i]); err == nil {
				c.complete(buf)
			}
			ds[i].Len = uint32(Layout.SlotSize)
		}
		rx.Free.Push(ds[:n])
	}
}

func (c *Client) complete(msg []byte) {
	h, err := DecodeHeader(msg)
	if err != nil {
		return
	}
	c.mu.Lock()
	call := c.calls[h.Tag]
	delete(c.calls, h.Tag)
	c.mu.Unlock()
	if call == nil {
		return
	}
	p := msg[HeaderSize:]
	call.prefixN = copy(call.outPrefix, p)
	call.n = copy(call.out, p[call.prefixN:])
	call.reply = h
	close(call.done)
}

// Err turns a reply status into an error: nil or a syscall.Errno.
func Err(status uint16) error {
	if status == 0 {
		return nil
	}
	return syscall.Errno(status)
}
