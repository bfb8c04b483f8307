package rtl8139

import (
	"encoding/binary"
	"errors"
	"testing"
	"time"
)

// pool is a fake DMA window: bus addresses are offsets into mem; every
// access outside it is refused, as the machine's IOMMU does.
type pool struct {
	mem     []byte
	refused []uint64
}

var errOutside = errors.New("outside the DMA pool")

func (p *pool) check(addr uint64, n int) error {
	if addr >= uint64(len(p.mem)) || uint64(n) > uint64(len(p.mem))-addr {
		p.refused = append(p.refused, addr)
		return errOutside
	}
	return nil
}

func (p *pool) Read(addr uint64, b []byte) error {
	if err := p.check(addr, len(b)); err != nil {
		return err
	}
	copy(b, p.mem[addr:])
	return nil
}

func (p *pool) Write(addr uint64, b []byte) error {
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
	level bool
	sets  []bool
}

func (l *line) Set(v bool) { l.sets = append(l.sets, v); l.level = v }

type fakeClock struct{ now time.Duration }

func (c *fakeClock) Now() time.Duration { return c.now }

var testMAC = [6]byte{0x52, 0x54, 0x00, 0x12, 0x34, 0x56}

type harness struct {
	t      *testing.T
	dev    *Device
	mem    *pool
	wire   *wire
	irq    *line
	events []Event
}

func newHarness(t *testing.T, mod func(*Config)) *harness {
	t.Helper()
	h := &harness{t: t, mem: &pool{mem: make([]byte, 1<<20)}, wire: &wire{}, irq: &line{}}
	cfg := Config{MAC: testMAC, DMA: h.mem, Wire: h.wire, IRQ: h.irq,
		OnEvent: func(e Event) { h.events = append(h.events, e) }}
	if mod != nil {
		mod(&cfg)
	}
	d, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	h.dev = d
	return h
}

func (h *harness) eventKinds() []EventKind {
	var out []EventKind
	for _, e := range h.events {
		out = append(out, e.Kind)
	}
	return out
}

// Names and bits from 8139too.c, kept apart from the model's own
// constants so the test driver speaks the driver's language.
const (
	MAC0            = 0x00
	MAR0            = 0x08
	TxStatus0       = 0x10
	TxAddr0         = 0x20
	RxBuf           = 0x30
	ChipCmd         = 0x37
	RxBufPtr        = 0x38
	RxBufAddr       = 0x3A
	IntrMask        = 0x3C
	IntrStatus      = 0x3E
	TxConfig        = 0x40
	RxConfig        = 0x44
	RxMissed        = 0x4C
	Cfg9346         = 0x50
	Config1         = 0x52
	MediaStatus     = 0x58
	Config3         = 0x59
	Config4         = 0x5A
	HltClk          = 0x5B
	MultiIntr       = 0x5C
	TxSummary       = 0x60
	BasicModeCtrl   = 0x62
	BasicModeStatus = 0x64
	NWayAdvert      = 0x66
	NWayLPAR        = 0x68
	NWayExpansion   = 0x6A
	CSCR            = 0x74

	CmdReset   = 0x10
	CmdRxEnb   = 0x08
	CmdTxEnb   = 0x04
	RxBufEmpty = 0x01

	PCIErr     = 0x8000
	PCSTimeout = 0x4000
	RxFIFOOver = 0x40
	RxUnderrun = 0x20
	RxOverflow = 0x10
	TxErr      = 0x08
	TxOK       = 0x04
	RxErr      = 0x02
	RxOK       = 0x01
	RxAckBits  = RxFIFOOver | RxOverflow | RxOK

	TxHostOwns    = 0x2000
	TxUnderrun    = 0x4000
	TxStatOK      = 0x8000
	TxOutOfWindow = 0x20000000
	TxAborted     = 0x40000000
	TxCarrierLost = 0x80000000
	TxClearAbt    = 1

	RxMulticast = 0x8000
	RxPhysical  = 0x4000
	RxBroadcast = 0x2000
	RxStatusOK  = 0x0001

	AcceptBroadcast = 0x08
	AcceptMulticast = 0x04
	AcceptMyPhys    = 0x02
	AcceptAllPhys   = 0x01

	Cfg9346_Lock   = 0x00
	Cfg9346_Unlock = 0xC0
	LWAKE          = 0x10
	Cfg1_PM_Enable = 0x01
	SLEEP          = 0x02
	PWRDN          = 0x01
	LWPTN          = 0x04
	Cfg3_Magic     = 0x20

	rtl8139IntrMask     = PCIErr | PCSTimeout | RxUnderrun | RxOverflow | RxFIFOOver | TxErr | TxOK | RxErr | RxOK
	rtl8139NoRxIntrMask = PCIErr | PCSTimeout | RxUnderrun | TxErr | TxOK | RxErr
	RX_BUF_LEN          = 32768
	RX_BUF_TOT_LEN      = RX_BUF_LEN + 16 + 2048
	TX_BUF_SIZE         = 1792
	MAX_ETH_FRAME_SIZE  = 1792
	rtl8139RxConfig     = 1<<12 | 1<<7 | 7<<13 | 7<<8 // RxCfgRcv32K | RxNoWrap | FIFO | DMA
	rtl8139TxConfig     = 3<<24 | 6<<8 | 8<<4         // TxIFG96 | TX_DMA_BURST | TX_RETRY
	HasHltClk           = 1
	HasLWake            = 2
	CH_8139B            = 4
)

