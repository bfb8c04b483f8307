package e1000

import (
	"encoding/binary"
	"hash/crc32"
)

// Receive (8254x SDM 3.2). A frame from the wire passes the length
// check and the address and VLAN filters, is VLAN-stripped (CTRL.VME),
// checksummed (RXCSUM) and gets its FCS appended (unless RCTL.SECRC);
// then it is written to the buffers of the descriptors from RDH on, one
// buffer of RCTL.BSIZE per descriptor, EOP on the last. When the ring has
// no room the frame waits in the receive FIFO (the packet buffer's
// receive share, PBA) until software advances RDT; when the FIFO is full
// the frame is missed (MPC, RXO). The FIFO is what lets the driver's
// NAPI refill catch up with a burst, as on the real part.

// Receive descriptor status and error bits.
const (
	rxStatDD    = 1 << 0
	rxStatEOP   = 1 << 1
	rxStatVP    = 1 << 3
	rxStatTCPCS = 1 << 5
	rxStatIPCS  = 1 << 6
	rxErrTCPE   = 1 << 5
	rxErrIPE    = 1 << 6

	maxFrameStd = 1522  // with FCS, RCTL.LPE clear
	maxFrameLPE = 16384 // with FCS, RCTL.LPE set
	minEthernet = 14
)

type rxPacket struct {
	data    []byte // bytes for the buffers (FCS included unless SECRC)
	status  uint8
	errors  uint8
	csum    uint16
	special uint16
}

type rxState struct {
	ring      ring
	fifo      []rxPacket
	fifoBytes int
}

func (r *rxState) reset() {
	r.fifo, r.fifoBytes = nil, 0
	r.ring.lenBad = false
	r.ring.reason = ""
}

// Receive offers a frame from the wire (without FCS). It reports whether
// the device took it: false means the frame was dropped, as a wire drops
// it — receiver disabled or no link, bad length, filtered out, or no room
// in the ring and the receive FIFO. The caller must not retry.
func (d *Device) Receive(frame []byte) (accepted bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	rctl := d.regs[regRCTL/4]
	if rctl&rctlEN == 0 || !d.linkUp {
		d.stats.RxMissed++
		return false
	}
	wire := max(len(frame), minFrame) + 4
	d.statInc(regTPR)
	d.statAdd64(regTORL, uint64(wire))
	limit := maxFrameStd
	if rctl&rctlLPE != 0 {
		limit = maxFrameLPE
	}
	switch {
	case len(frame) < minEthernet:
		d.statInc(regRUC)
		d.stats.RxBadLength++
		return false
	case wire > limit:
		d.statInc(regROC)
		d.stats.RxBadLength++
		return false
	}
	if !d.rxFilter(frame) {
		d.stats.RxFiltered++
		return false
	}
	pkt := d.rxBuild(frame)
	if len(d.rx.fifo) == 0 {
		switch d.rxDeliver(&pkt) {
		case rxWritten:
			d.rxCount(frame, wire)
			d.rxDelivered()
			return true
		case rxLost:
			d.stats.RxMissed++
			return false
		}
	}
	d.statInc(regRNBC)
	if d.rx.fifoBytes+len(pkt.data) > int(d.regs[regPBA/4]&0xFFFF)*1024 {
		d.statInc(regMPC)
		d.stats.RxMissed++
		d.setCause(IntRXO)
		return false
	}
	d.rxCount(frame, wire)
	d.rx.fifo = append(d.rx.fifo, pkt)
	d.rx.fifoBytes += len(pkt.data)
	return true
}

// rxCount updates the good-packet statistics for an accepted frame.
func (d *Device) rxCount(frame []byte, wire int) {
	d.statInc(regGPRC)
	d.statAdd64(regGORCL, uint64(wire))
	if b := sizeBucket(regPRC64, wire); b != 0 {
		d.statInc(b)
	}
	switch {
	case isBroadcast(frame):
		d.statInc(regBPRC)
	case frame[0]&1 != 0:
		d.statInc(regMPRC)
	}
}

