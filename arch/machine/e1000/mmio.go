package e1000

import "fmt"

// ReadMMIO reads size bytes (1, 2, 4 or 8) at off in the memory BAR.
// Registers are 32 bits wide: a narrower read returns the addressed bytes
// of the register (with the register's read side effects, such as
// clear-on-read), an 8-byte read is two 32-bit reads, low dword first.
// A malformed access (bad size, misaligned, outside the BAR) reads 0 and
// is reported; an unknown register reads 0 and is recorded.
func (d *Device) ReadMMIO(off uint32, size int) uint64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.validAccess(off, size, BARSize, "MMIO read") {
		return 0
	}
	if size == 8 {
		lo := d.read32(off)
		return uint64(lo) | uint64(d.read32(off+4))<<32
	}
	v := d.read32(off &^ 3)
	return uint64(v>>(8*(off&3))) & (1<<(8*size) - 1)
}

// WriteMMIO writes the low size bytes (1, 2, 4 or 8) of v at off in the
// memory BAR. A narrower write is merged into the register's current
// value (read without side effects; interrupt cause and mask registers
// merge with zero); an 8-byte write is two 32-bit writes, low first.
func (d *Device) WriteMMIO(off uint32, size int, v uint64) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.validAccess(off, size, BARSize, "MMIO write") {
		return
	}
	switch size {
	case 8:
		d.write32(off, uint32(v))
		d.write32(off+4, uint32(v>>32))
	case 4:
		d.write32(off, uint32(v))
	default:
		reg := off &^ 3
		shift := 8 * (off & 3)
		mask := uint32(1<<(8*size)-1) << shift
		d.write32(reg, d.peek32(reg)&^mask|uint32(v)<<shift&mask)
	}
}

// ReadIO reads the I/O BAR: IOADDR at 0 selects a register, IODATA at 4
// reads it. Both are 32-bit; the rest of the window reads 0.
func (d *Device) ReadIO(off uint32, size int) uint32 {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.validAccess(off, size, IOBARSize, "I/O read") {
		return 0
	}
	var v uint32
	switch off &^ 3 {
	case ioADDR:
		v = d.ioAddr
	case ioDATA:
		if !d.validAccess(d.ioAddr, 4, BARSize, "IODATA read") {
			return 0
		}
		v = d.read32(d.ioAddr)
	}
	return v >> (8 * (off & 3)) & uint32(1<<(8*size)-1)
}

// WriteIO writes the I/O BAR: IOADDR takes a register offset, IODATA
// writes that register (this is how Linux issues CTRL.RST on the 82540).
func (d *Device) WriteIO(off uint32, size int, v uint32) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.validAccess(off, size, IOBARSize, "I/O write") {
		return
	}
	if size != 4 {
		d.report(Event{Kind: EventBadAccess, Addr: uint64(off), Len: size,
			What: "IOADDR/IODATA take 32-bit accesses only"})
		return
	}
	switch off {
	case ioADDR:
		d.ioAddr = v & (BARSize - 1)
	case ioDATA:
		if d.validAccess(d.ioAddr, 4, BARSize, "IODATA write") {
			d.write32(d.ioAddr, v)
		}
	}
}

func (d *Device) validAccess(off uint32, size int, limit uint32, what string) bool {
	maxSize := 8
	if limit == IOBARSize {
		maxSize = 4 // port I/O is at most 32 bits
	}
	ok := (size == 1 || size == 2 || size == 4 || size == maxSize) &&
		off < limit && uint64(off)+uint64(size) <= uint64(limit) && off%uint32(size) == 0
	if !ok {
		d.report(Event{Kind: EventBadAccess, Addr: uint64(off), Len: size,
			What: fmt.Sprintf("%s of %d bytes at %#x", what, size, off)})
	}
	return ok
}

// peek32 is a register's value without read side effects, used to merge
// sub-dword writes. Cause and mask registers merge with zero so that a
// byte write acts only on the bits written.
func (d *Device) peek32(off uint32) uint32 {
	switch off {
	case regICR, regICS, regIMS, regIMC:
		return 0
	case regSTATUS:
		return d.status()
	case regEECD:
		return d.readEECD()
	}
	return d.regs[off/4]
}

// read32 is a 32-bit register read with its side effects, as the
// device answers it (fault.go: it may misbehave).
func (d *Device) read32(off uint32) uint32 {
	v := d.readReg(off)
	if off == regICR {
		d.icrRead()
	}
	return d.fault.Garbled(off, v, 4)
}

