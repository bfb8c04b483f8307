package e1000

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"
	"time"
)

// pool is a fake DMA window: bus addresses are offsets into mem; every
// access outside it is refused, as the machine's IOMMU does.
type pool struct {
	mem           []byte
	reads, writes int
	refusedAddrs  []uint64
	failWriteAt   uint64 // a write starting here fails (0 = none)
}

var errOutside = errors.New("outside the DMA pool")

func (p *pool) check(addr uint64, n int) error {
	if addr >= uint64(len(p.mem)) || uint64(n) > uint64(len(p.mem))-addr {
		p.refusedAddrs = append(p.refusedAddrs, addr)
		return errOutside
	}
	return nil
}

func (p *pool) Read(addr uint64, b []byte) error {
	p.reads++
	if err := p.check(addr, len(b)); err != nil {
		return err
	}
	copy(b, p.mem[addr:])
	return nil
}

func (p *pool) Write(addr uint64, b []byte) error {
	p.writes++
	if p.failWriteAt != 0 && addr == p.failWriteAt {
		p.refusedAddrs = append(p.refusedAddrs, addr)
		return errOutside
	}
	if err := p.check(addr, len(b)); err != nil {
		return err
	}
	copy(p.mem[addr:], b)
	return nil
}

type wire struct {
	frames [][]byte
	err    error
}

func (w *wire) Send(f []byte) error {
	if w.err != nil {
		return w.err
	}
	w.frames = append(w.frames, append([]byte(nil), f...))
	return nil
}

type line struct {
	level  bool
	raises int
	sets   []bool
}

func (l *line) Set(v bool) {
	l.sets = append(l.sets, v)
	if v && !l.level {
		l.raises++
	}
	l.level = v
}

type fakeClock struct{ now time.Duration }

func (c *fakeClock) Now() time.Duration { return c.now }

var testMAC = [6]byte{0x52, 0x54, 0x00, 0x12, 0x34, 0x56}

// harness is a device with fakes around it.
type harness struct {
	t      *testing.T
	dev    *Device
	mem    *pool
	wire   *wire
	irq    *line
	clock  *fakeClock
	events []Event
}

type option func(*Config, *harness)

func withClock(c *Config, h *harness) { h.clock = &fakeClock{}; c.Clock = h.clock }

func newHarness(t *testing.T, opts ...option) *harness {
	t.Helper()
	h := &harness{t: t, mem: &pool{mem: make([]byte, 1<<20)}, wire: &wire{}, irq: &line{}}
	cfg := Config{MAC: testMAC, DMA: h.mem, Wire: h.wire, IRQ: h.irq,
		OnEvent: func(e Event) { h.events = append(h.events, e) }}
	for _, o := range opts {
		o(&cfg, h)
	}
	d, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	h.dev = d
	return h
}

func (h *harness) r32(off uint32) uint32    { return uint32(h.dev.ReadMMIO(off, 4)) }
func (h *harness) w32(off uint32, v uint32) { h.dev.WriteMMIO(off, 4, uint64(v)) }

func (h *harness) eventKinds() []EventKind {
	var out []EventKind
	for _, e := range h.events {
		out = append(out, e.Kind)
	}
	return out
}

// drv is a test driver that touches the device the way Linux 6.1's e1000
// does for an 82540 (e1000_main.c, e1000_hw.c): the same registers, the
// same bits, in the same order.
type drv struct {
	*harness
	mac              [6]byte
	txBase, rxBase   uint64
	txCount, rxCount uint32
	txNext, txClean  uint32
	rxNext, rxClean  uint32
	received         [][]byte
}

const (
	bufSize   = 2048
	descArea  = 0x1000
	rxBufArea = 0x40000
	txBufArea = 0x80000
)

func newDriver(t *testing.T, opts ...option) *drv {
	return &drv{harness: newHarness(t, opts...)}
}

// ioWrite is E1000_WRITE_REG_IO: IOADDR then IODATA.
func (d *drv) ioWrite(reg, v uint32) {
	d.dev.WriteIO(ioADDR, 4, reg)
	d.dev.WriteIO(ioDATA, 4, v)
}

