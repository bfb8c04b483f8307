package e1000

import (
	"encoding/binary"
	"fmt"
	"slices"
)

// Transmit (8254x SDM 3.3, 3.5). The model processes the ring
// synchronously: a write of TDT (or TCTL.EN coming on, or link coming
// up) walks descriptors from TDH to TDT before the write returns, sends
// each completed frame to the Wire and writes status back. This keeps
// the model deterministic: after the driver's tail write, TDH, the
// descriptors' DD bits and the interrupt causes are final.

// Descriptor command and type bits (lower dword of the descriptor).
const (
	txCmdEOP  = 1 << 24
	txCmdIFCS = 1 << 25
	txCmdIC   = 1 << 26 // legacy: insert checksum
	txCmdTSE  = 1 << 26 // data: TCP segmentation
	txCmdRS   = 1 << 27
	txCmdDEXT = 1 << 29
	txCmdVLE  = 1 << 30
	txCmdIDE  = 1 << 31
	txDTYPCtx = 0x0 << 20
	txDTYPDat = 0x1 << 20
	txDTYP    = 0xF << 20

	tucmdTCP = 1 << 0 // context TUCMD: TCP (else UDP)
	tucmdIP  = 1 << 1 // context TUCMD: IPv4 (else IPv6)
	tucmdTSE = 1 << 2

	poptsIXSM = 1 << 0
	poptsTXSM = 1 << 1

	txStaDD = 1 << 0

	// maxTxPacket bounds one packet: 16288 bytes before padding and CRC
	// (8254x SDM 3.3.3), or for a TSO super-frame maxTSOPacket; anything
	// longer is dropped as a bad descriptor chain. Together with the ring
	// size this bounds the work one tail write can cause.
	maxTxPacket  = 16288
	maxTSOPacket = 256 << 10
	// minFrame is the shortest frame on the wire without FCS (PSP pads).
	minFrame = 60
)

// txContext is the offload context loaded by the last context
// descriptor.
type txContext struct {
	ipcss, ipcso uint8
	ipcse        uint16
	tucss, tucso uint8
	tucse        uint16
	paylen       uint32
	tucmd        uint8
	hdrlen       uint8
	mss          uint16
}

type txState struct {
	ring ring
	ctx  txContext

	// The packet being assembled across descriptors.
	pkt     []byte
	started bool
	legacy  bool   // first descriptor was a legacy one
	css     uint8  // legacy checksum start (first descriptor)
	popts   uint8  // data descriptor options (first descriptor)
	tse     bool   // data descriptor TSE (first descriptor)
	discard bool   // drop the rest of this packet (after an error)
	frame   []byte // scratch for one wire frame
	busy    bool   // guards against re-entry while sending
}

func (t *txState) reset() {
	t.ctx = txContext{}
	t.abort()
	t.ring.lenBad = false
	t.ring.reason = ""
}

// abort forgets a partly assembled packet.
func (t *txState) abort() {
	t.pkt = t.pkt[:0]
	t.started, t.discard = false, false
}

// txKick processes descriptors from TDH to TDT.
func (d *Device) txKick() {
	t := &d.tx
	if t.busy || d.regs[regTCTL/4]&tctlEN == 0 || !d.linkUp || !t.ring.check(d) {
		return
	}
	t.busy = true
	defer func() { t.busy = false }()

	var desc [descSize]byte
	n := t.ring.count(d)
	wroteBack, allIDE := false, true
	done := uint32(0)
	for ; t.ring.head(d) != t.ring.tail(d) && done < n; done++ {
		head := t.ring.head(d)
		addr := t.ring.descAddr(d, head)
		if !d.dmaRead("tx", "transmit descriptor fetch", addr, desc[:]) {
			t.ring.stop(d, EventRingInvalid, fmt.Sprintf("descriptor %d unreadable", head), addr, descSize, nil)
			break
		}
		lower := binary.LittleEndian.Uint32(desc[8:])
		if !d.txDescriptor(desc[:]) {
			break // buffer DMA refused: the ring is stopped at this descriptor
		}
		if lower&txCmdRS != 0 {
			sta := desc[12]&^0x0F | txStaDD
			if !d.dmaWrite("tx", "transmit status write-back", addr+12, []byte{sta}) {
				t.ring.stop(d, EventRingInvalid, fmt.Sprintf("descriptor %d status not writable", head), addr, descSize, nil)
				break
			}
			wroteBack = true
			allIDE = allIDE && lower&txCmdIDE != 0
		}
		t.ring.setHead(d, (head+1)%n)
	}
	if done > 0 && t.ring.head(d) == t.ring.tail(d) && t.ring.reason == "" {
		d.setCause(IntTXQE)
	}
	if wroteBack {
		d.txWrittenBack(allIDE)
	}
}

