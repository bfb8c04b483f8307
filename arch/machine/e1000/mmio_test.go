package e1000

import (
	"testing"
)

func TestAccessSizes(t *testing.T) {
	h := newHarness(t)
	h.w32(regFCAL, 0x44332211)
	for _, tc := range []struct {
		off  uint32
		size int
		want uint64
	}{
		{regFCAL, 4, 0x44332211},
		{regFCAL, 1, 0x11},
		{regFCAL + 1, 1, 0x22},
		{regFCAL + 2, 2, 0x4433},
		{regFCAL, 8, 0x44332211}, // FCAH (0) in the high dword
		{regVET, 2, 0x8100},
	} {
		if got := h.dev.ReadMMIO(tc.off, tc.size); got != tc.want {
			t.Errorf("ReadMMIO(%#x, %d) = %#x, want %#x", tc.off, tc.size, got, tc.want)
		}
	}
	// Narrow writes merge into the register.
	h.dev.WriteMMIO(regFCAL+1, 1, 0xAA)
	h.dev.WriteMMIO(regFCAL+2, 2, 0xCCBB)
	if got := h.r32(regFCAL); got != 0xCCBBAA11 {
		t.Errorf("FCAL after narrow writes = %#x", got)
	}
	// 8-byte write: two dwords, low first.
	h.dev.WriteMMIO(regFCAL, 8, 0x0000_5566_7788_99AA)
	if h.r32(regFCAL) != 0x778899AA || h.r32(regFCAH) != 0x5566 {
		t.Errorf("8-byte write: FCAL %#x FCAH %#x", h.r32(regFCAL), h.r32(regFCAH))
	}
	// A byte write to IMS sets only the bits written.
	h.dev.WriteMMIO(regIMS+0, 1, uint64(IntRXT0))
	h.dev.WriteMMIO(regIMS+1, 1, uint64(IntMDAC>>8))
	if got := h.r32(regIMS); got != IntRXT0|IntMDAC {
		t.Errorf("IMS after byte writes = %#x", got)
	}
	// Byte reads of a clear-on-read register clear the whole register.
	h.w32(regICS, IntLSC|IntMDAC)
	if got := h.dev.ReadMMIO(regICR+1, 1); got != IntMDAC>>8 {
		t.Errorf("ICR byte 1 = %#x", got)
	}
	if got := h.r32(regICR); got != 0 {
		t.Errorf("ICR after byte read = %#x", got)
	}
	if len(h.events) != 0 {
		t.Errorf("events %v", h.events)
	}
}

func TestBadAccesses(t *testing.T) {
	h := newHarness(t)
	for _, tc := range []struct {
		off  uint32
		size int
	}{
		{regCTRL + 1, 4}, {regCTRL + 2, 8}, {regCTRL + 1, 2}, {regCTRL, 3}, {regCTRL, 16},
		{BARSize, 4}, {BARSize - 4, 8}, {0xFFFFFFFC, 4},
	} {
		before := h.dev.Stats().BadAccesses
		if got := h.dev.ReadMMIO(tc.off, tc.size); got != 0 {
			t.Errorf("ReadMMIO(%#x, %d) = %#x", tc.off, tc.size, got)
		}
		h.dev.WriteMMIO(tc.off, tc.size, ^uint64(0))
		if got := h.dev.Stats().BadAccesses - before; got != 2 {
			t.Errorf("(%#x, %d): %d bad accesses counted, want 2", tc.off, tc.size, got)
		}
	}
	if got := h.r32(regCTRL); got != ctrlFD|ctrlASDE|2<<8 {
		t.Errorf("CTRL changed by bad writes: %#x", got)
	}
	for _, e := range h.events {
		if e.Kind != EventBadAccess {
			t.Fatalf("event %v", e)
		}
	}
}

