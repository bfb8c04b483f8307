package rtl8139

import (
	"errors"
	"reflect"
	"testing"
	"time"
)

// TestInterruptMaskStatus: ISR accumulates, IMR gates the line, writing
// 1 clears a bit, reading does not, a byte write acts only on its bits.
func TestInterruptMaskStatus(t *testing.T) {
	h := newHarness(t, nil)
	w16 := func(off uint32, v uint64) { h.dev.WriteMMIO(off, 2, v) }
	r16 := func(off uint32) uint64 { return h.dev.ReadMMIO(off, 2) }
	h.dev.WriteMMIO(ChipCmd, 1, CmdTxEnb)
	h.dev.WriteMMIO(TxStatus0, 4, 60) // TxOK
	h.dev.SetLink(false)              // RxUnderrun
	for _, tc := range []struct {
		name  string
		op    func()
		isr   uint64
		imr   uint64
		level bool
	}{
		{"causes, masked", func() {}, TxOK | RxUnderrun, 0, false},
		{"read keeps", func() { r16(IntrStatus) }, TxOK | RxUnderrun, 0, false},
		{"unmask TxOK", func() { w16(IntrMask, TxOK) }, TxOK | RxUnderrun, TxOK, true},
		{"mask drops reserved", func() { w16(IntrMask, 0xFFFF) }, TxOK | RxUnderrun, 0xE07F, true},
		{"W1C RxUnderrun", func() { w16(IntrStatus, RxUnderrun) }, TxOK, 0xE07F, true},
		{"W1C zero is a no-op", func() { w16(IntrStatus, 0) }, TxOK, 0xE07F, true},
		{"byte write high", func() { h.dev.WriteMMIO(IntrStatus+1, 1, 0xFF) }, TxOK, 0xE07F, true},
		{"byte write low", func() { h.dev.WriteMMIO(IntrStatus, 1, TxOK) }, 0, 0xE07F, false},
		{"link back", func() { h.dev.SetLink(true) }, RxUnderrun, 0xE07F, true},
		{"mask off", func() { w16(IntrMask, 0) }, RxUnderrun, 0, false},
	} {
		tc.op()
		if isr, imr := r16(IntrStatus), r16(IntrMask); isr != tc.isr || imr != tc.imr || h.irq.level != tc.level {
			t.Errorf("%s: ISR %#04x IMR %#04x line %v, want %#04x %#04x %v", tc.name, isr, imr, h.irq.level, tc.isr, tc.imr, tc.level)
		}
	}
	if want := []bool{true, false, true, false}; !reflect.DeepEqual(h.irq.sets, want) {
		t.Errorf("line transitions %v, want %v", h.irq.sets, want)
	}
	if s := h.dev.Stats(); s.Interrupts != 2 {
		t.Errorf("interrupts %d", s.Interrupts)
	}
}

// TestReset: CR.RST and the receiver restart of rtl8139_rx_err.
func TestReset(t *testing.T) {
	d := up(t, false, nil)
	d.mc = [][6]byte{{0x01, 0, 0x5E, 0, 0, 1}}
	d.setRxMode()
	d.xmit(frame(peerMAC, 60, 0))
	d.dev.Receive(frame(testMAC, 100, 0))
	mar := [2]uint32{d.r32(MAR0), d.r32(MAR0 + 4)}
	if mar == [2]uint32{} {
		t.Fatal("no multicast bit set")
	}
	// rtl8139_rx_err: receiver off and on, RxConfig again: ring empty at 0.
	d.rxErr()
	if d.r16(RxBufAddr) != 0 || d.r16(RxBufPtr) != 0xFFF0 || d.r8(ChipCmd) != CmdRxEnb|CmdTxEnb|RxBufEmpty {
		t.Errorf("after rx_err: CBR %#x CAPR %#x CR %#x", d.r16(RxBufAddr), d.r16(RxBufPtr), d.r8(ChipCmd))
	}
	d.w8(ChipCmd, CmdReset)
	for _, tc := range []struct {
		name string
		off  uint32
		size int
		want uint32
	}{
		{"CR", ChipCmd, 1, RxBufEmpty},
		{"IDR0-3 kept", MAC0, 4, 0x12005452},
		{"MAR0-3 kept", MAR0, 4, mar[0]},
		{"MAR4-7 kept", MAR0 + 4, 4, mar[1]},
		{"TSD0", TxStatus0, 4, TxHostOwns},
		{"TSAD", TxSummary, 2, 0x000F},
		{"IMR", IntrMask, 2, 0},
		{"ISR", IntrStatus, 2, 0},
		{"RCR", RxConfig, 4, 0},
		{"TCR", TxConfig, 4, HWRevRTL8139C},
		{"RBSTART", RxBuf, 4, 0},
		{"CAPR", RxBufPtr, 2, 0xFFF0},
		{"CBR", RxBufAddr, 2, 0},
		{"TxAddr0 kept", TxAddr0, 4, 0x2000},
	} {
		if got := d.r(tc.off, tc.size); got != tc.want {
			t.Errorf("%s = %#x, want %#x", tc.name, got, tc.want)
		}
	}
	if d.irq.level {
		t.Error("line still up after reset")
	}
	// TCR ignores writes while the transmitter is off.
	d.w32(TxConfig, rtl8139TxConfig)
	if got := d.r32(TxConfig); got != HWRevRTL8139C {
		t.Errorf("TCR with TE off = %#x", got)
	}
	// The driver comes back: descriptor 0 first again.
	d.open()
	if d.xmit(frame(peerMAC, 60, 0)) != 0 || len(d.wire.frames) != 2 {
		t.Errorf("after reset: %d frames", len(d.wire.frames))
	}
}