// txDescriptor handles one descriptor; false means the ring stopped.
func (d *Device) txDescriptor(desc []byte) bool {
	t := &d.tx
	bufAddr := binary.LittleEndian.Uint64(desc[0:])
	lower := binary.LittleEndian.Uint32(desc[8:])
	upper := binary.LittleEndian.Uint32(desc[12:])

	if lower&txCmdDEXT != 0 && lower&txDTYP == txDTYPCtx {
		t.ctx = txContext{
			ipcss: desc[0], ipcso: desc[1], ipcse: binary.LittleEndian.Uint16(desc[2:]),
			tucss: desc[4], tucso: desc[5], tucse: binary.LittleEndian.Uint16(desc[6:]),
			paylen: lower & 0xFFFFF, tucmd: uint8(lower >> 24),
			hdrlen: uint8(upper >> 8), mss: uint16(upper >> 16),
		}
		return true
	}

	var length uint32
	legacy := lower&txCmdDEXT == 0
	switch {
	case legacy:
		length = lower & 0xFFFF
	case lower&txDTYP == txDTYPDat:
		length = lower & 0xFFFFF
	default:
		d.report(Event{Kind: EventBadDescriptor, Ring: "tx", Addr: bufAddr,
			What: fmt.Sprintf("descriptor type %d is reserved", lower&txDTYP>>20)})
		t.discard = true
		if lower&txCmdEOP != 0 {
			d.stats.TxDropped++
			t.abort()
		}
		return true
	}

	if !t.started {
		t.started = true
		t.legacy = legacy
		t.css = uint8(upper >> 8)
		t.popts = uint8(upper >> 8)
		t.tse = !legacy && lower&txCmdTSE != 0
	}
	if !t.discard && length > 0 {
		limit := maxTxPacket
		if t.tse {
			limit = maxTSOPacket
		}
		if len(t.pkt)+int(length) > limit {
			d.report(Event{Kind: EventBadDescriptor, Ring: "tx", Addr: bufAddr, Len: int(length),
				What: fmt.Sprintf("packet longer than %d bytes", limit)})
			t.discard = true
		} else {
			at := len(t.pkt)
			t.pkt = slices.Grow(t.pkt, int(length))[:at+int(length)]
			if !d.dmaRead("tx", "transmit buffer read", bufAddr, t.pkt[at:]) {
				t.ring.stop(d, EventRingInvalid, "transmit buffer outside the DMA window", bufAddr, int(length), nil)
				t.abort()
				return false
			}
		}
	}
	if lower&txCmdEOP == 0 {
		return true
	}
	if t.discard {
		d.stats.TxDropped++
	} else {
		d.txPacket(lower, upper)
	}
	t.abort()
	return true
}