// rxFilter applies the destination address filters (promiscuous modes,
// broadcast, the 16 exact receive addresses, the multicast hash table)
// and the VLAN filter.
func (d *Device) rxFilter(f []byte) bool {
	rctl := d.regs[regRCTL/4]
	group := f[0]&1 != 0
	ok := false
	switch {
	case !group && rctl&rctlUPE != 0, group && rctl&rctlMPE != 0:
		ok = true
	case isBroadcast(f) && rctl&rctlBAM != 0:
		ok = true
	case d.rxExact(f[:6]):
		ok = true
	case group && d.rxHash(f[:6]):
		ok = true
	}
	if !ok {
		return false
	}
	if rctl&rctlVFE != 0 && len(f) >= 16 && uint32(binary.BigEndian.Uint16(f[12:])) == d.regs[regVET/4] {
		tci := binary.BigEndian.Uint16(f[14:])
		if rctl&rctlCFIEN != 0 && (tci&0x1000 != 0) != (rctl&rctlCFI != 0) {
			return false
		}
		vid := uint32(tci & 0xFFF)
		if d.regs[regVFTA/4+vid>>5]&(1<<(vid&31)) == 0 {
			return false
		}
	}
	return true
}

// rxExact matches a destination against the receive address registers
// that are valid (AV) and select the destination address (ASEL 00).
func (d *Device) rxExact(dst []byte) bool {
	lo := binary.LittleEndian.Uint32(dst)
	hi := uint32(binary.LittleEndian.Uint16(dst[4:]))
	for i := uint32(0); i < raEntries; i++ {
		rah := d.regs[(regRA+8*i+4)/4]
		if rah&rahAV != 0 && rah&(3<<16) == 0 && rah&0xFFFF == hi && d.regs[(regRA+8*i)/4] == lo {
			return true
		}
	}
	return false
}

// rxHash looks a multicast destination up in the 4096-bit MTA, using
// the 12 address bits RCTL.MO selects: 0 → bits 47:36, 1 → 46:35,
// 2 → 45:34, 3 → 43:32.
func (d *Device) rxHash(dst []byte) bool {
	w := uint32(dst[4]) | uint32(dst[5])<<8
	shift := [4]uint32{4, 3, 2, 0}[d.regs[regRCTL/4]>>rctlMOShift&3]
	h := w >> shift & 0xFFF
	return d.regs[regMTA/4+h>>5]&(1<<(h&31)) != 0
}

// rxBuild makes the buffer contents and descriptor fields of an
// accepted frame.
func (d *Device) rxBuild(frame []byte) rxPacket {
	n := max(len(frame), minFrame)
	f := make([]byte, n, n+4)
	copy(f, frame)
	var pkt rxPacket
	if d.regs[regCTRL/4]&ctrlVME != 0 && len(f) >= 18 && uint32(binary.BigEndian.Uint16(f[12:])) == d.regs[regVET/4] {
		pkt.special = binary.BigEndian.Uint16(f[14:])
		pkt.status |= rxStatVP
		f = append(f[:12], f[16:]...)
	}
	st, er, csum := rxOffload(f, d.regs[regRXCSUM/4])
	pkt.status |= st
	pkt.errors, pkt.csum = er, csum
	if d.regs[regRCTL/4]&rctlSECRC == 0 {
		f = binary.LittleEndian.AppendUint32(f, crc32.ChecksumIEEE(f))
	}
	pkt.data = f
	return pkt
}

// rxBufSize decodes RCTL.BSIZE/BSEX.
func (d *Device) rxBufSize() int {
	rctl := d.regs[regRCTL/4]
	i := rctl & rctlBSIZE >> 16
	if rctl&rctlBSEX != 0 && i != 0 {
		return [4]int{0, 16384, 8192, 4096}[i]
	}
	return [4]int{2048, 1024, 512, 256}[i]
}

type rxResult int