var chipInfo = []struct {
	name    string
	version uint32
	flags   int
}{
	{"RTL-8139", 0x40000000, HasHltClk},
	{"RTL-8139 rev K", 0x60000000, HasHltClk},
	{"RTL-8139A", 0x70000000, HasHltClk},
	{"RTL-8139A rev G", 0x70800000, HasHltClk},
	{"RTL-8139B", 0x78000000, HasLWake},
	{"RTL-8130", 0x7C000000, HasLWake},
	{"RTL-8139C", 0x74000000, HasLWake},
	{"RTL-8100", 0x78800000, HasLWake},
	{"RTL-8100B/8139D", 0x74400000, HasHltClk | HasLWake},
	{"RTL-8101", 0x74C00000, HasLWake},
}

// drv is a test driver that touches the device the way Linux 6.1's
// 8139too does: the same registers, the same widths, the same order.
type drv struct {
	*harness
	useIO    bool
	chipset  int
	addrLen  int
	mac      [6]byte
	rxRing   uint64
	txBufs   uint64
	rxConfig uint32
	txFlag   uint32
	curTx    uint
	dirtyTx  uint
	curRx    uint32
	stopped  bool
	duplex   bool
	link     bool

	received          [][]byte
	txPackets, txErrs int
	txAbortedErrs     int
	rxErrs, missed    int
	pciErrs, rxResets int
	napiOn            bool
	flags             struct{ promisc, allmulti bool }
	mc                [][6]byte
}

func newDriver(t *testing.T, useIO bool, mod func(*Config)) *drv {
	return &drv{harness: newHarness(t, mod), useIO: useIO, rxRing: 0x10000, txBufs: 0x2000}
}

func (d *drv) r(off uint32, size int) uint32 {
	if d.useIO {
		return d.dev.ReadIO(off, size)
	}
	return uint32(d.dev.ReadMMIO(off, size))
}

func (d *drv) w(off uint32, size int, v uint32) {
	if d.useIO {
		d.dev.WriteIO(off, size, v)
	} else {
		d.dev.WriteMMIO(off, size, uint64(v))
	}
}

func (d *drv) r8(off uint32) uint8      { return uint8(d.r(off, 1)) }
func (d *drv) r16(off uint32) uint16    { return uint16(d.r(off, 2)) }
func (d *drv) r32(off uint32) uint32    { return d.r(off, 4) }
func (d *drv) w8(off uint32, v uint8)   { d.w(off, 1, uint32(v)) }
func (d *drv) w16(off uint32, v uint16) { d.w(off, 2, uint32(v)) }
func (d *drv) w32(off uint32, v uint32) { d.w(off, 4, v) }
func (d *drv) w8f(off uint32, v uint8)  { d.w8(off, v); d.r8(off) }
func (d *drv) w16f(off uint32, v uint16) {
	d.w16(off, v)
	d.r16(off)
}
func (d *drv) w32f(off uint32, v uint32) { d.w32(off, v); d.r32(off) }

// chipReset is rtl8139_chip_reset.
func (d *drv) chipReset() {
	d.w8(ChipCmd, CmdReset)
	for i := 1000; i > 0; i-- {
		if d.r8(ChipCmd)&CmdReset == 0 {
			return
		}
	}
	d.t.Fatal("chip reset did not complete")
}

