package rtl8139

import (
	"testing"

	"grailos/arch/machine/pci"
)

// TestPCIHeader checks the configuration space 8139too's probe sees.
func TestPCIHeader(t *testing.T) {
	s, err := pci.New(PCIHeader())
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		off  uint32
		size int
		want uint32
	}{
		{pci.OffVendorID, 4, 0x813910EC},
		{pci.OffRevision, 4, 0x02000010}, // revision < 0x20: 8139too, not 8139cp
		{pci.OffSubsysVendor, 4, 0x813910EC},
		{pci.OffStatus, 2, 0x0290},
		{pci.OffInterruptPin, 1, 1},
		{pci.OffCapPtr, 1, 0x50},
		{0x50, 1, 0x01},
	} {
		if got := s.ReadConfig(tc.off, tc.size); got != tc.want {
			t.Errorf("config %#x = %#x, want %#x", tc.off, got, tc.want)
		}
	}
	s.WriteConfig(pci.OffBAR0, 4, 0xFFFFFFFF)
	s.WriteConfig(pci.OffBAR0+4, 4, 0xFFFFFFFF)
	if bar0, bar1 := s.ReadConfig(pci.OffBAR0, 4), s.ReadConfig(pci.OffBAR0+4, 4); bar0 != 0xFFFFFF01 || bar1 != 0xFFFFFF00 {
		t.Errorf("BAR sizing: BAR0 %#x BAR1 %#x, want 0xffffff01 (256 B I/O) 0xffffff00 (256 B memory)", bar0, bar1)
	}
}

// TestProbe replays rtl8139_init_board and rtl8139_init_one through each
// BAR and with each hardware revision.
func TestProbe(t *testing.T) {
	for _, tc := range []struct {
		name     string
		useIO    bool
		rev      uint32
		chipset  int
		chipName string
		halted   bool // HasHltClk chips end probe with HLTCLK 'H'
	}{
		{"mmio/8139C", false, 0, 6, "RTL-8139C", false},
		{"pio/8139C", true, 0, 6, "RTL-8139C", false},
		{"mmio/qemu", false, HWRevQEMU, 0, "RTL-8139", true},
		{"pio/qemu", true, HWRevQEMU, 0, "RTL-8139", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := newDriver(t, tc.useIO, func(c *Config) { c.HWRevision = tc.rev })
			d.probe()
			if d.chipset != tc.chipset || chipInfo[d.chipset].name != tc.chipName {
				t.Errorf("chip %d %q, want %d %q", d.chipset, chipInfo[d.chipset].name, tc.chipset, tc.chipName)
			}
			if d.addrLen != 6 {
				t.Errorf("addr_len %d, want 6 (a 93C46)", d.addrLen)
			}
			if d.mac != testMAC {
				t.Errorf("MAC from EEPROM %x, want %x", d.mac, testMAC)
			}
			if got := d.dev.halted; got != tc.halted {
				t.Errorf("clock halted %v, want %v", got, tc.halted)
			}
			if n := len(d.events); n != 0 {
				t.Errorf("events during probe: %v", d.events)
			}
			if s := d.dev.Stats(); s.Resets != 1 || s.LockedWrites != map[bool]uint64{true: 1, false: 0}[tc.rev == HWRevQEMU] {
				t.Errorf("resets %d locked writes %d", s.Resets, s.LockedWrites)
			}
		})
	}
}