const (
	rxNoRoom  rxResult = iota // not enough descriptors; try later
	rxWritten                 // in the ring
	rxLost                    // DMA refused: the ring stopped, the frame is gone
)

// rxDeliver writes one packet into the ring.
func (d *Device) rxDeliver(pkt *rxPacket) rxResult {
	r := &d.rx.ring
	if !r.check(d) {
		return rxNoRoom
	}
	bs := d.rxBufSize()
	need := (len(pkt.data) + bs - 1) / bs
	if int(r.avail(d)) < need {
		return rxNoRoom
	}
	n := r.count(d)
	drop := d.fault.RxDataDropped()
	var desc [descSize]byte
	for i, off := 0, 0; i < need; i++ {
		head := r.head(d)
		addr := r.descAddr(d, head)
		if !d.dmaRead("rx", "receive descriptor fetch", addr, desc[:8]) {
			r.stop(d, EventRingInvalid, "receive descriptor unreadable", addr, descSize, nil)
			return rxLost
		}
		buf := binary.LittleEndian.Uint64(desc[:])
		end := min(off+bs, len(pkt.data))
		if !drop && !d.dmaWrite("rx", "receive buffer write", buf, pkt.data[off:end]) {
			r.stop(d, EventRingInvalid, "receive buffer outside the DMA window", buf, end-off, nil)
			return rxLost
		}
		wb := desc[8:]
		binary.LittleEndian.PutUint16(wb[0:], uint16(end-off))
		binary.LittleEndian.PutUint16(wb[2:], pkt.csum)
		wb[4], wb[5] = rxStatDD, 0
		binary.LittleEndian.PutUint16(wb[6:], 0)
		if end == len(pkt.data) {
			wb[4] |= rxStatEOP | pkt.status
			wb[5] = pkt.errors
			binary.LittleEndian.PutUint16(wb[6:], pkt.special)
		}
		if !d.dmaWrite("rx", "receive descriptor write-back", addr+8, wb) {
			r.stop(d, EventRingInvalid, "receive descriptor not writable", addr, descSize, nil)
			return rxLost
		}
		r.setHead(d, (head+1)%n)
		off = end
	}
	d.stats.RxFrames++
	d.stats.RxBytes += uint64(len(pkt.data))
	return rxWritten
}

// rxDelivered signals packets written: RXT0 (or its timers) and
// RXDMT0 when the free descriptors fell to the RCTL.RDMTS fraction.
func (d *Device) rxDelivered() {
	r := &d.rx.ring
	shift := d.regs[regRCTL/4]&rctlRDMTS>>8 + 1
	if r.avail(d) <= r.count(d)>>shift {
		d.setCause(IntRXDMT0)
	}
	d.rxDone()
}

// rxDrain moves frames from the FIFO into the ring as far as it has room.
func (d *Device) rxDrain() {
	if d.regs[regRCTL/4]&rctlEN == 0 || !d.linkUp {
		return
	}
	wrote := false
	for len(d.rx.fifo) > 0 {
		res := d.rxDeliver(&d.rx.fifo[0])
		if res == rxNoRoom {
			break
		}
		if res == rxLost {
			d.stats.RxMissed++
		}
		wrote = wrote || res == rxWritten
		d.rx.fifoBytes -= len(d.rx.fifo[0].data)
		d.rx.fifo[0] = rxPacket{}
		d.rx.fifo = d.rx.fifo[1:]
	}
	if wrote {
		d.rxDelivered()
	}
}

// writeRCTL applies the receive control register. Disabling the
// receiver drops what waits in the FIFO.
func (d *Device) writeRCTL(v uint32) {
	old := d.regs[regRCTL/4]
	d.regs[regRCTL/4] = v & rctlWritable
	switch {
	case v&rctlEN == 0 && old&rctlEN != 0:
		d.rx.fifo, d.rx.fifoBytes = nil, 0
	case v&rctlEN != 0 && old&rctlEN == 0:
		d.rxDrain()
	}
}
