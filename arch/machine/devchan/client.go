package devchan

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"grailos/kernel/ring"
	"grailos/kernel/shm"
)

// DefaultTimeout bounds how long a client waits for the machine: for the
// attach handshake and for each reply. It is a failure detector (the
// machine is gone or wedged), not a timing assumption: a live machine
// answers in microseconds.
const DefaultTimeout = 10 * time.Second

// wakeSpin bounds the client's extra polling for a reply after it woke a
// sleeping machine: about 150 µs on the reference machine, above the
// ~100 µs a cross-process futex wake-up from idle measured there
// (chanbench: cold read vs. cold socket round trip).
const wakeSpin = 1 << 14

var (
	// ErrTimeout is returned when the machine did not answer in time.
	ErrTimeout = errors.New("devchan: machine did not answer")
	// ErrDetached is returned when another driver has attached to the
	// channel since this client did: the client's requests are void.
	ErrDetached = errors.New("devchan: channel taken over by another attach")
	// ErrClosed is returned by a Client after Close.
	ErrClosed = errors.New("devchan: client closed")
	// ErrCorrupt is returned when the machine's end of a queue is
	// impossible; only a machine bug or a second writer causes it.
	ErrCorrupt = errors.New("devchan: channel corrupt")
)

// PostedError reports posted writes the machine refused, found by Sync.
type PostedError struct {
	Count  uint32 // refused posted writes since the previous report
	Seq    uint64 // Seq of the last one refused
	Status Status // and why
}

func (e *PostedError) Error() string {
	return fmt.Sprintf("devchan: %d posted write(s) refused, last seq %d: %v", e.Count, e.Seq, e.Status)
}

// Unwrap returns the status of the last refused write.
func (e *PostedError) Unwrap() error { return e.Status }

// Client is a driver's end of a channel. Its methods are safe for
// concurrent use (they are serialised: the request queue has one
// producer). The region must stay mapped while the client is used.
type Client struct {
	mu      sync.Mutex
	h       header
	req     *ring.Queue[Request]
	rep     *ring.Queue[Reply]
	bars    [NumBARs]BAR
	cfgSize uint32
	gen     uint32
	timeout time.Duration
	seq     uint64
	posted  uint32 // postedErrs value last reported
	stale   uint64
	closed  bool
}

// Attach attaches to the channel in region (mapped writable) with
// DefaultTimeout. See AttachTimeout.
func Attach(region *shm.Region) (*Client, error) {
	return AttachTimeout(region, DefaultTimeout)
}

// AttachTimeout attaches to the channel in region: it checks the header,
// asks the machine for a new generation and waits (at most timeout) until
// the machine has emptied both queues and reset the function. timeout
// also bounds every later wait for a reply.
func AttachTimeout(region *shm.Region, timeout time.Duration) (*Client, error) {
	if !region.Writable() {
		return nil, errors.New("devchan: attach: region mapped read-only")
	}
	mem := region.Bytes()
	if len(mem) < headerBytes {
		return nil, fmt.Errorf("devchan: attach: region of %d bytes is smaller than the header", len(mem))
	}
	if m := atomic.LoadUint64(word64(mem, offMagic)); m != magic {
		return nil, fmt.Errorf("devchan: attach: magic %#x: not an initialised device channel", m)
	}
	le := binary.LittleEndian
	if v := le.Uint32(mem[offVersion:]); v != version {
		return nil, fmt.Errorf("devchan: attach: version %d, want %d", v, version)
	}
	qcap := int(le.Uint32(mem[offQueueCap:]))
	if err := checkQueueCap(qcap); err != nil {
		return nil, fmt.Errorf("devchan: attach: %w", err)
	}
	reqOff, repOff, total := queueOffsets(qcap)
	if int(le.Uint32(mem[offReqQueue:])) != reqOff || int(le.Uint32(mem[offReplyQueue:])) != repOff || total > len(mem) {
		return nil, fmt.Errorf("devchan: attach: queue layout does not match capacity %d in %d bytes", qcap, len(mem))
	}
	c := &Client{h: newHeader(mem), cfgSize: le.Uint32(mem[offCfgSize:]), timeout: timeout}
	for i := range c.bars {
		size, kind := le.Uint32(mem[offBARs+8*i:]), le.Uint32(mem[offBARs+8*i+4:])
		if kind > barIO || (kind == barNone) != (size == 0) {
			return nil, fmt.Errorf("devchan: attach: BAR%d: size %#x kind %d", i, size, kind)
		}
		c.bars[i] = BAR{Size: size, IO: kind == barIO}
	}
	if err := c.handshake(); err != nil {
		return nil, err
	}
	// The machine reset both queues before acknowledging: adopt the
	// fresh indices now (NewQueue adopts what it finds).
	var err error
	if c.req, err = ring.NewQueue[Request](mem[reqOff:repOff], qcap); err != nil {
		return nil, err
	}
	if c.rep, err = ring.NewQueue[Reply](mem[repOff:total], qcap); err != nil {
		return nil, err
	}
	return c, nil
}