// TestEEPROMWords reads every word of the default image the way the
// driver does (addr_len 6) and writes one through EWEN/WRITE.
func TestEEPROMWords(t *testing.T) {
	d := newDriver(t, false, nil)
	want := DefaultEEPROM(testMAC)
	for i, w := range want {
		if got := d.readEEPROM(i, 6); got != w {
			t.Errorf("word %d = %#04x, want %#04x", i, got, w)
		}
	}
	if got := d.readEEPROM(0, 8); got != 0x04A4 {
		t.Errorf("word 0 read as a 93C56 = %#04x, want 0x04a4 (0x8129<<2 | 0x10ec>>14)", got)
	}
	// EWEN, WRITE word 12 = 0xBEEF, EWDS, each its own CS cycle.
	shift := func(bits uint32, n int) {
		d.w8(Cfg9346, 0x80)
		d.w8(Cfg9346, 0x88)
		for i := n - 1; i >= 0; i-- {
			v := uint8(0x88)
			if bits>>i&1 != 0 {
				v |= 0x02
			}
			d.w8(Cfg9346, v)
			d.w8(Cfg9346, v|0x04)
		}
		d.w8(Cfg9346, 0x80)
		d.w8(Cfg9346, 0)
	}
	shift(0b1_00_110000, 9)
	shift(0b1_01_001100<<16|0xBEEF, 25)
	shift(0b1_00_000000, 9)
	shift(0b1_01_001101<<16|0x1234, 25) // disabled: ignored
	if got := d.dev.EEPROM(); got[12] != 0xBEEF || got[13] != 0 {
		t.Errorf("words 12,13 = %#04x,%#04x, want 0xbeef,0", got[12], got[13])
	}
	// Auto-load: IDR follows the EEPROM (words 7–9).
	shift(0b1_00_110000, 9)
	shift(0b1_01_000111<<16|0x0002, 25)
	d.w8(Cfg9346, 0x40)
	if got, cfg := d.r32(MAC0), d.r8(Cfg9346); got != 0x12000002 || cfg != 0 {
		t.Errorf("after auto-load IDR0-3 = %#08x 9346CR = %#02x, want 0x12000002 0", got, cfg)
	}
}

// TestOpenState checks the registers after rtl8139_open/hw_start.
func TestOpenState(t *testing.T) {
	for _, useIO := range []bool{false, true} {
		d := up(t, useIO, nil)
		for _, tc := range []struct {
			name string
			off  uint32
			size int
			want uint32
		}{
			{"IDR0-3", MAC0, 4, 0x12005452},
			{"IDR4-5", MAC0 + 4, 4, 0x00005634},
			{"MAR0-3", MAR0, 4, 0},
			{"RBSTART", RxBuf, 4, 0x10000},
			{"ChipCmd", ChipCmd, 1, CmdRxEnb | CmdTxEnb | RxBufEmpty},
			{"RxConfig", RxConfig, 4, 0xF78A},
			{"TxConfig", TxConfig, 4, 0x77000680},
			{"IntrMask", IntrMask, 2, 0xC07F},
			{"IntrStatus", IntrStatus, 2, 0},
			{"CAPR", RxBufPtr, 2, 0xFFF0},
			{"CBR", RxBufAddr, 2, 0},
			{"TxStatus0", TxStatus0, 4, TxHostOwns},
			{"TxAddr3", TxAddr0 + 12, 4, 0x2000 + 3*1792},
			{"TSAD", TxSummary, 2, 0x000F},
			{"Cfg9346", Cfg9346, 1, 0},
			{"Config1", Config1, 1, 0x0C},
			{"Config3", Config3, 1, 0x01},
			{"MediaStatus", MediaStatus, 1, 0xD0},
			{"BMCR", BasicModeCtrl, 2, 0x1000},
			{"BMSR", BasicModeStatus, 2, 0x782D},
			{"MultiIntr", MultiIntr, 2, 0},
			{"RERID", 0x5E, 1, 0x10},
		} {
			if got := d.r(tc.off, tc.size); got != tc.want {
				t.Errorf("io=%v %s = %#x, want %#x", useIO, tc.name, got, tc.want)
			}
		}
		if !d.link || !d.duplex {
			t.Errorf("io=%v media: link %v full duplex %v", useIO, d.link, d.duplex)
		}
		if len(d.events) != 0 || d.irq.level {
			t.Errorf("io=%v events %v irq %v", useIO, d.events, d.irq.level)
		}
	}
}