// readReg is a 32-bit register read with its side effects.
func (d *Device) readReg(off uint32) uint32 {
	switch off {
	case regSTATUS:
		return d.status()
	case regEECD:
		return d.readEECD()
	case regICR:
		return d.readICR()
	case regIMS:
		return d.in.ims
	case regICS, regIMC:
		return 0 // write-only
	}
	ri, ok := regTable[off]
	if !ok {
		d.noteUnknown(off, false, 0)
		return 0
	}
	v := d.regs[off/4]
	// Statistics clear on read; of a 64-bit pair, reading the high half
	// clears both and reading the low half alone clears nothing.
	if ri.kind == kindStat && !isStat64Low(off) {
		d.regs[off/4] = 0
		if lo, ok := stat64High[off]; ok {
			d.regs[lo/4] = 0
		}
	}
	return v
}

func isStat64Low(off uint32) bool {
	return off == regGORCL || off == regGOTCL || off == regTORL || off == regTOTL
}

// write32 is a 32-bit register write with its side effects.
func (d *Device) write32(off, v uint32) {
	switch off {
	case regCTRL:
		d.writeCTRL(v)
	case regSTATUS, regRXCW:
		// read-only
	case regEECD:
		d.writeEECD(v)
	case regEERD:
		d.writeEERD(v)
	case regCTRLEXT:
		d.regs[off/4] = v & regTable[off].mask
		if v&ctrlExtEERST != 0 {
			d.loadFromEEPROM()
		}
	case regMDIC:
		d.writeMDIC(v)
	case regICR:
		d.in.icr &^= v
		d.updateIRQ()
	case regICS:
		d.setCause(v)
	case regIMS:
		d.in.ims |= v & intValid
		d.updateIRQ()
	case regIMC:
		d.in.ims &^= v
		d.updateIRQ()
	case regITR:
		d.regs[off/4] = v & 0xFFFF
		if d.in.itr.armed { // a held-back assertion waits for the new interval
			d.in.itr.armed = false
			d.updateIRQ()
		}
	case regRCTL:
		d.writeRCTL(v)
	case regTCTL:
		old := d.regs[off/4]
		d.regs[off/4] = v & tctlWritable
		if v&tctlEN != 0 && old&tctlEN == 0 {
			d.txKick()
		}
	case regTDBAL, regTDBAH, regTDLEN, regTDH:
		d.tx.ring.writeReg(d, off, v)
		d.tx.abort()
	case regTDT:
		d.regs[off/4] = v & 0xFFFF
		if v&^0xFFFF != 0 {
			d.report(Event{Kind: EventRingInvalid, Ring: "tx", Addr: uint64(v), Len: 4, What: "TDT has bits above 15"})
		}
		d.txKick()
	case regRDBAL, regRDBAH, regRDLEN, regRDH:
		d.rx.ring.writeReg(d, off, v)
	case regRDT:
		d.regs[off/4] = v & 0xFFFF
		if v&^0xFFFF != 0 {
			d.report(Event{Kind: EventRingInvalid, Ring: "rx", Addr: uint64(v), Len: 4, What: "RDT has bits above 15"})
		}
		d.rxDrain()
	case regRDTR:
		d.regs[off/4] = v & 0xFFFF
		if v&timerFPD != 0 {
			d.flushTimer(&d.in.rdtr, &d.in.radv, IntRXT0)
		}
	case regTIDV:
		d.regs[off/4] = v & 0xFFFF
		if v&timerFPD != 0 {
			d.flushTimer(&d.in.tidv, &d.in.tadv, IntTXDW)
		}
	default:
		ri, ok := regTable[off]
		switch {
		case !ok:
			d.noteUnknown(off, true, v)
		case ri.kind == kindRW:
			d.regs[off/4] = d.regs[off/4]&^ri.mask | v&ri.mask
		}
	}
}

// writeCTRL handles the device control register: RST resets the MAC
// (and reads back 0 at once: the model resets instantly), PHY_RST holds
// the PHY in reset while set, SLU and the rest take effect on the link.
func (d *Device) writeCTRL(v uint32) {
	if v&ctrlRST != 0 {
		d.macReset()
		return
	}
	old := d.regs[regCTRL/4]
	d.regs[regCTRL/4] = v & ctrlWritable
	switch {
	case v&ctrlPHYRST != 0 && old&ctrlPHYRST == 0:
		d.phy.reset = true
	case v&ctrlPHYRST == 0 && old&ctrlPHYRST != 0:
		cable := d.phy.cable
		d.phy.powerOn()
		d.phy.cable = cable
	}
	d.updateLink()
}

func (d *Device) noteUnknown(off uint32, write bool, v uint32) {
	if e, first := d.unknown.Note(off, 4, 5, write, v); first && d.cfg.OnEvent != nil {
		d.cfg.OnEvent(e)
	}
	if write {
		d.stats.UnknownWrites++
	} else {
		d.stats.UnknownReads++
	}
}