// TestMIIAndLink: mdio_read/mdio_write through the mapped registers,
// and a cable pull seen the way rtl8139_interrupt sees it.
func TestMIIAndLink(t *testing.T) {
	d := up(t, true, nil)
	for loc, want := range []uint16{0x1000, 0x782D, 0, 0, 0x05E1, 0x45E1, 0x0001, 0} {
		if got := d.mdioRead(loc); got != want {
			t.Errorf("MII %d = %#04x, want %#04x", loc, got, want)
		}
	}
	d.mdioWrite(0, 0x2100) // force 100 full (8139too's media= option)
	d.mdioWrite(4, 0x0101)
	if got, adv := d.mdioRead(0), d.mdioRead(4); got != 0x2100 || adv != 0x0101 {
		t.Errorf("after writes BMCR %#04x ANAR %#04x", got, adv)
	}
	d.w16(BasicModeCtrl, 0x1000) // locked: dropped
	d.mdioWrite(0, 0x8000)       // PHY reset self-clears to defaults
	if got := d.mdioRead(0); got != 0x1000 || d.dev.Stats().LockedWrites != 1 {
		t.Errorf("BMCR %#04x locked writes %d", got, d.dev.Stats().LockedWrites)
	}
	for _, tc := range []struct {
		up         bool
		bmsr, lpar uint16
		msr        uint8
		cscr       uint16
	}{
		{false, 0x7809, 0, 0xD4, 0x0B40},
		{true, 0x782D, 0x45E1, 0xD0, 0x0F40},
	} {
		d.dev.SetLink(tc.up)
		if got := d.r16(IntrStatus); got != RxUnderrun {
			t.Errorf("link %v: IntrStatus %#04x", tc.up, got)
		}
		if bmsr, lpar, msr := d.mdioRead(1), d.mdioRead(5), d.r8(MediaStatus); bmsr != tc.bmsr || lpar != tc.lpar || msr != tc.msr {
			t.Errorf("link %v: BMSR %#04x LPAR %#04x MSR %#02x", tc.up, bmsr, lpar, msr)
		}
		if got := d.r16(CSCR); got != tc.cscr {
			t.Errorf("link %v: CSCR %#04x, want %#04x", tc.up, got, tc.cscr)
		}
		if got := d.r16(CSCR); got&0x0800 != 0 {
			t.Errorf("link-change bit not cleared by the read: %#04x", got)
		}
		d.dev.SetLink(!tc.up) // once more, for the driver this time
		d.dev.SetLink(tc.up)
		d.service()
		if d.link != tc.up {
			t.Errorf("driver's link %v, want %v", d.link, tc.up)
		}
	}
}

