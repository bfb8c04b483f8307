package rtl8139

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"reflect"
	"testing"

	"grailos/arch/machine/hw"
)

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

// raises counts the line's rising edges.
func (l *line) raises() int {
	n, up := 0, false
	for _, v := range l.sets {
		if v && !up {
			n++
		}
		up = v
	}
	return n
}

// irq-lost: the 2nd and 3rd assertions are swallowed; each new cause
// tries again; the 4th goes through.
func TestFaultIRQLost(t *testing.T) {
	h := newHarness(t, nil)
	h.dev.WriteIO(regIMR, 2, IntTOK)
	r := h.inject(hw.Fault{ID: "f1", Kind: hw.FaultIRQLost, Nth: 2, Count: 2})
	h.dev.mu.Lock()
	for i, want := range []bool{true, false, false, true} {
		if i == 1 {
			h.dev.isr = 0 // acknowledged
			h.dev.updateIRQ()
		}
		h.dev.setCause(IntTOK)
		if h.irq.level != want {
			t.Errorf("cause %d: line %v, want %v", i+1, h.irq.level, want)
		}
	}
	h.dev.mu.Unlock()
	if n := h.irq.raises(); n != 2 || h.dev.Stats().Interrupts != 2 {
		t.Errorf("%d edges, %d interrupts counted; want 2, 2", n, h.dev.Stats().Interrupts)
	}
	wantReports(t, r, "f1 armed irq-lost: events 2 to 3", "f1 fired irq-lost: assertion 2",
		"f1 done irq-lost: assertion 4 behaved after 2 faulty")
}

// irq-stuck: each of 2 ISR reads (16-bit, as 8139too's handler) leaves
// the line up with a new edge though nothing is pending; the 3rd
// releases it.
func TestFaultIRQStuck(t *testing.T) {
	d := up(t, false, nil)
	d.service()
	base := d.irq.raises()
	r := d.inject(hw.Fault{ID: "f2", Kind: hw.FaultIRQStuck, Nth: 1, Count: 2})
	for i := 1; i <= 2; i++ {
		if d.interrupt() {
			t.Errorf("faulty read %d: the handler found a cause", i)
		}
		if !d.irq.level || d.irq.raises() != base+i {
			t.Errorf("faulty read %d: line %v after %d edges, want up after %d", i, d.irq.level, d.irq.raises()-base, i)
		}
	}
	d.r16(IntrStatus)
	if d.irq.level {
		t.Error("line still up after the stuck reads")
	}
	wantReports(t, r, "f2 armed irq-stuck: events 1 to 2", "f2 fired irq-stuck: ISR read 1",
		"f2 done irq-stuck: ISR read 3 behaved after 2 faulty")
}

// reg-garbage: reads of TSD0 (by 8139too's tx interrupt, here 32-bit,
// then 8-bit) return the seeded values; the 3rd is true.
func TestFaultRegGarbage(t *testing.T) {
	for _, useIO := range []bool{false, true} {
		d := up(t, useIO, nil)
		d.xmit(frame(peerMAC, 60, 1))
		tsd := d.r32(TxStatus0)
		r := d.inject(hw.Fault{ID: "f3", Kind: hw.FaultRegGarbage, Nth: 1, Count: 2, Reg: TxStatus0, Seed: 9})
		if got, want := d.r32(TxStatus0), uint32(rand.New(rand.NewPCG(9, 1)).Uint64()); got != want {
			t.Errorf("io=%v read 1: %#x, want %#x", useIO, got, want)
		}
		if got, want := d.r8(TxStatus0), uint8(rand.New(rand.NewPCG(9, 2)).Uint64()); got != want {
			t.Errorf("io=%v read 2: %#x, want %#x", useIO, got, want)
		}
		if got := d.r32(TxStatus0); got != tsd {
			t.Errorf("io=%v read 3: %#x, want the true %#x", useIO, got, tsd)
		}
		wantReports(t, r, "f3 armed reg-garbage: events 1 to 2", "f3 fired reg-garbage: read 1",
			"f3 done reg-garbage: read 3 behaved after 2 faulty")
	}
}

