package e1000

import (
	"errors"
	"testing"

	"grailos/arch/machine/pci"
)

// TestPCIHeader checks the configuration space Linux's probe sees.
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
		{pci.OffVendorID, 4, 0x100E8086},
		{pci.OffRevision, 4, 0x02000002},
		{pci.OffSubsysVendor, 4, 0x001E8086},
		{pci.OffStatus, 2, 0x0230},
		{pci.OffInterruptPin, 1, 1},
		{pci.OffCapPtr, 1, 0xDC},
		{0xDC, 2, 0x0001},
	} {
		if got := s.ReadConfig(tc.off, tc.size); got != tc.want {
			t.Errorf("config %#x = %#x, want %#x", tc.off, got, tc.want)
		}
	}
	s.WriteConfig(pci.OffBAR0, 4, 0xFFFFFFFF)
	s.WriteConfig(pci.OffBAR0+4, 4, 0xFFFFFFFF)
	if bar0, bar1 := s.ReadConfig(pci.OffBAR0, 4), s.ReadConfig(pci.OffBAR0+4, 4); bar0 != 0xFFFE0000 || bar1 != 0xFFFFFFC1 {
		t.Errorf("BAR sizing: BAR0 %#x BAR1 %#x", bar0, bar1)
	}
	s.WriteConfig(pci.OffCommand, 2, 0x0007)
	if !s.BusMaster() || !s.MemoryEnabled() || !s.IOEnabled() {
		t.Error("pci_enable_device + pci_set_master not reflected")
	}
}

func TestEventString(t *testing.T) {
	for _, tc := range []struct {
		e    Event
		want string
	}{
		{Event{Kind: EventDMARefused, Ring: "tx", Addr: 0x2000, Len: 64, What: "transmit buffer read", Err: errors.New("outside")},
			"tx dma-refused: transmit buffer read (addr 0x2000 len 64): outside"},
		{Event{Kind: EventUnknownRegister, Addr: 4, Len: 4, What: "first read of unmodelled register 0x00004"},
			"unknown-register: first read of unmodelled register 0x00004 (addr 0x4 len 4)"},
		{Event{Kind: EventKind(99), What: "x"}, "event(99): x"},
	} {
		if got := tc.e.String(); got != tc.want {
			t.Errorf("got  %q\nwant %q", got, tc.want)
		}
	}
}

func TestEEPROMEraseAndWriteAll(t *testing.T) {
	d := newDriver(t)
	cmd := func(bits []struct {
		v uint16
		n int
	}) {
		if err := d.eeAcquire(); err != nil {
			t.Fatal(err)
		}
		for _, b := range bits {
			d.eeShiftOut(b.v, b.n)
		}
		d.eeStandby()
		d.eeRelease()
	}
	type b = struct {
		v uint16
		n int
	}
	ewen := []b{{0x13, 5}, {0, 4}}
	cmd(ewen)
	cmd([]b{{0x7, 3}, {0x05, 6}}) // ERASE word 5
	if got := d.dev.EEPROM()[5]; got != 0xFFFF {
		t.Errorf("word 5 after ERASE = %#04x", got)
	}
	cmd([]b{{0x4, 3}, {0x10, 6}, {0xA5A5, 16}}) // WRAL (00 + address 01xxxx)
	for i, w := range d.dev.EEPROM() {
		if w != 0xA5A5 {
			t.Fatalf("word %d after WRAL = %#04x", i, w)
		}
	}
	cmd([]b{{0x4, 3}, {0x20, 6}}) // ERAL (00 + address 10xxxx)
	if got := d.dev.EEPROM()[63]; got != 0xFFFF {
		t.Errorf("word 63 after ERAL = %#04x", got)
	}
	cmd([]b{{0x10, 5}, {0, 4}}) // EWDS
	cmd([]b{{0x7, 3}, {0x06, 6}})
	cmd([]b{{0x5, 3}, {0x06, 6}, {0x1234, 16}})
	if got := d.dev.EEPROM()[6]; got != 0xFFFF {
		t.Errorf("write after EWDS changed word 6 to %#04x", got)
	}
}
