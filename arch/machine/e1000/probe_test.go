package e1000

import (
	"testing"
)

// TestBringUp runs the Linux driver's probe, open and first watchdog
// against the model and checks the state it leaves — and that the driver
// touched no register the model does not know.
func TestBringUp(t *testing.T) {
	d := newDriver(t)
	d.bringUp()
	if d.mac != testMAC {
		t.Errorf("MAC from EEPROM = %x, want %x", d.mac, testMAC)
	}
	for _, tc := range []struct {
		name string
		off  uint32
		want uint32
	}{
		{"STATUS link up, 1000 Mb/s, full duplex", regSTATUS, 0x283},
		{"CTRL SLU, flow control, speed bits from reset", regCTRL, ctrlFD | ctrlASDE | ctrlSLU | 2<<8 | ctrlRFCE | ctrlTFCE},
		{"RAL0", regRA, 0x12005452},
		{"RAH0 with AV", regRA + 4, 0x80005634},
		{"RAH1 cleared", regRA + 12, 0},
		{"TDLEN", regTDLEN, 64 * 16},
		{"RDLEN", regRDLEN, 64 * 16},
		{"RDT = last filled", regRDT, 62},
		{"RDH", regRDH, 0},
		{"IMS", regIMS, IntRXT0 | IntTXDW | IntRXDMT0 | IntRXSEQ | IntLSC},
		{"ICR cleared by the ISR read", regICR, 0},
		{"TCTL enabled by the watchdog", regTCTL, tctlEN | tctlPSP | 15<<4 | 63<<12 | 1<<24},
		{"RCTL", regRCTL, rctlEN | rctlBAM},
		{"RXCSUM", regRXCSUM, rxcsumIPOFL | rxcsumTUOFL},
		{"TXDCTL", regTXDCTL, 0x01010000},
		{"VET", regVET, 0x8100},
		{"ITR", regITR, 195},
	} {
		if got := d.r32(tc.off); got != tc.want {
			t.Errorf("%s: %s = %#x, want %#x", tc.name, RegName(tc.off), got, tc.want)
		}
	}
	if u := d.dev.Unknown(); len(u) != 0 {
		t.Errorf("driver touched unknown registers: %+v", u)
	}
	if len(d.events) != 0 {
		t.Errorf("events during bring-up: %v", d.events)
	}
	if s := d.dev.Stats(); s.Resets != 2 || s.Interrupts != 1 || !d.irq.sets[0] {
		t.Errorf("resets %d, interrupts %d, line %v", s.Resets, s.Interrupts, d.irq.sets)
	}
}

func TestDefaultEEPROM(t *testing.T) {
	w := DefaultEEPROM(testMAC)
	var sum uint16
	for _, v := range w {
		sum += v
	}
	if sum != 0xBABA {
		t.Errorf("sum of words 0x00-0x3F = %#x, want 0xBABA", sum)
	}
	for _, tc := range []struct {
		word int
		want uint16
	}{
		{0, 0x5452}, {1, 0x1200}, {2, 0x5634},
		{eeIDLED, 0x8911},
		{eeSubsystemID, 0x001E}, {eeSubsysVenID, 0x8086},
		{eeDeviceID, 0x100E}, {eeVendorID, 0x8086},
		{eeInitCtrl2, 0x3000}, {eeInitCtrl3, 0x0000},
		{0x30, 0xFFFF},
	} {
		if w[tc.word] != tc.want {
			t.Errorf("word %#x = %#04x, want %#04x", tc.word, w[tc.word], tc.want)
		}
	}
}