// txPacket finishes the assembled packet at its EOP descriptor: lower
// and upper are that descriptor's dwords (VLE, IC, CSO, special).
func (d *Device) txPacket(lower, upper uint32) {
	t := &d.tx
	vlan := lower&txCmdVLE != 0 && d.regs[regCTRL/4]&ctrlVME != 0
	tci := uint16(upper >> 16)
	if t.tse {
		d.tso(t.pkt, vlan, tci)
		return
	}
	p := t.pkt
	if t.legacy {
		if lower&txCmdIC != 0 {
			cso := int(lower >> 16 & 0xFF)
			if int(t.css) < len(p) && cso < len(p)-1 {
				insertSum(p, int(t.css), len(p), cso, true)
			}
		}
	} else {
		c := &t.ctx
		if t.popts&poptsIXSM != 0 {
			insertSum(p, int(c.ipcss), rangeEnd(c.ipcse, len(p)), int(c.ipcso), false)
		}
		if t.popts&poptsTXSM != 0 {
			insertSum(p, int(c.tucss), rangeEnd(c.tucse, len(p)), int(c.tucso), true)
		}
	}
	d.txFrame(p, vlan, tci)
}

// txFrame puts one frame on the wire: VLAN tag insertion, padding,
// statistics.
func (d *Device) txFrame(p []byte, vlan bool, tci uint16) {
	t := &d.tx
	f := append(t.frame[:0], p...)
	if vlan && len(f) >= 12 {
		f = append(f, 0, 0, 0, 0)
		copy(f[16:], f[12:len(f)-4])
		binary.BigEndian.PutUint16(f[12:], uint16(d.regs[regVET/4]))
		binary.BigEndian.PutUint16(f[14:], tci)
	}
	if d.regs[regTCTL/4]&tctlPSP != 0 {
		for len(f) < minFrame {
			f = append(f, 0)
		}
	}
	t.frame = f
	if d.cfg.Wire == nil {
		d.stats.TxDropped++
		return
	}
	if err := d.cfg.Wire.Send(f); err != nil {
		d.stats.TxDropped++
		d.report(Event{Kind: EventWireError, Ring: "tx", Len: len(f), What: "wire refused frame", Err: err})
		return
	}
	d.stats.TxFrames++
	d.stats.TxBytes += uint64(len(f))
	d.countTx(f)
	if d.fault.TxDuplicated() && d.cfg.Wire.Send(f) == nil {
		d.stats.TxFrames++
		d.stats.TxBytes += uint64(len(f))
		d.countTx(f)
	}
}

// countTx updates the transmit statistics registers for one frame
// (octet counts include the 4-byte FCS the MAC appends).
func (d *Device) countTx(f []byte) {
	n := uint64(len(f) + 4)
	d.statInc(regGPTC)
	d.statInc(regTPT)
	d.statAdd64(regGOTCL, n)
	d.statAdd64(regTOTL, n)
	if b := sizeBucket(regPTC64, int(n)); b != 0 {
		d.statInc(b)
	}
	switch {
	case isBroadcast(f):
		d.statInc(regBPTC)
	case len(f) > 0 && f[0]&1 != 0:
		d.statInc(regMPTC)
	}
}

// rangeEnd converts a checksum end field (inclusive offset, 0 = end of
// packet) into an exclusive end within n.
func rangeEnd(end uint16, n int) int {
	if end == 0 || int(end) >= n {
		return n
	}
	return int(end) + 1
}

// statInc and statAdd64 bump guest-visible counters, saturating as the
// hardware's do.
func (d *Device) statInc(off uint32) {
	if d.regs[off/4] != ^uint32(0) {
		d.regs[off/4]++
	}
}

func (d *Device) statAdd64(lo uint32, n uint64) {
	v := uint64(d.regs[lo/4]) | uint64(d.regs[lo/4+1])<<32
	if v+n < v {
		v = ^uint64(0)
	} else {
		v += n
	}
	d.regs[lo/4], d.regs[lo/4+1] = uint32(v), uint32(v>>32)
}

// sizeBucket picks the 64/127/255/511/1023/1522 counter from the first
// of the six consecutive registers. Frames above 1522 bytes count in
// none (as on the 82540).
func sizeBucket(first uint32, n int) uint32 {
	for i, limit := range []int{64, 127, 255, 511, 1023, 1522} {
		if n <= limit {
			return first + uint32(4*i)
		}
	}
	return 0
}

func isBroadcast(f []byte) bool {
	return len(f) >= 6 && f[0]&f[1]&f[2]&f[3]&f[4]&f[5] == 0xFF
}
