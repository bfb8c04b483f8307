package hw

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
)

// Device misbehaviour (grail inject's device class): a model can be told
// to misbehave for a few events of one kind, counted from arming. Each
// model hooks the events in one file (fault.go) and keeps an Injector
// under its lock; the meaning of an event per kind and model is written
// there and in docs/fault-injection.md.

// FaultKind is one kind of device misbehaviour.
type FaultKind uint8

// Kinds of misbehaviour and the events they count.
const (
	// FaultIRQStuck: reads of the interrupt status register (the
	// handler's acknowledgement). At each faulty one the line is held
	// asserted regardless of the causes and re-raised (a new edge): a
	// screaming interrupt.
	FaultIRQStuck FaultKind = iota + 1
	// FaultIRQLost: assertions of the interrupt line. A faulty one does
	// not happen: the line stays low and the device behaves as if it had
	// never tried, so the next cause tries again.
	FaultIRQLost
	// FaultRegGarbage: reads of one register (or of any). A faulty one
	// returns a seeded random value instead of the register's (its read
	// side effects still happen).
	FaultRegGarbage
	// FaultDMADrop: received frames. For a faulty one the device writes
	// the descriptor (or ring header) back as done but drops the DMA
	// write of the frame's data: the buffer keeps what it held.
	FaultDMADrop
	// FaultDMADup: transmitted frames. A faulty one is put on the wire
	// twice.
	FaultDMADup
)

var faultKindNames = [...]string{"", "irq-stuck", "irq-lost", "reg-garbage", "dma-drop", "dma-dup"}

func (k FaultKind) String() string {
	if int(k) < len(faultKindNames) && k != 0 {
		return faultKindNames[k]
	}
	return fmt.Sprintf("fault(%d)", k)
}

// FaultKinds lists every kind's name.
func FaultKinds() []string { return append([]string(nil), faultKindNames[1:]...) }

// ParseFaultKind returns the kind called s.
func ParseFaultKind(s string) (FaultKind, error) {
	for i, n := range faultKindNames {
		if i > 0 && n == s {
			return FaultKind(i), nil
		}
	}
	return 0, fmt.Errorf("unknown device fault %q (%s)", s, strings.Join(FaultKinds(), ", "))
}

// AnyRegister is Fault.Reg for every register (FaultRegGarbage).
const AnyRegister = -1

// MaxFaultEvents bounds Nth and Count.
const MaxFaultEvents = 1 << 20

// Fault is one armed misbehaviour: events Nth .. Nth+Count-1 of its kind,
// counted from arming (1 is the next), misbehave.
type Fault struct {
	ID    string
	Kind  FaultKind
	Nth   int
	Count int
	Reg   int64  // FaultRegGarbage: the register's offset in the BAR, or AnyRegister
	Seed  uint64 // FaultRegGarbage: chooses the values
}

// Validate checks f.
func (f *Fault) Validate() error {
	switch {
	case f.ID == "" || len(f.ID) > 48 || strings.ContainsAny(f.ID, " =\n"):
		return fmt.Errorf("fault id %q: 1 to 48 characters, no spaces or '='", f.ID)
	case f.Kind < FaultIRQStuck || f.Kind > FaultDMADup:
		return fmt.Errorf("fault %s: unknown kind %d", f.ID, f.Kind)
	case f.Nth < 1 || f.Nth > MaxFaultEvents || f.Count < 1 || f.Count > MaxFaultEvents:
		return fmt.Errorf("fault %s: events %d (+%d): from 1, 1 to %d of them", f.ID, f.Nth, f.Count, MaxFaultEvents)
	case f.Kind == FaultRegGarbage && (f.Reg < AnyRegister || f.Reg >= 1<<20):
		return fmt.Errorf("fault %s: register %#x out of range", f.ID, f.Reg)
	case f.Kind != FaultRegGarbage && (f.Reg != 0 || f.Seed != 0):
		return fmt.Errorf("fault %s: a register and a seed are for reg-garbage only", f.ID)
	}
	return nil
}

// Fault progress, as a FaultReport hears it.
const (
	FaultArmed = "armed" // Arm took it
	FaultFired = "fired" // the first faulty event happened
	FaultDone  = "done"  // it is over: the event after the last faulty one behaved, or it was disarmed
)

// FaultReport hears a fault's progress. The model calls it with its lock
// held: it must not call back into the model.
type FaultReport func(id, state, detail string)

// ErrFaultArmed is Arm's error while another fault is armed.
var ErrFaultArmed = errors.New("another device fault is armed")

// Injector is a model's armed fault. It is not safe for concurrent use:
// the model calls it under its lock. The zero value has none armed.
type Injector struct {
	f      Fault
	report FaultReport
	armed  bool
	seen   int // events of the fault's kind since arming
}