// resetHW is e1000_reset_hw for the 82540.
func (d *drv) resetHW() {
	d.w32(regIMC, 0xFFFFFFFF)
	d.w32(regRCTL, 0)
	d.w32(regTCTL, tctlPSP)
	d.r32(regSTATUS)
	ctrl := d.r32(regCTRL)
	d.ioWrite(regCTRL, ctrl|ctrlRST)
	manc := d.r32(regMANC)
	d.w32(regMANC, manc&^(1<<13))
	d.w32(regIMC, 0xFFFFFFFF)
	d.r32(regICR)
}

// EEPROM bit-banging, as e1000_acquire_eeprom / shift_out_ee_bits /
// shift_in_ee_bits / standby / release do for Microwire.
func (d *drv) eecdWrite(v uint32) { d.w32(regEECD, v); d.r32(regSTATUS) }

func (d *drv) eeAcquire() error {
	eecd := d.r32(regEECD) | eecdREQ
	d.w32(regEECD, eecd)
	for i := 0; i < 1000; i++ {
		if eecd = d.r32(regEECD); eecd&eecdGNT != 0 {
			eecd &^= eecdDI | eecdSK
			d.w32(regEECD, eecd)
			d.w32(regEECD, eecd|eecdCS)
			return nil
		}
	}
	return errors.New("no EEPROM grant")
}

func (d *drv) eeShiftOut(data uint16, count int) {
	eecd := d.r32(regEECD) &^ eecdDO
	for mask := uint16(1) << (count - 1); mask != 0; mask >>= 1 {
		eecd &^= eecdDI
		if data&mask != 0 {
			eecd |= eecdDI
		}
		d.eecdWrite(eecd)
		d.eecdWrite(eecd | eecdSK)
		d.eecdWrite(eecd)
	}
	d.w32(regEECD, eecd&^eecdDI)
}

func (d *drv) eeShiftIn(count int) uint16 {
	eecd := d.r32(regEECD) &^ (eecdDO | eecdDI)
	var data uint16
	for i := 0; i < count; i++ {
		data <<= 1
		d.eecdWrite(eecd | eecdSK)
		eecd = d.r32(regEECD) &^ eecdDI
		if eecd&eecdDO != 0 {
			data |= 1
		}
		eecd &^= eecdSK
		d.eecdWrite(eecd)
	}
	return data
}

func (d *drv) eeStandby() {
	eecd := d.r32(regEECD) &^ (eecdCS | eecdSK)
	d.eecdWrite(eecd)
	d.eecdWrite(eecd | eecdSK)
	d.eecdWrite(eecd | eecdSK | eecdCS)
	d.eecdWrite(eecd | eecdCS)
}

func (d *drv) eeRelease() {
	eecd := d.r32(regEECD) &^ (eecdCS | eecdDI)
	d.w32(regEECD, eecd)
	d.eecdWrite(eecd | eecdSK)
	d.eecdWrite(eecd)
	d.w32(regEECD, eecd&^eecdREQ)
}

func (d *drv) eeRead(off uint16) uint16 {
	if err := d.eeAcquire(); err != nil {
		d.t.Fatal(err)
	}
	d.eeShiftOut(0x6, 3) // READ
	d.eeShiftOut(off, 6)
	v := d.eeShiftIn(16)
	d.eeStandby()
	d.eeRelease()
	return v
}

// eeWrite is e1000_write_eeprom_microwire for one word.
func (d *drv) eeWrite(off, v uint16) {
	if err := d.eeAcquire(); err != nil {
		d.t.Fatal(err)
	}
	d.eeShiftOut(0x13, 5) // EWEN
	d.eeShiftOut(0, 4)
	d.eeStandby()
	d.eeShiftOut(0x5, 3) // WRITE
	d.eeShiftOut(off, 6)
	d.eeShiftOut(v, 16)
	d.eeStandby()
	if d.r32(regEECD)&eecdDO == 0 {
		d.t.Fatal("EEPROM write did not complete")
	}
	d.eeStandby()
	d.eeShiftOut(0x10, 5) // EWDS
	d.eeShiftOut(0, 4)
	d.eeRelease()
}