// TestRegisterAccess: unknown registers, bad accesses, accesses spanning
// registers, locked config registers, and the debug list.
func TestRegisterAccess(t *testing.T) {
	h := newHarness(t, nil)
	dev := h.dev
	dev.WriteMMIO(0xE0, 2, 0x0001) // C+ CpCmd: not modelled
	if got := dev.ReadIO(0xE0, 2); got != 0 {
		t.Errorf("CpCmd reads %#x", got)
	}
	dev.ReadMMIO(0xE0, 1)
	dev.WriteMMIO(0x3, 2, 0)           // misaligned
	dev.ReadIO(0xFE, 4)                // misaligned and past the end
	dev.ReadMMIO(0x100, 1)             // outside
	dev.WriteIO(0x10, 3, 0)            // bad size
	dev.WriteMMIO(0x04, 4, 0xAABBCCDD) // IDR4-5 + reserved
	if got := dev.ReadMMIO(0x04, 4); got != 0x0000CCDD {
		t.Errorf("IDR4-7 = %#x, want 0xccdd", got)
	}
	dev.WriteMMIO(MAR0, 8, 0x0807060504030201)
	if got := dev.ReadMMIO(MAR0, 8); got != 0x0807060504030201 {
		t.Errorf("MAR as one 8-byte read = %#x", got)
	}
	dev.ReadMMIO(0x0C, 8)           // misaligned
	dev.WriteIO(0x08, 8, 0)         // port I/O is at most 32 bits
	dev.WriteMMIO(Config1, 1, 0xFF) // locked
	dev.WriteMMIO(Cfg9346, 1, Cfg9346_Unlock)
	dev.WriteMMIO(Config1, 1, 0x00)
	dev.WriteMMIO(regConfig5, 1, 0xFF) // needs no unlock
	if c1, c5 := dev.ReadMMIO(Config1, 1), dev.ReadMMIO(0xD8, 1); c1 != 0x0C || c5 != 0x7F {
		t.Errorf("Config1 %#x Config5 %#x, want 0x0c 0x7f", c1, c5)
	}
	want := []EventKind{EventUnknownRegister, EventUnknownRegister, EventBadAccess, EventBadAccess, EventBadAccess, EventBadAccess, EventBadAccess, EventBadAccess}
	if got := h.eventKinds(); !reflect.DeepEqual(got, want) {
		t.Errorf("events %v, want %v", h.events, want)
	}
	wantU := []UnknownAccess{{Off: 0xE0, Reads: 2, Writes: 1, LastWrite: 1}, {Off: 0xE1, Reads: 1, Writes: 1}}
	if got := dev.Unknown(); !reflect.DeepEqual(got, wantU) {
		t.Errorf("unknown %+v, want %+v", got, wantU)
	}
	if s := dev.Stats(); s.BadAccesses != 6 || s.LockedWrites != 1 || s.UnknownReads != 3 || s.UnknownWrites != 2 {
		t.Errorf("stats %+v", s)
	}
	if RegName(0x37) != "CR" || RegName(0x3F) != "ISR" || RegName(0xE0) != "" || RegName(0x1000) != "" {
		t.Error("RegName")
	}
}

// TestTimer: TCTR counts PCI clocks from its last write; TimerInt raises
// PCSTimeout through Tick, with Wake telling the owner when.
func TestTimer(t *testing.T) {
	clk := &fakeClock{}
	var wakes []time.Duration
	h := newHarness(t, func(c *Config) {
		c.Clock = clk
		c.Wake = func(at time.Duration) { wakes = append(wakes, at) }
	})
	dev := h.dev
	clk.now = time.Millisecond
	dev.WriteMMIO(regTCTR, 4, 0) // count from 1 ms
	clk.now += 10 * time.Microsecond
	if got := dev.ReadMMIO(regTCTR, 4); got != 330 {
		t.Errorf("TCTR after 10 µs = %d, want 330", got)
	}
	dev.WriteMMIO(IntrMask, 2, PCSTimeout)
	dev.WriteMMIO(regTimerInt, 4, 3300) // 100 µs after the TCTR write
	at, ok := dev.NextDeadline()
	if !ok || at != time.Millisecond+100*time.Microsecond || !reflect.DeepEqual(wakes, []time.Duration{at}) {
		t.Fatalf("deadline %v %v wakes %v", at, ok, wakes)
	}
	clk.now = at - 1
	dev.Tick()
	if h.irq.level {
		t.Fatal("fired early")
	}
	clk.now = at
	dev.Tick()
	if got := dev.ReadMMIO(IntrStatus, 2); got != PCSTimeout || !h.irq.level {
		t.Errorf("IntrStatus %#x line %v", got, h.irq.level)
	}
	if next, _ := dev.NextDeadline(); next != time.Millisecond+ticksToDuration(1<<32+3300) {
		t.Errorf("re-armed for %v", next)
	}
	dev.WriteMMIO(regTimerInt, 4, 0)
	if _, ok := dev.NextDeadline(); ok {
		t.Error("TimerInt 0 leaves the timer armed")
	}
}