// handshake publishes a fresh nonce in attachReq, wakes the machine
// (unconditionally: see header.kick) and waits until it acknowledges that
// nonce.
func (c *Client) handshake() error {
	old := atomic.LoadUint32(c.h.attachReq)
	nonce := old
	for nonce == old || nonce == 0 || nonce == atomic.LoadUint32(c.h.attachAck) {
		nonce = rand.Uint32()
	}
	atomic.StoreUint32(c.h.attachReq, nonce)
	c.h.kick()
	deadline := time.Now().Add(c.timeout)
	for {
		ack := atomic.LoadUint32(c.h.attachAck)
		if ack == nonce {
			c.gen = atomic.LoadUint32(c.h.gen)
			c.posted = 0
			return nil
		}
		left := time.Until(deadline)
		if left <= 0 {
			if atomic.LoadUint32(c.h.attachReq) != nonce {
				return ErrDetached
			}
			return fmt.Errorf("devchan: attach: %w within %v", ErrTimeout, c.timeout)
		}
		shm.FutexWait(c.h.attachAck, ack, left)
	}
}

// BARs returns the function's BAR table as the machine published it.
func (c *Client) BARs() [NumBARs]BAR { return c.bars }

// ConfigSize returns the size of the function's configuration space.
func (c *Client) ConfigSize() uint32 { return c.cfgSize }

// Generation returns the generation this client attached as.
func (c *Client) Generation() uint32 { return c.gen }

// SetTimeout changes how long the client waits for a reply.
func (c *Client) SetTimeout(d time.Duration) {
	c.mu.Lock()
	c.timeout = d
	c.mu.Unlock()
}

// MMIORead reads size bytes (1, 2, 4 or 8) at off in memory BAR bar and
// waits for the value. A refused read returns all-ones and the Status.
func (c *Client) MMIORead(bar int, off uint32, size int) (uint64, error) {
	return c.read(OpMMIORead, bar, off, size)
}

// MMIOWrite posts a write of the low size bytes of v at off in memory BAR
// bar. It does not wait: writes are performed in order, before any later
// request. A refusal is reported by the next Sync.
func (c *Client) MMIOWrite(bar int, off uint32, size int, v uint64) error {
	r, err := encode(OpMMIOWrite, bar, off, size, v)
	if err != nil {
		return err
	}
	return c.Post(r)
}

// IORead reads size bytes (1, 2 or 4) at off in I/O BAR bar.
func (c *Client) IORead(bar int, off uint32, size int) (uint32, error) {
	v, err := c.read(OpIORead, bar, off, size)
	return uint32(v), err
}

// IOWrite writes the low size bytes of v at off in I/O BAR bar and waits
// for completion (I/O writes are not posted).
func (c *Client) IOWrite(bar int, off uint32, size int, v uint32) error {
	_, err := c.access(OpIOWrite, bar, off, size, uint64(v))
	return err
}

// ConfigRead reads size bytes (1, 2 or 4) of configuration space at off.
func (c *Client) ConfigRead(off uint32, size int) (uint32, error) {
	v, err := c.read(OpConfigRead, 0, off, size)
	return uint32(v), err
}

// ConfigWrite writes the low size bytes of v to configuration space at
// off and waits for completion (configuration writes are not posted).
func (c *Client) ConfigWrite(off uint32, size int, v uint32) error {
	_, err := c.access(OpConfigWrite, 0, off, size, uint64(v))
	return err
}

// Sync waits until the machine has performed every earlier request, and
// reports posted writes refused since the previous report (*PostedError).
func (c *Client) Sync() error {
	rep, err := c.Call(Request{Op: OpSync})
	if err != nil {
		return err
	}
	if rep.Status != StatusOK {
		return rep.Status
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	n := atomic.LoadUint32(c.h.postedErrs)
	if n == c.posted {
		return nil
	}
	e := &PostedError{Count: n - c.posted, Seq: atomic.LoadUint64(c.h.lastSeq), Status: Status(atomic.LoadUint32(c.h.lastSt))}
	c.posted = n
	return e
}

// IRQLevel reports the interrupt line's current level. A driver checks it
// after its interrupt handler: a level-triggered line that is still high
// signals no new edge.
func (c *Client) IRQLevel() bool { return atomic.LoadUint32(c.h.irqLevel) != 0 }

// IRQEdges returns the number of rising edges of the line since the
// channel was created (it wraps).
func (c *Client) IRQEdges() uint32 { return atomic.LoadUint32(c.h.irqEdges) }

// Stale returns how many replies to requests this client had given up on
// (or that were sent by Post) were discarded.
func (c *Client) Stale() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stale
}