// phyRead and phyWrite are e1000_read_phy_reg_ex / write_phy_reg_ex.
func (d *drv) phyRead(reg uint32) (uint16, error) {
	d.w32(regMDIC, reg<<mdicRegShift|1<<mdicPhyShift|mdicOpRead)
	for i := 0; i < 64; i++ {
		mdic := d.r32(regMDIC)
		if mdic&mdicReady != 0 {
			if mdic&mdicError != 0 {
				return 0, errors.New("MDI error")
			}
			return uint16(mdic), nil
		}
	}
	return 0, errors.New("MDI read did not complete")
}

func (d *drv) phyWrite(reg uint32, v uint16) {
	d.w32(regMDIC, uint32(v)|reg<<mdicRegShift|1<<mdicPhyShift|mdicOpWrite)
	if d.r32(regMDIC)&mdicReady == 0 {
		d.t.Fatal("MDI write did not complete")
	}
}

func (d *drv) mustPhy(reg uint32) uint16 {
	v, err := d.phyRead(reg)
	if err != nil {
		d.t.Fatal(err)
	}
	return v
}

// probe is the hardware part of e1000_probe: reset, EEPROM checksum and
// MAC, then e1000_reset (init_hw with link setup).
func (d *drv) probe() {
	d.w32(regIMC, 0xFFFFFFFF) // e1000_sw_init → irq_disable
	d.resetHW()
	var sum uint16
	for i := uint16(0); i <= eeChecksum; i++ {
		sum += d.eeRead(i)
	}
	if sum != eepromChecksum {
		d.t.Fatalf("EEPROM checksum %#04x, want %#04x", sum, eepromChecksum)
	}
	for i := uint16(0); i < 3; i++ {
		w := d.eeRead(i)
		d.mac[2*i], d.mac[2*i+1] = byte(w), byte(w>>8)
	}
	d.eeRead(eeInitCtrl3)
	d.reset()
}

// reset is e1000_reset → e1000_reset_hw + e1000_init_hw.
func (d *drv) reset() {
	d.w32(regPBA, 0x30)
	d.resetHW()
	d.w32(regWUC, 0)
	// e1000_init_hw
	d.r32(regLEDCTL)
	d.eeRead(eeIDLED)
	d.w32(regVET, 0)
	for i := uint32(0); i < vftaEntries; i++ {
		d.w32(regVFTA+4*i, 0)
	}
	d.rarSet(0, d.mac)
	for i := uint32(1); i < raEntries; i++ {
		d.w32(regRA+8*i, 0)
		d.w32(regRA+8*i+4, 0)
	}
	for i := uint32(0); i < mtaEntries; i++ {
		d.w32(regMTA+4*i, 0)
	}
	d.setupLink()
	d.w32(regTXDCTL, d.r32(regTXDCTL)&^0x003F0000|0x01010000)
	for off := range statNames {
		d.r32(off)
	}
	d.w32(regVET, 0x8100)
}

func (d *drv) rarSet(i uint32, mac [6]byte) {
	d.w32(regRA+8*i, binary.LittleEndian.Uint32(mac[:4]))
	d.w32(regRA+8*i+4, uint32(binary.LittleEndian.Uint16(mac[4:]))|rahAV)
}

// setupLink is e1000_setup_link → e1000_setup_copper_link for an M88
// PHY with autoneg, then the flow-control registers.
func (d *drv) setupLink() {
	d.eeRead(eeInitCtrl2)
	ctrl := d.r32(regCTRL)
	d.w32(regCTRL, (ctrl|ctrlSLU)&^(ctrlFRCSPD|ctrlFRCDPX))
	id := uint32(d.mustPhy(phyID1))<<16 | uint32(d.mustPhy(phyID2))&0xFFF0
	if id != 0x01410C20 {
		d.t.Fatalf("PHY ID %#x, want M88E1011 0x01410C20", id)
	}
	pscr := d.mustPhy(phyPSCR)
	d.phyWrite(phyPSCR, pscr|0x0800|0x0060)
	epscr := d.mustPhy(phyEPSCR)
	d.phyWrite(phyEPSCR, epscr|0x0070)
	d.phyWrite(phyBMCR, d.mustPhy(phyBMCR)|bmcrReset)
	anar := d.mustPhy(phyANAR)&^0x01E0 | 0x01E0 | 0x0C00
	gcr := d.mustPhy(phyGCR)&^0x0300 | 0x0200
	d.phyWrite(phyANAR, anar)
	d.phyWrite(phyGCR, gcr)
	d.phyWrite(phyBMCR, d.mustPhy(phyBMCR)|bmcrANEnable|bmcrRestart)
	d.mustPhy(phyBMSR)
	if d.mustPhy(phyBMSR)&bmsrLink != 0 {
		tctl := d.r32(regTCTL)&^(0x3FF<<12) | 63<<12
		d.w32(regTCTL, tctl)
		d.mustPhy(phyANAR)
		d.mustPhy(phyANLPAR)
		d.r32(regSTATUS)
		d.w32(regCTRL, d.r32(regCTRL)|ctrlTFCE|ctrlRFCE)
	}
	d.w32(regFCT, 0x8808)
	d.w32(regFCAH, 0x0100)
	d.w32(regFCAL, 0x00C28001)
	d.w32(regFCTTV, 0x0680)
}