// initBoard is rtl8139_init_board after the PCI setup.
func (d *drv) initBoard() {
	d.w8(HltClk, 'R')
	if d.r32(TxConfig) == 0xFFFFFFFF {
		d.t.Fatal("Chip not responding")
	}
	version := d.r32(TxConfig) & 0x7CC00000
	d.chipset = 0
	for i, c := range chipInfo {
		if c.version == version {
			d.chipset = i
			break
		}
	}
	if d.chipset >= CH_8139B {
		tmp8 := d.r8(Config1)
		n := tmp8
		if chipInfo[d.chipset].flags&HasLWake != 0 && tmp8&LWAKE != 0 {
			n &^= LWAKE
		}
		n |= Cfg1_PM_Enable
		if n != tmp8 {
			d.w8(Cfg9346, Cfg9346_Unlock)
			d.w8(Config1, tmp8) // sic: 8139too writes the old value
			d.w8(Cfg9346, Cfg9346_Lock)
		}
		if chipInfo[d.chipset].flags&HasLWake != 0 {
			if tmp8 = d.r8(Config4); tmp8&LWPTN != 0 {
				d.w8(Cfg9346, Cfg9346_Unlock)
				d.w8(Config4, tmp8&^LWPTN)
				d.w8(Cfg9346, Cfg9346_Lock)
			}
		}
	} else {
		tmp8 := d.r8(Config1) &^ (SLEEP | PWRDN)
		d.w8(Config1, tmp8)
	}
	d.chipReset()
}

// readEEPROM is read_eeprom, bit for bit.
func (d *drv) readEEPROM(location, addrLen int) uint16 {
	const eeShiftClk, eeCS, eeDataWrite, eeDataRead, eeEnb = 0x04, 0x08, 0x02, 0x01, 0x80 | 0x08
	readCmd := location | 6<<addrLen
	d.w8(Cfg9346, eeEnb&^eeCS)
	d.w8(Cfg9346, eeEnb)
	d.r8(Cfg9346)
	for i := 4 + addrLen; i >= 0; i-- {
		dataval := uint8(0)
		if readCmd&(1<<i) != 0 {
			dataval = eeDataWrite
		}
		d.w8(Cfg9346, eeEnb|dataval)
		d.r8(Cfg9346)
		d.w8(Cfg9346, eeEnb|dataval|eeShiftClk)
		d.r8(Cfg9346)
	}
	d.w8(Cfg9346, eeEnb)
	d.r8(Cfg9346)
	var ret uint16
	for i := 16; i > 0; i-- {
		d.w8(Cfg9346, eeEnb|eeShiftClk)
		d.r8(Cfg9346)
		bit := uint16(0)
		if d.r8(Cfg9346)&eeDataRead != 0 {
			bit = 1
		}
		ret = ret<<1 | bit
		d.w8(Cfg9346, eeEnb)
		d.r8(Cfg9346)
	}
	d.w8(Cfg9346, 0)
	d.r8(Cfg9346)
	return ret
}

var mii2reg = [8]uint32{BasicModeCtrl, BasicModeStatus, 0, 0, NWayAdvert, NWayLPAR, NWayExpansion, 0}

// mdioRead and mdioWrite are the phy_id 32 (internal) paths.
func (d *drv) mdioRead(loc int) uint16 {
	if loc < 8 && mii2reg[loc] != 0 {
		return d.r16(mii2reg[loc])
	}
	return 0
}

func (d *drv) mdioWrite(loc int, v uint16) {
	if loc == 0 {
		d.w8(Cfg9346, Cfg9346_Unlock)
		d.w16(BasicModeCtrl, v)
		d.w8(Cfg9346, Cfg9346_Lock)
	} else if loc < 8 && mii2reg[loc] != 0 {
		d.w16(mii2reg[loc], v)
	}
}

// probe is rtl8139_init_one: init_board, the MAC from the EEPROM, and
// HLTCLK 'H' for the chips that have it.
func (d *drv) probe() {
	d.initBoard()
	d.addrLen = 6
	if d.readEEPROM(0, 8) == 0x8129 {
		d.addrLen = 8
	}
	for i := 0; i < 3; i++ {
		binary.LittleEndian.PutUint16(d.mac[2*i:], d.readEEPROM(i+7, d.addrLen))
	}
	if chipInfo[d.chipset].flags&HasHltClk != 0 {
		d.w8(HltClk, 'H')
	}
}

// checkMedia is mii_check_media through mdio_read (mii_link_ok reads
// BMSR twice; then advertisement and partner ability give the duplex).
func (d *drv) checkMedia() {
	d.mdioRead(1)
	d.link = d.mdioRead(1)&0x0004 != 0
	if !d.link {
		return
	}
	adv, lpa := d.mdioRead(4), d.mdioRead(5)
	common := adv & lpa
	d.duplex = common&0x0100 != 0 || (common&0x0180 == 0 && common&0x0040 != 0)
}

// open is rtl8139_open: rings in the pool, init_ring, hw_start.
func (d *drv) open() {
	d.txFlag = (256 << 11) & 0x003f0000
	d.curRx, d.curTx, d.dirtyTx = 0, 0, 0
	d.hwStart()
}

