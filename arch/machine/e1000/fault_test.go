package e1000

import (
	"errors"
	"math/rand/v2"
	"reflect"
	"testing"

	"grailos/arch/machine/hw"
)

// reports collects a fault's progress reports as "state detail".
type reports []string

func (r *reports) hear(id, state, detail string) { *r = append(*r, id+" "+state+" "+detail) }

func (h *harness) inject(f hw.Fault) *reports {
	h.t.Helper()
	r := &reports{}
	if err := h.dev.InjectFault(f, r.hear); err != nil {
		h.t.Fatal(err)
	}
	return r
}

func wantReports(t *testing.T, got *reports, want ...string) {
	t.Helper()
	if !reflect.DeepEqual([]string(*got), want) {
		t.Errorf("reports:\n got %q\nwant %q", *got, want)
	}
}

// irq-lost: the next two assertions are swallowed (the line stays low,
// nothing counted), the third goes through.
func TestFaultIRQLost(t *testing.T) {
	h := newHarness(t)
	h.w32(regIMS, IntLSC)
	r := h.inject(hw.Fault{ID: "f1", Kind: hw.FaultIRQLost, Nth: 1, Count: 2})
	for i, want := range []bool{false, false, true} {
		h.w32(regICS, IntLSC)
		if h.irq.level != want {
			t.Errorf("cause %d: line %v, want %v", i+1, h.irq.level, want)
		}
	}
	if h.irq.raises != 1 || h.dev.Stats().Interrupts != 1 {
		t.Errorf("%d edges, %d interrupts counted, want 1 and 1", h.irq.raises, h.dev.Stats().Interrupts)
	}
	if got := h.r32(regICR); got != IntLSC {
		t.Errorf("ICR = %#x, want LSC", got)
	}
	wantReports(t, r, "f1 armed irq-lost: events 1 to 2", "f1 fired irq-lost: assertion 1",
		"f1 done irq-lost: assertion 3 behaved after 2 faulty")
}

// irq-stuck: from the 2nd ICR read the line screams — held up with
// nothing pending and masked, a new edge after each of 3 reads — and is
// released at the read after them.
func TestFaultIRQStuck(t *testing.T) {
	h := newHarness(t)
	r := h.inject(hw.Fault{ID: "f2", Kind: hw.FaultIRQStuck, Nth: 2, Count: 3})
	h.r32(regICR)
	if h.irq.level || h.irq.raises != 0 {
		t.Fatal("line up before the faulty read")
	}
	for i := 1; i <= 3; i++ {
		if got := h.r32(regICR); got != 0 {
			t.Errorf("ICR = %#x", got)
		}
		h.w32(regIMC, 0xFFFFFFFF)
		if !h.irq.level || h.irq.raises != i {
			t.Errorf("faulty read %d: line %v after %d edges, want up after %d", i, h.irq.level, h.irq.raises, i)
		}
	}
	h.r32(regICR)
	if h.irq.level || h.irq.raises != 3 {
		t.Errorf("after the stuck reads: line %v, %d edges; want down, 3", h.irq.level, h.irq.raises)
	}
	if n := h.dev.Stats().Interrupts; n != 0 {
		t.Errorf("%d interrupts counted: the stuck line is not a cause", n)
	}
	wantReports(t, r, "f2 armed irq-stuck: events 2 to 4", "f2 fired irq-stuck: ICR read 2",
		"f2 done irq-stuck: ICR read 5 behaved after 3 faulty")
}

// A stuck line stays up when a cause comes and goes, and follows the
// causes again once released.
func TestFaultIRQStuckKeepsCauses(t *testing.T) {
	h := newHarness(t)
	h.w32(regIMS, IntLSC)
	h.inject(hw.Fault{ID: "f", Kind: hw.FaultIRQStuck, Nth: 1, Count: 1})
	h.r32(regICR) // faulty: up
	h.w32(regICS, IntLSC)
	h.w32(regICR, IntLSC) // the cause cleared: still up
	if !h.irq.level {
		t.Fatal("stuck line went down")
	}
	h.w32(regICS, IntLSC)
	if got := h.r32(regICR); got != IntLSC || h.irq.level { // released; the read cleared the cause
		t.Errorf("ICR %#x, line %v: want LSC, down", got, h.irq.level)
	}
}

func garbage(seed uint64, n int) uint32 {
	return uint32(rand.New(rand.NewPCG(seed, uint64(n))).Uint64())
}

// reg-garbage: the 1st and 2nd reads of STATUS return the seeded values;
// other registers read true; the 3rd STATUS read is true again.
func TestFaultRegGarbage(t *testing.T) {
	d := newDriver(t)
	d.bringUp()
	status := d.r32(regSTATUS)
	r := d.inject(hw.Fault{ID: "f3", Kind: hw.FaultRegGarbage, Nth: 1, Count: 2, Reg: regSTATUS, Seed: 42})
	if got := d.r32(regSTATUS); got != garbage(42, 1) {
		t.Errorf("read 1: %#x, want %#x", got, garbage(42, 1))
	}
	if got := d.r32(regRCTL); got&rctlEN == 0 {
		t.Errorf("RCTL = %#x: another register garbled", got)
	}
	if got := uint16(d.dev.ReadMMIO(regSTATUS, 2)); got != uint16(garbage(42, 2)) {
		t.Errorf("read 2 (16 bits): %#x, want %#x", got, uint16(garbage(42, 2)))
	}
	if got := d.r32(regSTATUS); got != status {
		t.Errorf("read 3: %#x, want the true %#x", got, status)
	}
	wantReports(t, r, "f3 armed reg-garbage: events 1 to 2", "f3 fired reg-garbage: read 1",
		"f3 done reg-garbage: read 3 behaved after 2 faulty")
}