// Post sends r as it is (the client assigns Seq) without waiting for a
// reply. It is the path of posted writes, and of deliberately malformed
// requests in fault-injection runs; a reply to a non-posted op sent this
// way is discarded when it arrives.
func (c *Client) Post(r Request) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return ErrClosed
	}
	c.seq++
	r.Seq = c.seq
	_, err := c.push(r)
	return err
}

// Call sends r as it is (the client assigns Seq) and waits for its reply.
// The error reports only transport failures; the reply's Status says
// whether the machine performed the request. Posted ops have no reply:
// Call refuses them.
func (c *Client) Call(r Request) (Reply, error) {
	if r.Op.Posted() {
		return Reply{}, fmt.Errorf("devchan: %v is posted and has no reply", r.Op)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return Reply{}, ErrClosed
	}
	c.seq++
	r.Seq = c.seq
	woke, err := c.push(r)
	if err != nil {
		return Reply{}, err
	}
	deadline := time.Now().Add(c.timeout)
	// If the machine was asleep, its wake-up takes longer than the
	// queue's own spin, and sleeping would add a second wake-up (ours)
	// to the round trip: poll up to wakeSpin times first.
	spin := 0
	if woke {
		spin = wakeSpin
	}
	var rep [1]Reply
	for {
		n, err := c.rep.Pop(rep[:])
		if err != nil {
			return Reply{}, fmt.Errorf("%w: %v", ErrCorrupt, err)
		}
		if n == 1 {
			if rep[0].Seq == r.Seq {
				return rep[0], nil
			}
			c.stale++ // a reply to a request given up on, or sent by Post
			continue
		}
		if spin > 0 {
			if spin--; spin%256 == 0 {
				shm.Yield()
			}
			continue
		}
		if err := c.rep.Wait(deadline); err != nil {
			return Reply{}, c.lost(err)
		}
	}
}

// Close ends the client; later calls fail with ErrClosed. The channel and
// the region are left as they are for the next driver.
func (c *Client) Close() error {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	return nil
}

func (c *Client) read(op Op, bar int, off uint32, size int) (uint64, error) {
	return c.access(op, bar, off, size, 0)
}

func (c *Client) access(op Op, bar int, off uint32, size int, v uint64) (uint64, error) {
	r, err := encode(op, bar, off, size, v)
	if err != nil {
		return ^uint64(0), err
	}
	rep, err := c.Call(r)
	if err != nil {
		return ^uint64(0), err
	}
	if rep.Status != StatusOK {
		return rep.Value, fmt.Errorf("%v bar %d offset %#x size %d: %w", op, bar, off, size, rep.Status)
	}
	return rep.Value, nil
}

// encode builds a request; it refuses only what the request cannot
// express (the machine validates the rest).
func encode(op Op, bar int, off uint32, size int, v uint64) (Request, error) {
	if bar < 0 || bar > 0xFF {
		return Request{}, fmt.Errorf("%v bar %d: %w", op, bar, StatusBadBAR)
	}
	if size < 0 || size > 0xFF {
		return Request{}, fmt.Errorf("%v size %d: %w", op, size, StatusBadSize)
	}
	return Request{Op: op, BAR: uint8(bar), Offset: off, Size: uint8(size), Value: v}, nil
}

// push appends r to the request queue, waiting for space if the machine
// is behind, and rings the doorbell. It reports whether the machine was
// asleep.
func (c *Client) push(r Request) (bool, error) {
	one := [1]Request{r}
	var deadline time.Time
	for c.req.Push(one[:]) == 0 {
		if err := c.req.Err(); err != nil {
			return false, fmt.Errorf("%w: %v", ErrCorrupt, err)
		}
		if deadline.IsZero() {
			deadline = time.Now().Add(c.timeout)
		}
		c.h.ring()
		if err := c.req.WaitSpace(deadline); err != nil {
			return false, c.lost(err)
		}
	}
	return c.h.ring(), nil
}

// lost explains a failed wait: another driver attached, or the machine
// did not answer.
func (c *Client) lost(err error) error {
	if atomic.LoadUint32(c.h.gen) != c.gen {
		return ErrDetached
	}
	if errors.Is(err, ring.ErrTimeout) {
		return fmt.Errorf("%w within %v", ErrTimeout, c.timeout)
	}
	return fmt.Errorf("%w: %v", ErrCorrupt, err)
}
