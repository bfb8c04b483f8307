package host

import (
	"errors"
	"log"
	"testing"

	"grailos/arch/machine/devchan"
	"grailos/arch/machine/pci"
)

// The RTL8139 on the same machine: its BARs the other way round from
// the e1000's (I/O at BAR0, memory at BAR1, both the same 256 registers),
// routed by the header's BAR kinds; the wrong kind on a BAR is refused as
// a bad BAR, and the station address reads the same through either.
func TestRTL8139Function(t *testing.T) {
	logs := &syncBuffer{}
	m, err := New(Config{Model: "rtl8139", MAC: [6]byte{0x52, 0x54, 0x00, 0xab, 0xcd, 0xef}, Log: log.New(logs, "", 0)})
	if err != nil {
		t.Fatal(err)
	}
	m.Start()
	t.Cleanup(func() { m.Close() })
	d := m.Description()
	wantBARs := [devchan.NumBARs]devchan.BAR{{Size: 256, IO: true}, {Size: 256}}
	if d.Name != "rtl8139-0" || d.Model != "RTL8139C" || d.VendorID != 0x10EC || d.DeviceID != 0x8139 ||
		d.Revision != 0x10 || d.BARs != wantBARs || d.MAC != "52:54:00:ab:cd:ef" {
		t.Errorf("description %+v", d)
	}
	drv := newDriver(t, m)
	if err := drv.cl.ConfigWrite(pci.OffCommand, 2, pci.CmdIO|pci.CmdMemory); err != nil {
		t.Fatal(err)
	}
	var viaIO, viaMMIO [6]byte
	for i := range 6 {
		v, err := drv.cl.IORead(0, uint32(i), 1)
		if err != nil {
			t.Fatalf("I/O read IDR%d: %v", i, err)
		}
		viaIO[i] = byte(v)
		w, err := drv.cl.MMIORead(1, uint32(i), 1)
		if err != nil {
			t.Fatalf("MMIO read IDR%d: %v", i, err)
		}
		viaMMIO[i] = byte(w)
	}
	if want := [6]byte{0x52, 0x54, 0x00, 0xab, 0xcd, 0xef}; viaIO != want || viaMMIO != want {
		t.Errorf("IDR0-5 through I/O %x, through MMIO %x; want %x", viaIO, viaMMIO, want)
	}
	if _, err := drv.cl.MMIORead(0, 0, 4); !errors.Is(err, devchan.StatusBadBAR) {
		t.Errorf("MMIO on the I/O BAR: %v, want %v", err, devchan.StatusBadBAR)
	}
	if _, err := drv.cl.IORead(1, 0, 4); !errors.Is(err, devchan.StatusBadBAR) {
		t.Errorf("I/O on the memory BAR: %v, want %v", err, devchan.StatusBadBAR)
	}
	if _, ok := m.Function().Model().(RTL8139); !ok {
		t.Errorf("model is %T", m.Function().Model())
	}
	if s := m.Function().Model().(RTL8139).Stats(); s.BadAccesses != 0 || s.Resets != 1 {
		t.Errorf("model stats %+v: want no bad access and the attach's reset", s)
	}
}

func TestLookupModel(t *testing.T) {
	for _, name := range []string{"e1000", "rtl8139"} {
		s, err := LookupModel(name)
		if err != nil || s.Name != name {
			t.Errorf("LookupModel(%q) = %+v, %v", name, s, err)
		}
	}
	if _, err := LookupModel("E1000"); err == nil {
		t.Error("LookupModel is case-insensitive")
	}
}
