package pci

import "testing"

// testHeader is shaped like an 82540EM: a 128 KiB memory BAR, a 64-byte
// I/O BAR, INTA#, one power-management capability.
func testHeader() Header {
	h := Header{
		VendorID: 0x8086, DeviceID: 0x100E,
		SubsysVendorID: 0x8086, SubsystemID: 0x001E,
		Revision: 0x02, Class: 0x020000,
		Status:       0x0200,
		CommandMask:  CmdIO | CmdMemory | CmdBusMaster | CmdMWI | CmdParity | CmdSERR,
		InterruptPin: 1, MinGnt: 0xFF,
		Caps: []Capability{func() Capability {
			c := PowerManagement(0x0022)
			c.Offset = 0xDC
			return c
		}()},
	}
	h.BARs[0] = BAR{Size: 128 << 10}
	h.BARs[1] = BAR{Size: 64, IO: true}
	return h
}

func newSpace(t *testing.T, h Header) *Space {
	t.Helper()
	s, err := New(h)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestIdentity(t *testing.T) {
	s := newSpace(t, testHeader())
	for _, tc := range []struct {
		off  uint32
		size int
		want uint32
	}{
		{OffVendorID, 2, 0x8086},
		{OffDeviceID, 2, 0x100E},
		{0x00, 4, 0x100E8086},
		{OffRevision, 4, 0x02000002},
		{OffClass + 2, 1, 0x02},
		{OffHeaderType, 1, 0x00},
		{OffSubsysVendor, 4, 0x001E8086},
		{OffStatus, 2, 0x0210},
		{OffCapPtr, 1, 0xDC},
		{0xDC, 4, 0x00220001},
		{OffInterruptPin, 1, 1},
		{OffMinGnt, 1, 0xFF},
		{OffExpansionROM, 4, 0},
		{0x18, 4, 0}, // BAR2 unimplemented
	} {
		if got := s.ReadConfig(tc.off, tc.size); got != tc.want {
			t.Errorf("ReadConfig(%#x, %d) = %#x, want %#x", tc.off, tc.size, got, tc.want)
		}
	}
	// Identity is read-only.
	s.WriteConfig(0, 4, 0xFFFFFFFF)
	s.WriteConfig(OffClass, 1, 0x55)
	s.WriteConfig(OffCapPtr, 1, 0x40)
	if got := s.ReadConfig(0, 4); got != 0x100E8086 {
		t.Errorf("IDs after write = %#x", got)
	}
	if got := s.ReadConfig(OffCapPtr, 1); got != 0xDC {
		t.Errorf("cap pointer after write = %#x", got)
	}
}

func TestBARSizing(t *testing.T) {
	s := newSpace(t, testHeader())
	for _, tc := range []struct {
		name      string
		off       uint32
		write     uint32
		want      uint32
		wantAddr  uint64
		bar       int
		wantIO    bool
		wantSize  uint64
		wantReady bool
	}{
		{"mem all-ones gives size mask", OffBAR0, 0xFFFFFFFF, 0xFFFE0000, 0xFFFE0000, 0, false, 128 << 10, true},
		{"mem assigned", OffBAR0, 0xFEBC0000, 0xFEBC0000, 0xFEBC0000, 0, false, 128 << 10, true},
		{"mem low bits dropped", OffBAR0, 0xFEBC1234, 0xFEBC0000, 0xFEBC0000, 0, false, 128 << 10, true},
		{"io all-ones gives size mask", OffBAR0 + 4, 0xFFFFFFFF, 0xFFFFFFC1, 0xFFFFFFC0, 1, true, 64, true},
		{"io assigned", OffBAR0 + 4, 0xC000, 0xC001, 0xC000, 1, true, 64, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s.WriteConfig(tc.off, 4, tc.write)
			if got := s.ReadConfig(tc.off, 4); got != tc.want {
				t.Errorf("read back %#x, want %#x", got, tc.want)
			}
			addr, size, io, ok := s.BARAddress(tc.bar)
			if addr != tc.wantAddr || size != tc.wantSize || io != tc.wantIO || ok != tc.wantReady {
				t.Errorf("BARAddress = %#x %#x %v %v", addr, size, io, ok)
			}
		})
	}
	if _, _, _, ok := s.BARAddress(2); ok {
		t.Error("BAR2 reported as implemented")
	}
}

func TestBAR64(t *testing.T) {
	h := Header{VendorID: 1}
	h.BARs[2] = BAR{Size: 1 << 20, Is64: true, Prefetchable: true}
	s := newSpace(t, h)
	s.WriteConfig(0x18, 4, 0xFFFFFFFF)
	s.WriteConfig(0x1C, 4, 0xFFFFFFFF)
	if lo, hi := s.ReadConfig(0x18, 4), s.ReadConfig(0x1C, 4); lo != 0xFFF0000C || hi != 0xFFFFFFFF {
		t.Errorf("sizing = %#x %#x", lo, hi)
	}
	s.WriteConfig(0x18, 4, 0x00100000)
	s.WriteConfig(0x1C, 4, 0x00000002)
	if addr, _, _, _ := s.BARAddress(2); addr != 0x2_0010_0000 {
		t.Errorf("addr = %#x", addr)
	}
}

