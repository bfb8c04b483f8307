package ring

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// Desc describes one buffer in a direction's data area. It is the entry
// type of both the free and the active queue (16 bytes, no padding).
type Desc struct {
	Offset uint32 // byte offset of the buffer's slot in the data area
	Len    uint32 // bytes used; at most the slot size
	Cookie uint64 // opaque to the ring; the producer's tag, echoed back
}

// ErrBadDesc is returned (wrapped) by Direction.Buffer for a descriptor
// that does not name a slot of the data area.
var ErrBadDesc = errors.New("ring: bad descriptor")

// Side names the two ends of a session. Side A creates and initialises the
// shared memory; side B attaches to it.
type Side uint8

const (
	SideA Side = iota
	SideB
)

func (s Side) String() string {
	switch s {
	case SideA:
		return "A"
	case SideB:
		return "B"
	}
	return fmt.Sprintf("Side(%d)", uint8(s))
}

// Layout is the shape of one direction's data area: Slots buffers of
// SlotSize bytes each. Both directions of a session share it. Both sides
// must agree on it; it is not read from shared memory (the copy in the
// session header is only checked).
type Layout struct {
	Slots    int // number of buffers, 1..MaxCapacity
	SlotSize int // bytes per buffer, >= 1
}

// maxDataBytes bounds one direction's data area so that every Offset+Len
// fits in a uint32 with room to spare.
const maxDataBytes = 1 << 31

func (l Layout) validate() error {
	if l.Slots < 1 || l.Slots > MaxCapacity {
		return fmt.Errorf("ring: layout: %d slots, want 1..%d", l.Slots, MaxCapacity)
	}
	if l.SlotSize < 1 || l.SlotSize > maxDataBytes/l.Slots {
		return fmt.Errorf("ring: layout: %d slots of %d bytes exceed %d bytes", l.Slots, l.SlotSize, maxDataBytes)
	}
	return nil
}

// queueCap is the capacity of every queue of a session: the smallest power
// of two that holds all slots, so returning every buffer never blocks.
func (l Layout) queueCap() int {
	c := 1
	for c < l.Slots {
		c <<= 1
	}
	return c
}

// Session memory layout. Every part starts on a cache line.
//
//	0            session header (sessionHeaderBytes)
//	q0 = 64      A→B free queue    Queue[Desc], cap = queueCap
//	q0 + 1·qb    A→B active queue
//	q0 + 2·qb    B→A free queue
//	q0 + 3·qb    B→A active queue
//	d0 = q0+4·qb A→B data area     Slots × SlotSize
//	d0 + db      B→A data area
//
// qb and db are the queue and data sizes rounded up to 64 bytes.
type sessionLayout struct {
	qcap, qb, db int
}

const (
	sessionHeaderBytes = cacheLine
	sessionMagic       = 0x474e524c49415247 // "GRAILRNG" stored little-endian
	sessionVersion     = 1
)

func roundLine(n int) int { return (n + cacheLine - 1) &^ (cacheLine - 1) }

func (l Layout) session() sessionLayout {
	qcap := l.queueCap()
	return sessionLayout{
		qcap: qcap,
		qb:   roundLine(QueueBytes[Desc](qcap)),
		db:   roundLine(l.Slots * l.SlotSize),
	}
}

// SessionBytes returns the size of the shared memory a session with
// layout l needs: a header, four queues and two data areas.
func SessionBytes(l Layout) (int, error) {
	if err := l.validate(); err != nil {
		return 0, err
	}
	s := l.session()
	total := uint64(sessionHeaderBytes) + 4*uint64(s.qb) + 2*uint64(s.db)
	if total > math.MaxInt {
		return 0, fmt.Errorf("ring: layout %+v too large", l)
	}
	return int(total), nil
}

// Direction is one end of one direction of a session: the free queue
// (consumer → producer: empty buffers), the active queue (producer →
// consumer: filled buffers) and the data area their descriptors point into.
//
// On the sending end (Session.Tx), this side is the producer:
//
//	Free.Wait / Free.Pop     take empty buffers
//	set d.Len, Buffer(d)     fill them
//	Active.Push              hand them over (wakes the peer if it sleeps)
//
// On the receiving end (Session.Rx), this side is the consumer:
//
//	Active.Wait / Active.Pop take filled buffers
//	Buffer(d)                read them (copy before validating contents:
//	                         the peer can still write the shared bytes)
//	Free.Push                give them back
//
// Descriptors popped from either queue come from the peer and are
// untrusted; Buffer validates them.
type Direction struct {
	Free   *Queue[Desc]
	Active *Queue[Desc]
	data   []byte
	layout Layout
}

// Buffer returns the Len bytes of the slot d names. It fails with
// ErrBadDesc unless d.Offset is the start of a slot of the data area and
// d.Len is at most the slot size. The slice's capacity ends at d.Len, so
// appending cannot spill into the next slot.
func (d *Direction) Buffer(desc Desc) ([]byte, error) {
	size := uint32(d.layout.SlotSize)
	if desc.Offset%size != 0 || int(desc.Offset/size) >= d.layout.Slots {
		return nil, fmt.Errorf("%w: offset %d is not a slot of %d×%d bytes",
			ErrBadDesc, desc.Offset, d.layout.Slots, size)
	}
	if desc.Len > size {
		return nil, fmt.Errorf("%w: length %d exceeds slot size %d", ErrBadDesc, desc.Len, size)
	}
	end := desc.Offset + desc.Len
	return d.data[desc.Offset:end:end], nil
}