func TestEERD(t *testing.T) {
	h := newHarness(t)
	want := DefaultEEPROM(testMAC)
	for _, addr := range []uint32{0, 1, 2, eeDeviceID, eeInitCtrl2, eeChecksum} {
		h.w32(regEERD, addr<<eerdAddrShift|eerdStart)
		got := h.r32(regEERD)
		if got&eerdDone == 0 || got>>16 != uint32(want[addr]) || got>>8&0xFF != addr {
			t.Errorf("EERD word %#x = %#08x, want data %#04x with DONE", addr, got, want[addr])
		}
	}
	h.w32(regEERD, 0x80<<eerdAddrShift|eerdStart)
	if got := h.r32(regEERD); got != 0x80<<8|eerdDone {
		t.Errorf("EERD beyond the EEPROM = %#x", got)
	}
	if got := h.eventKinds(); len(got) != 1 || got[0] != EventBadAccess {
		t.Errorf("events %v", got)
	}
}

func TestEEPROMMicrowire(t *testing.T) {
	d := newDriver(t)
	for i := uint16(0); i < EEPROMWords; i++ {
		if got, want := d.eeRead(i), DefaultEEPROM(testMAC)[i]; got != want {
			t.Fatalf("word %#x = %#04x, want %#04x", i, got, want)
		}
	}
	// A write (ethtool -E path) lands, persists across CTRL.RST, and is
	// visible through EERD as well.
	d.eeWrite(0x30, 0xBEEF)
	d.resetHW()
	if got := d.eeRead(0x30); got != 0xBEEF {
		t.Errorf("after write and reset: %#04x", got)
	}
	d.w32(regEERD, 0x30<<eerdAddrShift|eerdStart)
	if got := d.r32(regEERD) >> 16; got != 0xBEEF {
		t.Errorf("EERD after write: %#04x", got)
	}
	// Without EWEN a write does nothing.
	if err := d.eeAcquire(); err != nil {
		t.Fatal(err)
	}
	d.eeShiftOut(0x5, 3)
	d.eeShiftOut(0x31, 6)
	d.eeShiftOut(0x1234, 16)
	d.eeStandby()
	d.eeRelease()
	if got := d.eeRead(0x31); got != 0xFFFF {
		t.Errorf("write without EWEN changed word 0x31 to %#04x", got)
	}
}

func TestEEPROMNeedsGrant(t *testing.T) {
	h := newHarness(t)
	if got := h.r32(regEECD); got != eecdPRES|eecdDO {
		t.Errorf("EECD at reset = %#x", got)
	}
	// Clocking a READ without REQ reaches no EEPROM: DO stays high.
	for _, v := range []uint32{eecdCS, eecdCS | eecdDI, eecdCS | eecdDI | eecdSK, eecdCS | eecdDI} {
		h.w32(regEECD, v)
	}
	if got := h.r32(regEECD); got&eecdGNT != 0 || got&eecdDO == 0 {
		t.Errorf("EECD without REQ = %#x", got)
	}
}

func TestBadChecksumImage(t *testing.T) {
	img := DefaultEEPROM(testMAC)
	img[eeChecksum]++
	d := newDriver(t, func(c *Config, _ *harness) { c.EEPROM = img[:] })
	var sum uint16
	for i := uint16(0); i <= eeChecksum; i++ {
		sum += d.eeRead(i)
	}
	if sum != 0xBABB {
		t.Errorf("checksum over a corrupted image = %#x, want 0xBABB", sum)
	}
	if _, err := New(Config{DMA: &pool{}, EEPROM: make([]uint16, 10)}); err == nil {
		t.Error("New accepted a 10-word EEPROM")
	}
	if _, err := New(Config{DMA: &pool{}, MAC: [6]byte{1}}); err == nil {
		t.Error("New accepted a multicast MAC")
	}
	if _, err := New(Config{}); err == nil {
		t.Error("New accepted a nil DMA")
	}
}