// hwStart is rtl8139_hw_start.
func (d *drv) hwStart() {
	if chipInfo[d.chipset].flags&HasHltClk != 0 {
		d.w8(HltClk, 'R')
	}
	d.chipReset()
	d.w8f(Cfg9346, Cfg9346_Unlock)
	d.w32f(MAC0, binary.LittleEndian.Uint32(d.mac[0:]))
	d.w32f(MAC0+4, uint32(binary.LittleEndian.Uint16(d.mac[4:])))
	d.curRx = 0
	d.w32f(RxBuf, uint32(d.rxRing))
	d.w8(ChipCmd, CmdRxEnb|CmdTxEnb)
	d.rxConfig = rtl8139RxConfig | AcceptBroadcast | AcceptMyPhys
	d.w32(RxConfig, d.rxConfig)
	d.w32(TxConfig, rtl8139TxConfig)
	d.checkMedia()
	if d.chipset >= CH_8139B {
		d.w8(Config3, d.r8(Config3)&^Cfg3_Magic)
	}
	d.w8(Cfg9346, Cfg9346_Lock)
	for i := uint32(0); i < 4; i++ {
		d.w32f(TxAddr0+i*4, uint32(d.txBufs)+i*TX_BUF_SIZE)
	}
	d.w32(RxMissed, 0)
	d.setRxMode()
	d.w16(MultiIntr, d.r16(MultiIntr)&0xF000)
	if tmp := d.r8(ChipCmd); tmp&CmdRxEnb == 0 || tmp&CmdTxEnb == 0 {
		d.w8(ChipCmd, CmdRxEnb|CmdTxEnb)
	}
	d.w16(IntrMask, rtl8139IntrMask)
}

// etherCRC is Linux's historic bit-serial ether_crc (big-endian CRC-32),
// written independently of the model's MulticastIndex.
func etherCRC(data []byte) uint32 {
	crc := uint32(0xFFFFFFFF)
	for _, b := range data {
		for bit := 0; bit < 8; bit, b = bit+1, b>>1 {
			msb := crc >> 31
			crc <<= 1
			if msb^uint32(b&1) != 0 {
				crc ^= 0x04C11DB7
			}
		}
	}
	return crc
}

// setRxMode is __set_rx_mode.
func (d *drv) setRxMode() {
	var mc [2]uint32
	var mode uint32
	switch {
	case d.flags.promisc:
		mode = AcceptBroadcast | AcceptMulticast | AcceptMyPhys | AcceptAllPhys
		mc = [2]uint32{0xFFFFFFFF, 0xFFFFFFFF}
	case len(d.mc) > 32 || d.flags.allmulti:
		mode = AcceptBroadcast | AcceptMulticast | AcceptMyPhys
		mc = [2]uint32{0xFFFFFFFF, 0xFFFFFFFF}
	default:
		mode = AcceptBroadcast | AcceptMyPhys
		for _, a := range d.mc {
			bit := etherCRC(a[:]) >> 26
			mc[bit>>5] |= 1 << (bit & 31)
			mode |= AcceptMulticast
		}
	}
	if tmp := uint32(rtl8139RxConfig) | mode; d.rxConfig != tmp {
		d.w32f(RxConfig, tmp)
		d.rxConfig = tmp
	}
	d.w32f(MAR0, mc[0])
	d.w32f(MAR0+4, mc[1])
}

// xmit is rtl8139_start_xmit; it returns the descriptor used.
func (d *drv) xmit(frame []byte) int {
	entry := int(d.curTx % 4)
	if len(frame) >= TX_BUF_SIZE {
		return -1
	}
	buf := d.mem.mem[d.txBufs+uint64(entry)*TX_BUF_SIZE:]
	n := len(frame)
	if n < 60 {
		clear(buf[:60])
		n = 60
	}
	copy(buf, frame)
	d.w32f(TxStatus0+uint32(entry)*4, d.txFlag|uint32(n))
	d.curTx++
	if d.curTx-4 == d.dirtyTx {
		d.stopped = true
	}
	return entry
}

// txInterrupt is rtl8139_tx_interrupt.
func (d *drv) txInterrupt() {
	dirty := d.dirtyTx
	for left := d.curTx - dirty; left > 0; left-- {
		entry := uint32(dirty % 4)
		st := d.r32(TxStatus0 + entry*4)
		if st&(TxStatOK|TxUnderrun|TxAborted) == 0 {
			break
		}
		if st&(TxOutOfWindow|TxAborted) != 0 {
			d.txErrs++
			if st&TxAborted != 0 {
				d.txAbortedErrs++
				d.w32(TxConfig, TxClearAbt)
				d.w16(IntrStatus, TxErr)
			}
		} else {
			d.txPackets++
		}
		dirty++
	}
	if d.dirtyTx != dirty {
		d.dirtyTx = dirty
		d.stopped = false
	}
}

