package hw

import (
	"fmt"
	"sort"
)

// EventKind classifies a problem a device model reports.
type EventKind uint8

// Event kinds; a model uses those that apply to it.
const (
	EventDMARefused      EventKind = iota + 1 // DMA outside the pool or with bus mastering off
	EventRingInvalid                          // ring base/length/head/tail malformed; the ring stops
	EventBadDescriptor                        // descriptor the model cannot honour; packet dropped or aborted
	EventWireError                            // Wire.Send failed; the frame is lost
	EventBadAccess                            // register access of a bad size, alignment or offset
	EventUnknownRegister                      // first access to a register the model does not know
)

var eventNames = [...]string{"", "dma-refused", "ring-invalid", "bad-descriptor", "wire-error", "bad-access", "unknown-register"}

func (k EventKind) String() string {
	if int(k) < len(eventNames) && k != 0 {
		return eventNames[k]
	}
	return fmt.Sprintf("event(%d)", k)
}

// Event describes one reported problem.
type Event struct {
	Kind EventKind
	Ring string // "tx", "rx" or "" (register access)
	Addr uint64 // bus address for DMA, register offset for accesses
	Len  int    // bytes of the refused DMA or access size
	What string // what the device was doing
	Err  error  // underlying error from DMA or Wire, if any
}

func (e Event) String() string {
	s := fmt.Sprintf("%s: %s", e.Kind, e.What)
	if e.Ring != "" {
		s = e.Ring + " " + s
	}
	if e.Kind == EventDMARefused || e.Len != 0 {
		s += fmt.Sprintf(" (addr %#x len %d)", e.Addr, e.Len)
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// UnknownAccess is one entry of a model's debug list of unmodelled
// registers.
type UnknownAccess struct {
	Off       uint32
	Reads     uint64
	Writes    uint64
	LastWrite uint32
}

// UnknownRegisters records accesses to registers a model does not know
// (they read 0 and drop writes). Not safe for concurrent use: the model
// calls it under its lock. The zero value is ready.
type UnknownRegisters struct {
	m map[uint32]*UnknownAccess
}

// Note records one access. The first access to an offset returns the
// event to report (ok true): an EventUnknownRegister of length size
// naming the offset with digits hex digits.
func (u *UnknownRegisters) Note(off uint32, size, digits int, write bool, v uint32) (e Event, first bool) {
	if u.m == nil {
		u.m = map[uint32]*UnknownAccess{}
	}
	a, ok := u.m[off]
	if !ok {
		a = &UnknownAccess{Off: off}
		u.m[off] = a
		op := "read"
		if write {
			op = "write"
		}
		e = Event{Kind: EventUnknownRegister, Addr: uint64(off), Len: size,
			What: fmt.Sprintf("first %s of unmodelled register %#0*x", op, digits, off)}
	}
	if write {
		a.Writes++
		a.LastWrite = v
	} else {
		a.Reads++
	}
	return e, !ok
}

// List returns the recorded accesses, sorted by offset.
func (u *UnknownRegisters) List() []UnknownAccess {
	out := make([]UnknownAccess, 0, len(u.m))
	for _, a := range u.m {
		out = append(out, *a)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Off < out[j].Off })
	return out
}