func TestCommandStatus(t *testing.T) {
	s := newSpace(t, testHeader())
	s.WriteConfig(OffCommand, 2, 0xFFFF)
	if got := s.Command(); got != 0x0157 {
		t.Errorf("command = %#x, want 0x0157", got)
	}
	if !s.MemoryEnabled() || !s.IOEnabled() || !s.BusMaster() {
		t.Error("enables not reported")
	}
	s.WriteConfig(OffCommand, 2, CmdMemory)
	if s.BusMaster() || s.IOEnabled() || !s.MemoryEnabled() {
		t.Error("enables after clearing")
	}
	// Error bits are RW1C; read-only bits survive.
	s.SetStatusBits(0x0800 | 0x2000)
	if got := s.ReadConfig(OffStatus, 2); got != 0x2A10 {
		t.Errorf("status = %#x", got)
	}
	s.WriteConfig(OffStatus, 2, 0x0800|0x0010|0x0200)
	if got := s.ReadConfig(OffStatus, 2); got != 0x2210 {
		t.Errorf("status after W1C = %#x", got)
	}
	// Byte write to the status high byte.
	s.WriteConfig(OffStatus+1, 1, 0x20)
	if got := s.ReadConfig(OffStatus, 2); got != 0x0210 {
		t.Errorf("status after byte W1C = %#x", got)
	}
}

func TestWritableScratch(t *testing.T) {
	s := newSpace(t, testHeader())
	s.WriteConfig(OffInterruptLine, 1, 11)
	s.WriteConfig(OffCacheLine, 2, 0x4010)
	s.WriteConfig(OffInterruptPin, 1, 4)
	if s.InterruptLine() != 11 || s.ReadConfig(OffInterruptPin, 1) != 1 {
		t.Errorf("line/pin = %d/%d", s.InterruptLine(), s.ReadConfig(OffInterruptPin, 1))
	}
	if got := s.ReadConfig(OffCacheLine, 2); got != 0x4010 {
		t.Errorf("cache line/latency = %#x", got)
	}
	// PMCSR power state is writable, the rest of the capability is not.
	s.WriteConfig(0xDC, 4, 0xFFFFFFFF)
	s.WriteConfig(0xE0, 2, 0xFFFF)
	if got := s.ReadConfig(0xDC, 4); got != 0x00220001 {
		t.Errorf("PM header after write = %#x", got)
	}
	if got := s.ReadConfig(0xE0, 2); got != 0x0103 {
		t.Errorf("PMCSR = %#x, want 0x0103", got)
	}
	s.Reset()
	if s.ReadConfig(OffInterruptLine, 1) != 0 || s.ReadConfig(0xE0, 2) != 0 {
		t.Error("Reset kept written values")
	}
}

func TestBadAccess(t *testing.T) {
	s := newSpace(t, testHeader())
	for _, tc := range []struct {
		off  uint32
		size int
	}{{1, 2}, {2, 4}, {0, 3}, {0, 8}, {256, 1}, {254, 4}, {0xFFFFFFFF, 1}} {
		if got := s.ReadConfig(tc.off, tc.size); got != 0xFFFFFFFF {
			t.Errorf("ReadConfig(%#x, %d) = %#x", tc.off, tc.size, got)
		}
		s.WriteConfig(tc.off, tc.size, 0)
	}
	if got := s.BadAccesses(); got != 14 {
		t.Errorf("BadAccesses = %d, want 14", got)
	}
	if s.ReadConfig(0, 4) != 0x100E8086 {
		t.Error("bad write changed IDs")
	}
}

func TestNewRejects(t *testing.T) {
	for name, h := range map[string]Header{
		"size not power of two": {BARs: [NumBARs]BAR{{Size: 3000}}},
		"memory BAR too small":  {BARs: [NumBARs]BAR{{Size: 8}}},
		"64-bit in last slot":   {BARs: [NumBARs]BAR{5: {Size: 1 << 12, Is64: true}}},
		"64-bit I/O":            {BARs: [NumBARs]BAR{{Size: 16, IO: true, Is64: true}}},
		"upper half used":       {BARs: [NumBARs]BAR{{Size: 1 << 12, Is64: true}, {Size: 16}}},
		"cap past the end":      {Caps: []Capability{{Offset: 0xFC, Data: make([]byte, 8)}}},
		"cap in the header":     {Caps: []Capability{{Offset: 0x20, Data: make([]byte, 8)}}},
		"caps overlap":          {Caps: []Capability{{Offset: 0x40, Data: make([]byte, 8)}, {Offset: 0x44, Data: make([]byte, 4)}}},
	} {
		if _, err := New(h); err == nil {
			t.Errorf("%s: New accepted it", name)
		}
	}
}

func TestCapChain(t *testing.T) {
	s := newSpace(t, Header{Caps: []Capability{
		{Data: []byte{0x01, 0xAA, 1, 2, 3, 4, 5, 6}},
		{Data: []byte{0x05, 0xBB, 9, 9}},
	}})
	if got := s.ReadConfig(OffCapPtr, 1); got != 0x40 {
		t.Fatalf("cap ptr = %#x", got)
	}
	if got := s.ReadConfig(0x40, 2); got != 0x4801 {
		t.Errorf("first cap = %#x, want next 0x48", got)
	}
	if got := s.ReadConfig(0x48, 2); got != 0x0005 {
		t.Errorf("second cap = %#x, want end of list", got)
	}
}

func FuzzConfig(f *testing.F) {
	f.Add(uint32(0x10), byte(4), uint32(0xFFFFFFFF), true)
	f.Add(uint32(0x06), byte(2), uint32(0xFFFF), true)
	f.Add(uint32(0xFE), byte(4), uint32(1), false)
	s, err := New(testHeader())
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, off uint32, size byte, v uint32, write bool) {
		if write {
			s.WriteConfig(off, int(size), v)
		} else {
			s.ReadConfig(off, int(size))
		}
		if s.ReadConfig(0, 4) != 0x100E8086 || s.ReadConfig(OffRevision, 4)>>8 != 0x020000 {
			t.Fatal("identity changed")
		}
		if addr, _, _, _ := s.BARAddress(0); addr&(128<<10-1) != 0 {
			t.Fatalf("BAR0 %#x not size-aligned", addr)
		}
	})
}
