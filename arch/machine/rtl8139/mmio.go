package rtl8139

import "fmt"

// ReadMMIO reads size bytes (1, 2, 4 or 8, naturally aligned) at off in
// the memory BAR (BAR1). An 8-byte read is two 4-byte reads, low dword
// first (the signature matches package e1000's, so the machine can treat
// both models alike).
func (d *Device) ReadMMIO(off uint32, size int) uint64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	if size == 8 {
		if !d.validAccess(off, 8, 8, "MMIO read") {
			return 0
		}
		return uint64(d.read(off, 4, "MMIO read")) | uint64(d.read(off+4, 4, "MMIO read"))<<32
	}
	return uint64(d.read(off, size, "MMIO read"))
}

// WriteMMIO writes the low size bytes (1, 2, 4 or 8) of v at off in the
// memory BAR (BAR1); an 8-byte write is two 4-byte writes, low first.
func (d *Device) WriteMMIO(off uint32, size int, v uint64) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if size == 8 {
		if d.validAccess(off, 8, 8, "MMIO write") {
			d.write(off, 4, uint32(v), "MMIO write")
			d.write(off+4, 4, uint32(v>>32), "MMIO write")
		}
		return
	}
	d.write(off, size, uint32(v), "MMIO write")
}

// ReadIO reads size bytes (1, 2 or 4) at off in the I/O BAR (BAR0). The
// two BARs map the same registers.
func (d *Device) ReadIO(off uint32, size int) uint32 {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.read(off, size, "I/O read")
}

// WriteIO writes the low size bytes (1, 2 or 4) of v at off in the I/O
// BAR (BAR0).
func (d *Device) WriteIO(off uint32, size int, v uint32) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.write(off, size, v, "I/O write")
}

// validAccess checks size (1, 2, 4, or 8 where maxSize allows it),
// alignment and bounds, reporting a bad access.
func (d *Device) validAccess(off uint32, size, maxSize int, what string) bool {
	ok := (size == 1 || size == 2 || size == 4 || size == 8) && size <= maxSize && off < BARSize &&
		off+uint32(size) <= BARSize && off%uint32(size) == 0
	if !ok {
		d.report(Event{Kind: EventBadAccess, Addr: uint64(off), Len: size,
			What: fmt.Sprintf("%s of %d bytes at %#x", what, size, off)})
	}
	return ok
}

// read serves an access that may cover several registers or part of one:
// each register touched is read once (with its side effects) and the
// addressed bytes are taken from it.
func (d *Device) read(off uint32, size int, what string) uint32 {
	if !d.validAccess(off, size, 4, what) {
		return 0
	}
	var v uint32
	end := off + uint32(size)
	for b := off; b < end; {
		idx := regAt[b]
		if idx < 0 {
			d.noteUnknown(b, false, 0)
			b++
			continue
		}
		r := regTable[idx]
		rv := d.readReg(r)
		rend := uint32(r.off) + uint32(r.width)
		for ; b < end && b < rend; b++ {
			v |= (rv >> (8 * (b - uint32(r.off))) & 0xFF) << (8 * (b - off))
		}
	}
	return d.readDone(off, size, v)
}

// write serves an access that may cover several registers or part of
// one: a register covered partly is merged with its current value (read
// without side effects; write-1-to-clear ISR merges with zero).
func (d *Device) write(off uint32, size int, v uint32, what string) {
	if !d.validAccess(off, size, 4, what) {
		return
	}
	end := off + uint32(size)
	for b := off; b < end; {
		idx := regAt[b]
		if idx < 0 {
			d.noteUnknown(b, true, v>>(8*(b-off))&0xFF)
			b++
			continue
		}
		r := regTable[idx]
		rend := uint32(r.off) + uint32(r.width)
		rv := d.peekReg(r)
		for ; b < end && b < rend; b++ {
			sh := 8 * (b - uint32(r.off))
			rv = rv&^(0xFF<<sh) | (v>>(8*(b-off))&0xFF)<<sh
		}
		d.writeReg(r, rv)
	}
}

// get and put access plain register storage.
func (d *Device) get(r regInfo) uint32 { return d.getOff(r.off, r.width) }

func (d *Device) getOff(off, width uint8) uint32 {
	var v uint32
	for i := int(width) - 1; i >= 0; i-- {
		v = v<<8 | uint32(d.regs[int(off)+i])
	}
	return v
}

func (d *Device) put(r regInfo, v uint32) { d.putOff(r.off, r.width, v) }

func (d *Device) putOff(off, width uint8, v uint32) {
	for i := 0; i < int(width); i++ {
		d.regs[int(off)+i] = byte(v >> (8 * i))
	}
}

// peekReg is a register's value without read side effects, used to merge
// partial writes.
func (d *Device) peekReg(r regInfo) uint32 {
	switch r.off {
	case regISR:
		return 0
	case regCSCR:
		return uint32(d.cscr)
	}
	if r.kind == kindSpecial {
		return d.special(r, false)
	}
	return d.get(r)
}

func (d *Device) readReg(r regInfo) uint32 {
	switch r.kind {
	case kindReserved:
		return 0
	case kindSpecial:
		return d.special(r, true)
	}
	return d.get(r)
}