func TestUnknownRegisters(t *testing.T) {
	h := newHarness(t)
	h.w32(regCTRLDup, 0x1234) // CTRL_DUP exists only on later parts
	h.w32(regCTRLDup, 0x5678)
	h.r32(regCTRLDup)
	h.r32(0x1F000)
	if got := h.r32(regCTRLDup); got != 0 {
		t.Errorf("unknown register reads %#x", got)
	}
	want := []UnknownAccess{{Off: regCTRLDup, Reads: 2, Writes: 2, LastWrite: 0x5678}, {Off: 0x1F000, Reads: 1}}
	got := h.dev.Unknown()
	if len(got) != len(want) {
		t.Fatalf("Unknown() = %+v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("Unknown()[%d] = %+v, want %+v", i, got[i], want[i])
		}
	}
	if k := h.eventKinds(); len(k) != 2 || k[0] != EventUnknownRegister || k[1] != EventUnknownRegister {
		t.Errorf("events %v (one per register)", h.events)
	}
	if s := h.dev.Stats(); s.UnknownReads != 3 || s.UnknownWrites != 2 {
		t.Errorf("stats %+v", s)
	}
	if h.r32(regCTRL) != ctrlFD|ctrlASDE|2<<8 {
		t.Error("unknown write leaked into CTRL")
	}
}

func TestReadOnlyAndMasks(t *testing.T) {
	h := newHarness(t)
	for _, tc := range []struct {
		off, write, want uint32
	}{
		{regSTATUS, 0xFFFFFFFF, 0},
		{regRXCW, 0xFFFFFFFF, 0},
		{regFCAH, 0xFFFFFFFF, 0xFFFF},
		{regRCTL, 0xFFFFFFFF &^ rctlEN, 0x06DFB3FC},
		{regTIPG, 0xFFFFFFFF, 0x3FFFFFFF},
		{regRA + 4, 0xFFFFFFFF, 0x8003FFFF},
		{regMTA + 127*4, 0xFFFFFFFF, 0xFFFFFFFF},
		{regVFTA, 0xA5A5A5A5, 0xA5A5A5A5},
		{regEECD, 0xFFFFFFFF &^ (eecdCS | eecdSK), eecdDI | eecdFWE | eecdREQ | eecdGNT | eecdPRES | eecdDO},
		{regITR, 0x12345678, 0x5678},
		{regCRCERRS, 55, 0},
	} {
		h.w32(tc.off, tc.write)
		if got := h.r32(tc.off); got != tc.want {
			t.Errorf("%s: wrote %#x, read %#x, want %#x", RegName(tc.off), tc.write, got, tc.want)
		}
	}
}

func TestStatsReadToClear(t *testing.T) {
	d := newDriver(t)
	d.bringUp()
	frame := append(ethHeader(testMAC, peerMAC, 0x88B5), payload(86)...)
	for i := 0; i < 3; i++ {
		d.dev.Receive(frame)
	}
	// GORC is a 64-bit pair: the low half alone does not clear; the high
	// half clears both.
	for _, st := range []struct {
		off, want uint32
	}{
		{regGORCL, 312}, {regGORCL, 312}, {regGORCH, 0}, {regGORCL, 0},
		{regGPRC, 3}, {regGPRC, 0},
		{regTPR, 3}, {regTPR, 0},
	} {
		if got := d.r32(st.off); got != st.want {
			t.Errorf("%s = %d, want %d", RegName(st.off), got, st.want)
		}
	}
}

func TestIOBAR(t *testing.T) {
	h := newHarness(t)
	h.dev.WriteIO(ioADDR, 4, regFCAL)
	h.dev.WriteIO(ioDATA, 4, 0xCAFEF00D)
	if got := h.r32(regFCAL); got != 0xCAFEF00D {
		t.Errorf("FCAL via IODATA = %#x", got)
	}
	if got := h.dev.ReadIO(ioDATA, 4); got != 0xCAFEF00D {
		t.Errorf("IODATA read = %#x", got)
	}
	if got := h.dev.ReadIO(ioADDR, 4); got != regFCAL {
		t.Errorf("IOADDR = %#x", got)
	}
	if got := h.dev.ReadIO(0x10, 4); got != 0 {
		t.Errorf("reserved I/O = %#x", got)
	}
	// Misaligned IOADDR targets are refused.
	h.dev.WriteIO(ioADDR, 4, regFCAL+2)
	h.dev.WriteIO(ioDATA, 4, 1)
	h.dev.WriteIO(ioDATA, 2, 1)
	h.dev.WriteIO(0x40, 4, 1)
	if got := h.dev.Stats().BadAccesses; got != 3 {
		t.Errorf("bad I/O accesses %d, want 3", got)
	}
}