func TestPHYRegisters(t *testing.T) {
	d := newDriver(t)
	d.w32(regCTRL, d.r32(regCTRL)|ctrlSLU)
	for _, tc := range []struct {
		reg  uint32
		want uint16
	}{
		{phyBMCR, 0x1140},
		{phyBMSR, 0x796D},
		{phyID1, 0x0141},
		{phyID2, 0x0C20},
		{phyANAR, 0x0DE1},
		{phyANLPAR, 0x45E1},
		{phyANER, 0x0001},
		{phyGCR, 0x0300},
		{phyGSR, 0x3C00},
		{phyESR, 0x3000},
		{phyPSSR, 0xAC00},
		{phyRXERR, 0},
	} {
		if got := d.mustPhy(tc.reg); got != tc.want {
			t.Errorf("PHY reg %d = %#04x, want %#04x", tc.reg, got, tc.want)
		}
	}
	// Read-only registers ignore writes; configuration ones keep them.
	d.phyWrite(phyID1, 0)
	d.phyWrite(phyPSCR, 0x0868)
	if d.mustPhy(phyID1) != 0x0141 || d.mustPhy(phyPSCR) != 0x0868 {
		t.Error("PHY write masks")
	}
	// Software reset and AN restart self-clear.
	d.phyWrite(phyBMCR, 0x1140|bmcrReset|bmcrRestart)
	if got := d.mustPhy(phyBMCR); got != 0x1140 {
		t.Errorf("BMCR after reset = %#04x", got)
	}
	// Other PHY addresses do not answer; bad opcodes fail.
	d.w32(regMDIC, 2<<mdicPhyShift|mdicOpRead)
	if got := d.r32(regMDIC); got&(mdicReady|mdicError) != mdicReady|mdicError {
		t.Errorf("MDIC to PHY 2 = %#x", got)
	}
	d.w32(regMDIC, 1<<mdicPhyShift|3<<26)
	if got := d.r32(regMDIC); got&mdicError == 0 {
		t.Errorf("MDIC with opcode 3 = %#x", got)
	}
	// MDIC with the interrupt bit raises MDAC.
	d.r32(regICR)
	d.w32(regMDIC, 1<<mdicPhyShift|mdicOpRead|mdicIntEn)
	if got := d.r32(regICR); got != IntMDAC {
		t.Errorf("ICR after MDIC with I = %#x", got)
	}
}

func TestLinkChanges(t *testing.T) {
	d := newDriver(t)
	d.bringUp()
	type step struct {
		name       string
		do         func()
		wantStatus uint32
		wantICR    uint32
		wantBMSR   [2]uint16 // two reads: latched, then current
	}
	for _, s := range []step{
		{"cable out", func() { d.dev.SetLink(false) }, 0, IntLSC, [2]uint16{0x7949, 0x7949}},
		{"cable in", func() { d.dev.SetLink(true) }, 0x283, IntLSC, [2]uint16{0x796D, 0x796D}},
		{"drop and return before a read latches low", func() { d.dev.SetLink(false); d.dev.SetLink(true) }, 0x283, IntLSC, [2]uint16{0x7969, 0x796D}},
		{"PHY power down", func() { d.phyWrite(phyBMCR, 0x1140|bmcrPwrDown) }, 0, IntLSC, [2]uint16{0x7949, 0x7949}},
		{"PHY power up", func() { d.phyWrite(phyBMCR, 0x1140) }, 0x283, IntLSC, [2]uint16{0x796D, 0x796D}},
		{"forced 100 full", func() { d.phyWrite(phyBMCR, bmcrSpeedLSB|bmcrFD) }, 0x143, 0, [2]uint16{0x794D, 0x794D}},
		{"forced 10 half", func() { d.phyWrite(phyBMCR, 0) }, 0x002, 0, [2]uint16{0x794D, 0x794D}},
		{"autoneg advertising 100 half only", func() {
			d.phyWrite(phyGCR, 0)
			d.phyWrite(phyANAR, 0x0081)
			d.phyWrite(phyBMCR, 0x1000|bmcrRestart)
		}, 0x142, 0, [2]uint16{0x796D, 0x796D}},
		{"nothing advertised", func() { d.phyWrite(phyANAR, 0x0001) }, 0, IntLSC, [2]uint16{0x7949, 0x7949}},
		{"SLU cleared", func() {
			d.phyWrite(phyANAR, 0x01E1)
			d.r32(regICR)
			d.w32(regCTRL, d.r32(regCTRL)&^ctrlSLU)
		}, 0, IntLSC, [2]uint16{0x796D, 0x796D}},
	} {
		d.r32(regICR)
		s.do()
		if got := d.r32(regSTATUS); got != s.wantStatus {
			t.Errorf("%s: STATUS = %#x, want %#x", s.name, got, s.wantStatus)
		}
		if got := d.r32(regICR); got != s.wantICR {
			t.Errorf("%s: ICR = %#x, want %#x", s.name, got, s.wantICR)
		}
		for i, want := range s.wantBMSR {
			if got := d.mustPhy(phyBMSR); got != want {
				t.Errorf("%s: BMSR read %d = %#04x, want %#04x", s.name, i, got, want)
			}
		}
	}
}