// open is e1000_open: rings in the pool, configure, IRQ, ICS LSC.
func (d *drv) open(txCount, rxCount uint32) {
	d.txCount, d.rxCount = txCount, rxCount
	d.txBase = descArea
	d.rxBase = (d.txBase + uint64(txCount)*descSize + 4095) &^ 4095
	d.phyWrite(phyBMCR, d.mustPhy(phyBMCR)&^bmcrPwrDown)
	// e1000_configure_tx
	d.w32(regTDLEN, txCount*descSize)
	d.w32(regTDBAH, uint32(d.txBase>>32))
	d.w32(regTDBAL, uint32(d.txBase))
	d.w32(regTDT, 0)
	d.w32(regTDH, 0)
	d.w32(regTIPG, 8|8<<10|6<<20)
	d.w32(regTIDV, 8)
	d.w32(regTADV, 32)
	tctl := d.r32(regTCTL)&^(0xFF<<4) | tctlPSP | 1<<24 | 15<<4
	d.w32(regTCTL, tctl)
	// e1000_setup_rctl: BAM, RDMTS half, MO 0, 2048-byte buffers.
	rctl := d.r32(regRCTL)&^(3<<rctlMOShift) | rctlBAM
	rctl &^= rctlLPE | rctlBSIZE | rctlBSEX | rctlSBP
	d.w32(regRCTL, rctl)
	// e1000_configure_rx
	d.w32(regRCTL, rctl&^rctlEN)
	d.w32(regRDTR, 0)
	d.w32(regRADV, 8)
	d.w32(regITR, 1000000000/(20000*256))
	d.w32(regRDLEN, rxCount*descSize)
	d.w32(regRDBAH, uint32(d.rxBase>>32))
	d.w32(regRDBAL, uint32(d.rxBase))
	d.w32(regRDT, 0)
	d.w32(regRDH, 0)
	d.w32(regRXCSUM, d.r32(regRXCSUM)|rxcsumTUOFL)
	d.w32(regRCTL, rctl|rctlEN)
	d.allocRx(rxCount - 1)
	// irq enable, fire LSC
	d.w32(regIMS, IntRXT0|IntTXDW|IntRXDMT0|IntRXSEQ|IntLSC)
	d.w32(regICS, IntLSC)
}

// allocRx is e1000_alloc_rx_buffers: n buffers, then RDT = last filled.
func (d *drv) allocRx(n uint32) {
	i := d.rxNext
	for ; n > 0; n-- {
		buf := rxBufArea + uint64(i)*bufSize
		binary.LittleEndian.PutUint64(d.mem.mem[d.rxBase+uint64(i)*descSize:], buf)
		i = (i + 1) % d.rxCount
	}
	if i != d.rxNext {
		d.rxNext = i
		d.w32(regRDT, (i+d.rxCount-1)%d.rxCount)
	}
}

// watchdog is the link part of e1000_watchdog: e1000_check_for_link
// reads BMSR twice; on link, TCTL.EN.
func (d *drv) watchdog() bool {
	d.mustPhy(phyBMSR)
	if d.mustPhy(phyBMSR)&bmsrLink == 0 {
		return false
	}
	d.r32(regSTATUS)
	d.w32(regTCTL, d.r32(regTCTL)|tctlEN)
	return true
}