// A garbled ICR read still clears the causes (the read happened; its
// value was lost on the way).
func TestFaultRegGarbageICR(t *testing.T) {
	h := newHarness(t)
	h.w32(regIMS, IntLSC)
	h.w32(regICS, IntLSC)
	h.inject(hw.Fault{ID: "f", Kind: hw.FaultRegGarbage, Nth: 1, Count: 1, Reg: hw.AnyRegister, Seed: 1})
	if got := h.r32(regICR); got != garbage(1, 1) {
		t.Errorf("ICR = %#x, want %#x", got, garbage(1, 1))
	}
	if h.irq.level || h.r32(regICR) != 0 {
		t.Error("the garbled read did not clear ICR")
	}
}

// dma-drop: the 2nd received frame's descriptor is written back as done
// with its length, its buffer keeps what it held; the 3rd is whole.
func TestFaultDMADrop(t *testing.T) {
	d := newDriver(t)
	d.bringUp()
	const stale = 0xA5
	for i := range d.mem.mem[rxBufArea : rxBufArea+3*bufSize] {
		d.mem.mem[rxBufArea+i] = stale
	}
	r := d.inject(hw.Fault{ID: "f4", Kind: hw.FaultDMADrop, Nth: 2, Count: 1})
	var frames [][]byte
	for i := range 3 {
		f := append(ethHeader(testMAC, peerMAC, 0x88B5), payload(100+i)...)
		frames = append(frames, f)
		if !d.dev.Receive(f) {
			t.Fatalf("frame %d refused", i)
		}
	}
	for i, f := range frames {
		length, _, status, _, _ := d.rxDesc(uint32(i))
		if int(length) != len(f)+4 || status != rxStatDD|rxStatEOP {
			t.Errorf("descriptor %d: length %d status %#x, want %d DD|EOP", i, length, status, len(f)+4)
		}
	}
	d.cleanRx()
	mustEqualBytes(t, "frame 1", d.received[0], frames[0])
	want := make([]byte, len(frames[1]))
	for i := range want {
		want[i] = stale
	}
	mustEqualBytes(t, "frame 2 (dropped: the stale buffer)", d.received[1], want)
	mustEqualBytes(t, "frame 3", d.received[2], frames[2])
	if s := d.dev.Stats(); s.RxFrames != 3 {
		t.Errorf("RxFrames %d, want 3", s.RxFrames)
	}
	wantReports(t, r, "f4 armed dma-drop: events 2 to 2", "f4 fired dma-drop: received frame 2",
		"f4 done dma-drop: received frame 3 behaved after 1 faulty")
}

// dma-dup: the first two frames go on the wire twice, the third once;
// each descriptor is written back once.
func TestFaultDMADup(t *testing.T) {
	d := newDriver(t)
	d.bringUp()
	r := d.inject(hw.Fault{ID: "f5", Kind: hw.FaultDMADup, Nth: 1, Count: 2})
	var frames [][]byte
	for i := range 3 {
		f := append(ethHeader(peerMAC, testMAC, 0x88B5), payload(100+i)...)
		frames = append(frames, f)
		d.txDesc(d.putBuf(i, f), uint32(len(f))|txCmdIFCS|cmdEOP|cmdRS, 0)
	}
	d.kickTx()
	want := [][]byte{frames[0], frames[0], frames[1], frames[1], frames[2]}
	if !reflect.DeepEqual(d.wire.frames, want) {
		t.Errorf("%d frames on the wire, want 5: first and second twice", len(d.wire.frames))
	}
	if got := d.cleanTx(map[uint32]uint32{0: 0, 1: 1, 2: 2}); got != 3 {
		t.Errorf("%d packets cleaned, want 3", got)
	}
	if s := d.dev.Stats(); s.TxFrames != 5 {
		t.Errorf("TxFrames %d, want 5", s.TxFrames)
	}
	wantReports(t, r, "f5 armed dma-dup: events 1 to 2", "f5 fired dma-dup: transmitted frame 1",
		"f5 done dma-dup: transmitted frame 3 behaved after 2 faulty")
}

// One fault at a time; a function-level reset ends it (and releases a
// stuck line); a fault that never fires says nothing more.
func TestFaultArmAndReset(t *testing.T) {
	h := newHarness(t)
	r := h.inject(hw.Fault{ID: "a", Kind: hw.FaultIRQStuck, Nth: 1, Count: 9})
	if err := h.dev.InjectFault(hw.Fault{ID: "b", Kind: hw.FaultIRQLost, Nth: 1, Count: 1}, nil); !errors.Is(err, hw.ErrFaultArmed) {
		t.Errorf("second fault: %v, want ErrFaultArmed", err)
	}
	if err := h.dev.InjectFault(hw.Fault{ID: "c", Kind: hw.FaultDMADup}, nil); err == nil {
		t.Error("a fault of 0 events armed")
	}
	h.r32(regICR)
	if !h.irq.level {
		t.Fatal("not stuck")
	}
	h.dev.Reset()
	if h.irq.level {
		t.Error("the reset did not release the line")
	}
	wantReports(t, r, "a armed irq-stuck: events 1 to 9", "a fired irq-stuck: ICR read 1",
		"a done irq-stuck: function reset after 1 events")
	if err := h.dev.InjectFault(hw.Fault{ID: "b", Kind: hw.FaultIRQLost, Nth: 1, Count: 1}, nil); err != nil {
		t.Errorf("after the reset: %v", err)
	}
}