// Arm arms f (valid, Validate) and reports it armed. One fault at a time:
// while another is armed it returns ErrFaultArmed.
func (in *Injector) Arm(f Fault, report FaultReport) error {
	if err := f.Validate(); err != nil {
		return err
	}
	if in.armed {
		return fmt.Errorf("%w (%s)", ErrFaultArmed, in.f.ID)
	}
	*in = Injector{f: f, report: report, armed: true}
	in.say(FaultArmed, fmt.Sprintf("%s: events %d to %d", f.Kind, f.Nth, f.Nth+f.Count-1))
	return nil
}

// Disarm ends an armed fault, reported done with why.
func (in *Injector) Disarm(why string) {
	if in.armed {
		in.say(FaultDone, fmt.Sprintf("%s: %s after %d events", in.f.Kind, why, in.seen))
		*in = Injector{}
	}
}

// Armed returns the armed fault's kind, or 0.
func (in *Injector) Armed() FaultKind {
	if !in.armed {
		return 0
	}
	return in.f.Kind
}

// Hit counts an event of kind k (what names it for the reports; reg is
// the register a read is of, for FaultRegGarbage) and says whether it
// misbehaves. The first faulty event reports fired; the first event
// after the last faulty one reports done and disarms.
func (in *Injector) Hit(k FaultKind, reg uint32, what string) bool {
	if !in.armed || in.f.Kind != k || (k == FaultRegGarbage && in.f.Reg != AnyRegister && uint32(in.f.Reg) != reg) {
		return false
	}
	in.seen++
	last := in.f.Nth + in.f.Count - 1
	switch {
	case in.seen < in.f.Nth:
		return false
	case in.seen > last:
		in.say(FaultDone, fmt.Sprintf("%s: %s %d behaved after %d faulty", k, what, in.seen, in.f.Count))
		*in = Injector{}
		return false
	case in.seen == in.f.Nth:
		in.say(FaultFired, fmt.Sprintf("%s: %s %d", k, what, in.seen))
	}
	return true
}

// Garbage is the value of a faulty register read: seeded by the fault and
// the read's place among the faulty ones, so a replay reads the same.
// Call it right after a Hit that returned true.
func (in *Injector) Garbage() uint32 {
	return uint32(rand.New(rand.NewPCG(in.f.Seed, uint64(in.seen))).Uint64())
}

func (in *Injector) say(state, detail string) {
	if in.report != nil {
		in.report(in.f.ID, state, detail)
	}
}

// Misbehaviour is a device model's whole part of device faults: the armed
// fault (Injector) and the interrupt line an irq-stuck fault holds up. Not
// safe for concurrent use: the model calls it under its lock.
type Misbehaviour struct {
	Injector
	stuck bool // the line is held asserted (irq-stuck)
}

// Drive sets line (nil: not wired) to level, held up while it is stuck.
func (m *Misbehaviour) Drive(line IRQ, level bool) {
	if line != nil {
		line.Set(level || m.stuck)
	}
}

// AssertLost reports whether an assertion of the line is swallowed
// (irq-lost).
func (m *Misbehaviour) AssertLost() bool { return m.Hit(FaultIRQLost, 0, "assertion") }

// StatusRead follows a read of the interrupt status register (what names
// it in the reports): at a faulty one (irq-stuck) the line falls and rises
// again, a new edge, and stays up; the first read after the faulty ones
// lets it follow level again.
func (m *Misbehaviour) StatusRead(what string, line IRQ, level bool) {
	switch {
	case m.Hit(FaultIRQStuck, 0, what):
		m.stuck = true
		if line != nil {
			line.Set(false)
			line.Set(true)
		}
	case m.stuck:
		m.stuck = false
		m.Drive(line, level)
	}
}

// Garbled returns v, the value of a size-byte read of register reg, or
// garbage for a faulty one (reg-garbage), its low size bytes.
func (m *Misbehaviour) Garbled(reg, v uint32, size int) uint32 {
	if m.Hit(FaultRegGarbage, reg, "read") {
		return m.Garbage() & uint32(uint64(1)<<(8*min(size, 4))-1)
	}
	return v
}

// RxDataDropped reports whether the frame about to be written into the
// receive ring loses its data (dma-drop).
func (m *Misbehaviour) RxDataDropped() bool { return m.Hit(FaultDMADrop, 0, "received frame") }

// TxDuplicated reports whether the frame just sent goes again (dma-dup).
func (m *Misbehaviour) TxDuplicated() bool { return m.Hit(FaultDMADup, 0, "transmitted frame") }

// Reset is a device reset's part: the fault ends, and a stuck line
// follows level again.
func (m *Misbehaviour) Reset(line IRQ, level bool) {
	m.Disarm("function reset")
	if m.stuck {
		m.stuck = false
		m.Drive(line, level)
	}
}