// dma-drop: the 1st frame's record header is written and CBR advances
// past it, but the frame and CRC stay as the ring held them; the 2nd is
// whole.
func TestFaultDMADrop(t *testing.T) {
	d := up(t, false, nil)
	for i := range 4096 {
		d.mem.mem[d.rxRing+uint64(i)] = 0xA5
	}
	r := d.inject(hw.Fault{ID: "f4", Kind: hw.FaultDMADrop, Nth: 1, Count: 1})
	f1, f2 := frame(testMAC, 100, 1), frame(testMAC, 80, 2)
	d.dev.Receive(f1)
	d.dev.Receive(f2)
	rec := d.mem.mem[d.rxRing:]
	if got, want := binary.LittleEndian.Uint32(rec), uint32(RxStatusOK|RxPhysical|104<<16); got != want {
		t.Errorf("header %#08x, want %#08x", got, want)
	}
	if !bytes.Equal(rec[4:108], bytes.Repeat([]byte{0xA5}, 104)) {
		t.Error("the dropped frame's bytes were written")
	}
	if got := uint32(d.r16(RxBufAddr)); got != 108+88 {
		t.Errorf("CBR %d, want %d", got, 108+88)
	}
	d.service()
	if len(d.received) != 2 || !bytes.Equal(d.received[0], bytes.Repeat([]byte{0xA5}, 100)) || !bytes.Equal(d.received[1], f2) {
		t.Errorf("driver received %d frames; want the stale bytes, then the 2nd frame", len(d.received))
	}
	wantReports(t, r, "f4 armed dma-drop: events 1 to 1", "f4 fired dma-drop: received frame 1",
		"f4 done dma-drop: received frame 2 behaved after 1 faulty")
}

// dma-dup: the 2nd frame is on the wire twice, its descriptor written
// back once (one TxOK).
func TestFaultDMADup(t *testing.T) {
	d := up(t, false, nil)
	r := d.inject(hw.Fault{ID: "f5", Kind: hw.FaultDMADup, Nth: 2, Count: 1})
	var fs [][]byte
	for i := range 3 {
		fs = append(fs, frame(peerMAC, 100+i, byte(i)))
		d.xmit(fs[i])
		d.service()
	}
	if want := [][]byte{fs[0], fs[1], fs[1], fs[2]}; !reflect.DeepEqual(d.wire.frames, want) {
		t.Errorf("%d frames on the wire, want 4 (the 2nd twice)", len(d.wire.frames))
	}
	if d.txPackets != 3 || d.txErrs != 0 {
		t.Errorf("driver: %d packets, %d errors; want 3, 0", d.txPackets, d.txErrs)
	}
	wantReports(t, r, "f5 armed dma-dup: events 2 to 2", "f5 fired dma-dup: transmitted frame 2",
		"f5 done dma-dup: transmitted frame 3 behaved after 1 faulty")
}

// One fault at a time; a power-on reset ends it and releases the line.
func TestFaultArmAndReset(t *testing.T) {
	h := newHarness(t, nil)
	r := h.inject(hw.Fault{ID: "a", Kind: hw.FaultIRQStuck, Nth: 1, Count: 5})
	if err := h.dev.InjectFault(hw.Fault{ID: "b", Kind: hw.FaultDMADup, Nth: 1, Count: 1}, nil); !errors.Is(err, hw.ErrFaultArmed) {
		t.Errorf("second fault: %v", err)
	}
	h.dev.ReadIO(regISR, 2)
	if !h.irq.level {
		t.Fatal("not stuck")
	}
	h.dev.Reset()
	if h.irq.level {
		t.Error("reset did not release the line")
	}
	wantReports(t, r, "a armed irq-stuck: events 1 to 5", "a fired irq-stuck: ISR read 1",
		"a done irq-stuck: function reset after 1 events")
}