// rxErr is rtl8139_rx_err (the default, non-OLD_RX_RESET variant).
func (d *drv) rxErr() {
	d.rxErrs++
	d.rxResets++
	tmp8 := d.r8(ChipCmd)
	d.w8(ChipCmd, tmp8&^CmdRxEnb)
	d.w8(ChipCmd, tmp8)
	d.w32(RxConfig, d.rxConfig)
	d.curRx = 0
}

func (d *drv) isrAck() {
	if st := d.r16(IntrStatus) & RxAckBits; st != 0 {
		if st&(RxFIFOOver|RxOverflow) != 0 {
			d.rxErrs++
		}
		d.w16f(IntrStatus, RxAckBits)
	}
}

// rx is rtl8139_rx with the 32K ring (no wrap_copy) and RXFCS off.
func (d *drv) rx(budget int) int {
	received := 0
	var rxSize uint32
	for received < budget && d.r8(ChipCmd)&RxBufEmpty == 0 {
		off := d.curRx % RX_BUF_LEN
		st := binary.LittleEndian.Uint32(d.mem.mem[d.rxRing+uint64(off):])
		rxSize = st >> 16
		if rxSize > MAX_ETH_FRAME_SIZE+4 || rxSize < 8 || st&RxStatusOK == 0 {
			d.rxErr()
			return -1
		}
		pkt := rxSize - 4
		start := d.rxRing + uint64(off) + 4
		d.received = append(d.received, append([]byte(nil), d.mem.mem[start:start+uint64(pkt)]...))
		received++
		d.curRx = (d.curRx + rxSize + 4 + 3) &^ 3
		d.w16(RxBufPtr, uint16(d.curRx-16))
		d.isrAck()
	}
	if received == 0 {
		d.isrAck()
	}
	return received
}

// poll is rtl8139_poll run to completion (NAPI re-polls while the budget
// is used up).
func (d *drv) poll() {
	for d.napiOn {
		work := 0
		if d.r16(IntrStatus)&RxAckBits != 0 {
			work = d.rx(16)
		}
		if work < 16 {
			d.napiOn = false
			d.w16f(IntrMask, rtl8139IntrMask)
		}
	}
}

// interrupt is rtl8139_interrupt followed by the NAPI poll it schedules.
// It returns whether the interrupt was ours.
func (d *drv) interrupt() bool {
	status := d.r16(IntrStatus)
	if status&rtl8139IntrMask == 0 {
		return false
	}
	linkChanged := false
	if status&RxUnderrun != 0 {
		linkChanged = d.r16(CSCR)&0x0800 != 0
	}
	if ack := status &^ (RxAckBits | TxErr); ack != 0 {
		d.w16(IntrStatus, ack)
	}
	if status&RxAckBits != 0 && !d.napiOn {
		d.napiOn = true
		d.w16f(IntrMask, rtl8139NoRxIntrMask)
	}
	if status&(PCIErr|PCSTimeout|RxUnderrun|RxErr) != 0 {
		d.missed += int(d.r32(RxMissed))
		d.w32(RxMissed, 0)
		if status&RxUnderrun != 0 && linkChanged {
			d.checkMedia()
		}
		if status&PCIErr != 0 {
			d.pciErrs++
		}
	}
	if status&(TxOK|TxErr) != 0 {
		d.txInterrupt()
		if status&TxErr != 0 {
			d.w16(IntrStatus, TxErr)
		}
	}
	d.poll()
	return true
}

// service runs the handler while the line is up, as the IRQ core would.
func (d *drv) service() {
	for i := 0; d.irq.level && i < 100; i++ {
		d.interrupt()
	}
	if d.irq.level {
		d.t.Fatal("interrupt line stuck")
	}
}

// up probes and opens: the state every data-path test starts from.
func up(t *testing.T, useIO bool, mod func(*Config)) *drv {
	d := newDriver(t, useIO, mod)
	d.probe()
	d.open()
	return d
}

// frame builds an Ethernet frame to dst with a recognisable payload.
func frame(dst [6]byte, n int, seed byte) []byte {
	f := make([]byte, n)
	copy(f, dst[:])
	copy(f[6:], []byte{0x02, 0, 0, 0, 0, 0x09})
	f[12], f[13] = 0x08, 0x00
	for i := 14; i < n; i++ {
		f[i] = seed + byte(i)
	}
	return f
}