func TestEventStringAndNew(t *testing.T) {
	for _, tc := range []struct {
		e    Event
		want string
	}{
		{Event{Kind: EventDMARefused, Ring: "rx", Addr: 0x10000, Len: 68, What: "receive ring write", Err: errors.New("outside")},
			"rx dma-refused: receive ring write (addr 0x10000 len 68): outside"},
		{Event{Kind: EventUnknownRegister, Addr: 0xE0, Len: 1, What: "first read of unmodelled register 0xe0"},
			"unknown-register: first read of unmodelled register 0xe0 (addr 0xe0 len 1)"},
		{Event{Kind: EventKind(99), What: "x"}, "event(99): x"},
	} {
		if got := tc.e.String(); got != tc.want {
			t.Errorf("got  %q\nwant %q", got, tc.want)
		}
	}
	p := &pool{mem: make([]byte, 16)}
	for _, c := range []Config{
		{},
		{DMA: p, MAC: [6]byte{1}},
		{DMA: p, EEPROM: make([]uint16, 3)},
		{DMA: p, HWRevision: 1},
	} {
		if _, err := New(c); err == nil {
			t.Errorf("New(%+v) accepted", c)
		}
	}
}

// TestPowerOnReset: Reset reloads IDR from the EEPROM and returns the
// configuration registers and the clock to their defaults, which CR.RST
// leaves alone; the cable and the EEPROM stay as they were.
func TestPowerOnReset(t *testing.T) {
	d := up(t, false, func(c *Config) { c.HWRevision = HWRevQEMU })
	d.w8(Cfg9346, Cfg9346_Unlock)
	d.w32(MAC0, 0x44332211)
	d.w8(Config3, 0x71)
	d.mdioWrite(0, 0x2100)
	d.w8(HltClk, 'H')
	d.dev.SetLink(false)
	d.dev.Reset()
	for _, tc := range []struct {
		name string
		off  uint32
		size int
		want uint32
	}{
		{"IDR0-3 from EEPROM", MAC0, 4, 0x12005452},
		{"Cfg9346", Cfg9346, 1, 0},
		{"Config3", Config3, 1, 0x01},
		{"BMCR", BasicModeCtrl, 2, 0x1000},
		{"BMSR (cable still out)", BasicModeStatus, 2, 0x7809},
		{"TCR", TxConfig, 4, HWRevQEMU},
		{"IntrStatus", IntrStatus, 2, 0},
	} {
		if got := d.r(tc.off, tc.size); got != tc.want {
			t.Errorf("%s = %#x, want %#x", tc.name, got, tc.want)
		}
	}
	if d.dev.halted || d.irq.level {
		t.Errorf("halted %v line %v after reset", d.dev.halted, d.irq.level)
	}
}

// TestEEPROMCommands: ERASE, WRAL, ERAL and EWDS as a 93C46 does them.
func TestEEPROMCommands(t *testing.T) {
	d := newDriver(t, false, nil)
	cmd := func(bits uint32, n int) {
		d.w8(Cfg9346, 0x80)
		d.w8(Cfg9346, 0x88)
		for i := n - 1; i >= 0; i-- {
			v := uint8(0x88) | uint8(bits>>i&1)<<1
			d.w8(Cfg9346, v)
			d.w8(Cfg9346, v|0x04)
		}
		d.w8(Cfg9346, 0x80)
	}
	const ewen, ewds = 0b1_00_110000, 0b1_00_000000
	for _, tc := range []struct {
		name  string
		bits  uint32
		n     int
		word  int
		want  uint16
		check int
	}{
		{"ERASE disabled", 0b1_11_000111, 9, 7, 0x5452, 7},
		{"ERASE", 0b1_11_000111, 9, 7, 0xFFFF, 7},
		{"WRAL", 0b1_00_010000<<16 | 0xA5A5, 25, 0, 0xA5A5, 63},
		{"ERAL", 0b1_00_100000, 9, 0, 0xFFFF, 0},
	} {
		if tc.name != "ERASE disabled" {
			cmd(ewen, 9)
		}
		cmd(tc.bits, tc.n)
		cmd(ewds, 9)
		if got := d.dev.EEPROM()[tc.check]; got != tc.want {
			t.Errorf("%s: word %d = %#04x, want %#04x", tc.name, tc.check, got, tc.want)
		}
	}
	if got := d.readEEPROM(5, 6); got != 0xFFFF {
		t.Errorf("read after ERAL = %#04x", got)
	}
}