// special composes the value of a register with behaviour; sideEffects
// says whether this is a real read (CSCR's link-change bit clears).
func (d *Device) special(r regInfo, sideEffects bool) uint32 {
	switch r.off {
	case regTSD0, regTSD0 + 4, regTSD0 + 8, regTSD0 + 12:
		return d.tsd[(r.off-regTSD0)/4]
	case regCR:
		v := uint32(d.cr)
		if d.rxEmpty() {
			v |= crBUFE
		}
		return v
	case regCAPR:
		return uint32(d.capr)
	case regCBR:
		return d.rxWrite & 0xFFFF
	case regIMR:
		return uint32(d.imr)
	case regISR:
		return uint32(d.isr)
	case regTCR:
		return d.tcr
	case regRCR:
		return d.rcr
	case regTCTR:
		return d.tctr()
	case regMPC:
		return d.mpc
	case reg9346CR:
		return d.read9346()
	case regTimerInt, regHltClk:
		return d.get(r)
	case regMSR:
		if d.cable {
			return msrFixed
		}
		return msrFixed | msrLINKB
	case regTSAD:
		var v uint32
		for i, t := range d.tsd {
			v |= (t>>15&1)<<(12+i) | (t>>14&1)<<(8+i) | (t>>30&1)<<(4+i) | (t>>13&1)<<i
		}
		return v
	case regBMCR:
		return uint32(d.bmcr)
	case regBMSR:
		v := uint32(bmsrCaps)
		if d.cable {
			v |= bmsrANDone | bmsrLink
		}
		return v
	case regANLPAR:
		if d.cable {
			return anlparLinkUp
		}
		return 0
	case regANER:
		if d.cable {
			return 1 // link partner is auto-negotiation able
		}
		return 0
	case regCSCR:
		v := uint32(d.cscr)
		if d.cable {
			v |= cscrLinkOK
		}
		if d.linkChg {
			v |= cscrLinkChg
		}
		if sideEffects {
			d.linkChg = false
		}
		return v
	}
	return 0
}

// writeReg is a whole-register write with its side effects.
func (d *Device) writeReg(r regInfo, v uint32) {
	switch r.kind {
	case kindRO, kindReserved:
		return
	case kindRW:
		d.put(r, d.get(r)&^r.mask|v&r.mask)
		return
	case kindCfg:
		if d.cfg9346&eemMask != eemConfig {
			d.stats.LockedWrites++
			return
		}
		d.put(r, d.get(r)&^r.mask|v&r.mask)
		return
	}
	switch r.off {
	case regTSD0, regTSD0 + 4, regTSD0 + 8, regTSD0 + 12:
		d.writeTSD(int(r.off-regTSD0)/4, v)
	case regCR:
		d.writeCR(uint8(v))
	case regCAPR:
		d.capr = uint16(v)
	case regCBR:
		// read-only
	case regIMR:
		d.imr = uint16(v & intValid)
		d.updateIRQ()
	case regISR:
		d.isr &^= uint16(v)
		d.updateIRQ()
	case regTCR:
		// CLRABT (bit 0) is write-only: it acknowledges an abort; the model
		// does not retransmit the aborted descriptor.
		if d.cr&crTE == 0 {
			return // the chip ignores TCR while the transmitter is off
		}
		d.tcr = d.tcr&^tcrWritable | v&tcrWritable
	case regRCR:
		d.rcr = v & rcrWritable
		d.rxWrite %= d.ringLen()
	case regTCTR:
		d.timerBase = d.now()
		d.armTimer()
	case regMPC:
		d.mpc = 0
	case reg9346CR:
		d.write9346(uint8(v))
	case regTimerInt:
		d.put(r, v)
		d.armTimer()
	case regHltClk:
		switch byte(v) {
		case 'R':
			d.halted = false
		case 'H':
			d.halted = true
		}
		d.put(r, v&0xFF)
	case regBMCR:
		d.writeBMCR(uint16(v))
	case regCSCR:
		d.cscr = uint16(v & r.mask &^ (cscrLinkOK | cscrLinkChg))
	}
}

// writeCR handles ChipCmd: RST resets at once (and reads back 0), RE
// and TE switch the units. Turning the receiver off empties the ring
// (offsets back to 0), which is how 8139too's rtl8139_rx_err restarts it.
func (d *Device) writeCR(v uint8) {
	if v&crRST != 0 {
		d.softReset()
		return
	}
	old := d.cr
	d.cr = v & (crRE | crTE)
	if old&crRE != 0 && d.cr&crRE == 0 {
		d.capr, d.rxWrite = 0xFFF0, 0
	}
	if old&crTE == 0 && d.cr&crTE != 0 {
		d.txKick()
	}
}

// writeBMCR: speed, auto-negotiation and duplex are writable only with
// the configuration registers unlocked (8139too's mdio_write unlocks for
// MII register 0); reset and restart self-clear at once.
func (d *Device) writeBMCR(v uint16) {
	if d.cfg9346&eemMask != eemConfig {
		d.stats.LockedWrites++
		return
	}
	if v&bmcrReset != 0 {
		d.bmcr = bmcrANE
		return
	}
	d.bmcr = v & bmcrWritable
}

func (d *Device) noteUnknown(off uint32, write bool, v uint32) {
	if e, first := d.unknown.Note(off, 1, 2, write, v); first && d.cfg.OnEvent != nil {
		d.cfg.OnEvent(e)
	}
	if write {
		d.stats.UnknownWrites++
	} else {
		d.stats.UnknownReads++
	}
}