// Layout returns the shape of the data area.
func (d *Direction) Layout() Layout { return d.layout }

// Session is one side's view of a two-direction session in one shared
// memory area. Tx carries data from this side to the peer, Rx from the
// peer to this side.
type Session struct {
	side   Side
	layout Layout
	tx, rx *Direction
}

// NewSession carves a session out of mem, which must be at least
// SessionBytes(l) long and 64-byte aligned (a mapped shm.Region is). mem
// must stay mapped for the session's lifetime; the session does not own it.
//
// With init, side A (only A may) initialises the memory: it resets all
// four queues, fills both free queues with every slot (Len = SlotSize) and
// writes the header, all before the memory is shared. Without init, the
// caller attaches to an initialised area; the header must match l and
// each end adopts the indices it finds, so a restarted side can reattach.
func NewSession(mem []byte, l Layout, side Side, init bool) (*Session, error) {
	if side != SideA && side != SideB {
		return nil, fmt.Errorf("ring: session: invalid side %v", side)
	}
	if init && side != SideA {
		return nil, fmt.Errorf("ring: session: only side A initialises, not side %v", side)
	}
	need, err := SessionBytes(l)
	if err != nil {
		return nil, err
	}
	if len(mem) < need {
		return nil, fmt.Errorf("ring: session memory %d bytes, need %d for %+v", len(mem), need, l)
	}
	if a := addrOf(mem); a%cacheLine != 0 {
		return nil, fmt.Errorf("ring: session memory at %#x not %d-byte aligned", a, cacheLine)
	}
	sl := l.session()
	if !init {
		if err := checkHeader(mem, l, sl); err != nil {
			return nil, err
		}
	}
	var q [4]*Queue[Desc]
	for i := range q {
		off := sessionHeaderBytes + i*sl.qb
		if q[i], err = NewQueue[Desc](mem[off:off+sl.qb], sl.qcap); err != nil {
			return nil, err
		}
	}
	d0 := sessionHeaderBytes + 4*sl.qb
	ab := &Direction{Free: q[0], Active: q[1], data: mem[d0 : d0+sl.db], layout: l}
	ba := &Direction{Free: q[2], Active: q[3], data: mem[d0+sl.db : d0+2*sl.db], layout: l}
	if init {
		for _, d := range []*Direction{ab, ba} {
			d.Free.Reset()
			d.Active.Reset()
			if err := fillFree(d); err != nil {
				return nil, err
			}
		}
		putHeader(mem, l, sl)
	}
	s := &Session{side: side, layout: l, tx: ab, rx: ba}
	if side == SideB {
		s.tx, s.rx = ba, ab
	}
	return s, nil
}

// fillFree pushes every slot of d onto its free queue.
func fillFree(d *Direction) error {
	var batch [64]Desc
	for i := 0; i < d.layout.Slots; {
		n := min(len(batch), d.layout.Slots-i)
		for j := range n {
			batch[j] = Desc{Offset: uint32((i + j) * d.layout.SlotSize), Len: uint32(d.layout.SlotSize)}
		}
		if got := d.Free.Push(batch[:n]); got != n {
			return fmt.Errorf("ring: session init: pushed %d of %d free slots", i+got, d.layout.Slots)
		}
		i += n
	}
	return nil
}

// The header records the layout so a side attaching with a different one
// fails loudly instead of misreading the queues. It is written by side A
// after everything else and only read at attach time.
func putHeader(mem []byte, l Layout, sl sessionLayout) {
	binary.LittleEndian.PutUint64(mem[0:], sessionMagic)
	binary.LittleEndian.PutUint32(mem[8:], sessionVersion)
	binary.LittleEndian.PutUint32(mem[12:], uint32(l.Slots))
	binary.LittleEndian.PutUint32(mem[16:], uint32(l.SlotSize))
	binary.LittleEndian.PutUint32(mem[20:], uint32(sl.qcap))
}

func checkHeader(mem []byte, l Layout, sl sessionLayout) error {
	magic := binary.LittleEndian.Uint64(mem[0:])
	version := binary.LittleEndian.Uint32(mem[8:])
	slots := binary.LittleEndian.Uint32(mem[12:])
	slotSize := binary.LittleEndian.Uint32(mem[16:])
	qcap := binary.LittleEndian.Uint32(mem[20:])
	if magic != sessionMagic || version != sessionVersion {
		return fmt.Errorf("ring: session header: magic %#x version %d, want %#x version %d (not initialised?)",
			magic, version, uint64(sessionMagic), sessionVersion)
	}
	if int(slots) != l.Slots || int(slotSize) != l.SlotSize || int(qcap) != sl.qcap {
		return fmt.Errorf("ring: session header: layout %d×%d (queue cap %d), want %d×%d (queue cap %d)",
			slots, slotSize, qcap, l.Slots, l.SlotSize, sl.qcap)
	}
	return nil
}

// Side returns which side of the session this is.
func (s *Session) Side() Side { return s.side }

// Layout returns the session's data-area shape.
func (s *Session) Layout() Layout { return s.layout }

// Tx returns the direction this side sends on (A→B for side A).
func (s *Session) Tx() *Direction { return s.tx }

// Rx returns the direction this side receives on (B→A for side A).
func (s *Session) Rx() *Direction { return s.rx }