func TestCTRLReset(t *testing.T) {
	d := newDriver(t)
	d.bringUp()
	d.w32(regRA+8, 0xAABBCCDD)
	d.w32(regMTA+4, 0xFF)
	d.w32(regITR, 100)
	d.w32(regCTRL, d.r32(regCTRL)|ctrlRST)
	for _, tc := range []struct {
		off, want uint32
	}{
		{regCTRL, ctrlFD | ctrlASDE | 2<<8},
		{regSTATUS, 0},
		{regRCTL, 0},
		{regTCTL, tctlPSP | 0xF<<4 | 0x40<<12},
		{regIMS, 0},
		{regICR, 0},
		{regITR, 0},
		{regTDLEN, 0},
		{regRDT, 0},
		{regRA, 0x12005452},
		{regRA + 4, 0x80005634},
		{regRA + 8, 0},
		{regMTA + 4, 0},
		{regVET, 0x8100},
		{regPBA, 0x30},
		{regRXCSUM, 0x300},
		{regMDIC, mdicReady},
	} {
		if got := d.r32(tc.off); got != tc.want {
			t.Errorf("after RST %s = %#x, want %#x", RegName(tc.off), got, tc.want)
		}
	}
	if d.irq.level {
		t.Error("line still raised after reset")
	}
	// The PHY survives a MAC reset; SLU brings the link straight back.
	d.w32(regCTRL, d.r32(regCTRL)|ctrlSLU)
	if got := d.r32(regSTATUS); got != 0x283 {
		t.Errorf("STATUS after SLU = %#x", got)
	}
}

func TestPHYHardReset(t *testing.T) {
	d := newDriver(t)
	d.bringUp()
	d.phyWrite(phyPSCR, 0x0F00)
	ctrl := d.r32(regCTRL)
	d.w32(regCTRL, ctrl|ctrlPHYRST)
	if got := d.r32(regSTATUS); got != 0 {
		t.Errorf("STATUS with PHY in reset = %#x", got)
	}
	if _, err := d.phyRead(phyBMSR); err == nil {
		t.Error("PHY in reset answered MDIO")
	}
	d.w32(regCTRL, ctrl)
	if got := d.r32(regSTATUS); got != 0x283 {
		t.Errorf("STATUS after PHY reset = %#x", got)
	}
	if got := d.mustPhy(phyPSCR); got != 0x0068 {
		t.Errorf("PSCR after hardware reset = %#04x, want default 0x0068", got)
	}
	if got := d.r32(regICR); got != IntLSC {
		t.Errorf("ICR = %#x, want LSC", got)
	}
}

func TestDeviceReset(t *testing.T) {
	d := newDriver(t)
	d.bringUp()
	d.dev.SetLink(false)
	d.phyWrite(phyPSCR, 0x0F00)
	d.dev.Reset()
	if got := d.mustPhy(phyPSCR); got != 0x0068 {
		t.Errorf("PSCR after power-on reset = %#04x", got)
	}
	d.w32(regCTRL, ctrlSLU)
	if got := d.r32(regSTATUS); got != 0 {
		t.Errorf("cable stays out across Reset; STATUS = %#x", got)
	}
}
