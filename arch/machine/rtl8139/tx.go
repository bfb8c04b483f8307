package rtl8139

import "fmt"

// Transmit (RTL8139C datasheet, "Transmit"; 8139too's start_xmit and
// rtl8139_tx_interrupt): four descriptors, each a start address (TSAD)
// and a status register (TSD). Software copies a frame into the buffer,
// then writes TSD with the size and OWN clear; the device fetches the
// frame, sends it, and writes TSD back with OWN (the DMA is done) and
// TOK (sent) or TABT (aborted) set, raising TOK or TER in ISR. The
// device serves the descriptors in round-robin order starting at 0
// after reset; a write to a descriptor that is not the next one waits
// until its turn.
//
// Processing is synchronous: the frame is on the Wire and TSD written
// back before the TSD write returns.

// writeTSD takes the host's write: only SIZE, OWN and the early-transmit
// threshold are writable; the status bits clear.
func (d *Device) writeTSD(i int, v uint32) {
	d.tsd[i] = v & tsdWritable
	d.txKick()
}

// txKick serves pending descriptors in order, at most one round.
func (d *Device) txKick() {
	if d.cr&crTE == 0 {
		return
	}
	for n := 0; n < numTxDesc; n++ {
		i := d.txNext
		if d.tsd[i]&tsdOWN != 0 {
			return
		}
		d.transmit(i)
		d.txNext = (i + 1) % numTxDesc
	}
}

// transmit sends descriptor i and writes its status back.
func (d *Device) transmit(i int) {
	t := d.tsd[i]
	size := int(t & tsdSize)
	addr := uint64(d.getOff(uint8(regTSAD0+4*i), 4))
	keep := t & (tsdSize | tsdERTXTH)
	if size == 0 || size > MaxFrame {
		d.report(Event{Kind: EventBadDescriptor, Ring: "tx", Addr: addr, Len: size,
			What: fmt.Sprintf("descriptor %d size %d outside 1..%d", i, size, MaxFrame)})
		d.txAbort(i, keep, 0)
		return
	}
	frame := make([]byte, size)
	if !d.dma("tx", fmt.Sprintf("transmit buffer read, descriptor %d", i), addr, frame, false) {
		d.txAbort(i, keep, IntSERR) // a master abort: system error as well
		return
	}
	status := keep | tsdOWN | tsdTOK
	switch {
	case d.tcr&tcrLoopback == tcrLoopback:
		d.stats.TxFrames++
		d.stats.TxBytes += uint64(size)
		d.tsd[i] = status
		d.receive(frame, true)
	case !d.cable:
		d.stats.TxDropped++
		status |= tsdCRS // no carrier
	case d.cfg.Wire == nil:
		d.stats.TxDropped++
	default:
		if err := d.cfg.Wire.Send(frame); err != nil {
			d.stats.TxDropped++
			d.report(Event{Kind: EventWireError, Ring: "tx", Addr: addr, Len: size,
				What: fmt.Sprintf("send of descriptor %d", i), Err: err})
		} else {
			d.stats.TxFrames++
			d.stats.TxBytes += uint64(size)
			if d.fault.TxDuplicated() && d.cfg.Wire.Send(frame) == nil {
				d.stats.TxFrames++
				d.stats.TxBytes += uint64(size)
			}
		}
	}
	d.tsd[i] = status
	d.setCause(IntTOK)
}

// txAbort writes back an aborted descriptor and raises TER.
func (d *Device) txAbort(i int, keep uint32, extra uint16) {
	d.stats.TxAborted++
	d.tsd[i] = keep | tsdOWN | tsdTABT
	d.setCause(IntTER | extra)
}