// bringUp is probe + open + the watchdog run that LSC triggers.
func (d *drv) bringUp() {
	d.t.Helper()
	d.probe()
	d.open(64, 64)
	if icr := d.r32(regICR); icr&IntLSC == 0 {
		d.t.Fatalf("ICR after open = %#x, want LSC", icr)
	}
	if !d.watchdog() {
		d.t.Fatal("no link after open")
	}
}

// txDesc writes one descriptor at the tail.
func (d *drv) txDesc(addr uint64, lower, upper uint32) {
	p := d.mem.mem[d.txBase+uint64(d.txNext)*descSize:]
	binary.LittleEndian.PutUint64(p, addr)
	binary.LittleEndian.PutUint32(p[8:], lower)
	binary.LittleEndian.PutUint32(p[12:], upper)
	d.txNext = (d.txNext + 1) % d.txCount
}

func (d *drv) txCtx(ipcss, ipcso uint8, ipcse uint16, tucss, tucso uint8, tucse uint16, paylen, tucmd uint32, hdrlen uint8, mss uint16) {
	p := d.mem.mem[d.txBase+uint64(d.txNext)*descSize:]
	p[0], p[1] = ipcss, ipcso
	binary.LittleEndian.PutUint16(p[2:], ipcse)
	p[4], p[5] = tucss, tucso
	binary.LittleEndian.PutUint16(p[6:], tucse)
	binary.LittleEndian.PutUint32(p[8:], paylen|txCmdDEXT|tucmd<<24)
	binary.LittleEndian.PutUint32(p[12:], uint32(hdrlen)<<8|uint32(mss)<<16)
	d.txNext = (d.txNext + 1) % d.txCount
}

// putBuf copies b into the transmit buffer area for slot i.
func (d *drv) putBuf(i int, b []byte) uint64 {
	addr := txBufArea + uint64(i)*0x10000
	copy(d.mem.mem[addr:], b)
	return addr
}

func (d *drv) kickTx() { d.w32(regTDT, d.txNext) }

// txStatus is the status byte of transmit descriptor i.
func (d *drv) txStatus(i uint32) byte { return d.mem.mem[d.txBase+uint64(i)*descSize+12] }

// rxDesc returns the write-back fields of receive descriptor i.
func (d *drv) rxDesc(i uint32) (length, csum uint16, status, errs uint8, special uint16) {
	p := d.mem.mem[d.rxBase+uint64(i)*descSize+8:]
	return binary.LittleEndian.Uint16(p), binary.LittleEndian.Uint16(p[2:]), p[4], p[5], binary.LittleEndian.Uint16(p[6:])
}

// cleanRx is e1000_clean_rx_irq: take DD descriptors, strip the FCS,
// clear status, refill.
func (d *drv) cleanRx() int {
	n := 0
	for {
		length, _, status, _, _ := d.rxDesc(d.rxClean)
		if status&rxStatDD == 0 {
			break
		}
		buf := rxBufArea + uint64(d.rxClean)*bufSize
		d.received = append(d.received, append([]byte(nil), d.mem.mem[buf:buf+uint64(length)-4]...))
		d.mem.mem[d.rxBase+uint64(d.rxClean)*descSize+12] = 0
		d.rxClean = (d.rxClean + 1) % d.rxCount
		n++
	}
	free := (d.rxClean + d.rxCount - d.rxNext - 1) % d.rxCount
	d.allocRx(free)
	return n
}

func mustEqualBytes(t *testing.T, what string, got, want []byte) {
	t.Helper()
	if !bytes.Equal(got, want) {
		t.Fatalf("%s:\n got %x\nwant %x", what, got, want)
	}
}

// cleanTx is e1000_clean_tx_irq: walk from next_to_clean while the
// packet's EOP descriptor has DD, clearing the status words.
func (d *drv) cleanTx(eops map[uint32]uint32) int {
	n := 0
	for {
		eop, ok := eops[d.txClean]
		if !ok || d.txStatus(eop)&txStaDD == 0 {
			return n
		}
		delete(eops, d.txClean)
		for {
			i := d.txClean
			d.mem.mem[d.txBase+uint64(i)*descSize+12] = 0
			d.txClean = (d.txClean + 1) % d.txCount
			if i == eop {
				break
			}
		}
		n++
	}
}
