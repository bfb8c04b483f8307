package rtl8139

import "grailos/arch/machine/hw"

// Device misbehaviour (package hw, Injector): the hooks of this model,
// all here. What each kind's events are on the RTL8139:
//
//   - irq-stuck: reads that cover ISR (8139too's handler reads it
//     first). At a faulty one the line is lowered and raised again after
//     the read (a new edge) and held asserted whatever ISR & IMR say,
//     until the first ISR read after the faulty ones.
//   - irq-lost: assertions of INTA# (ISR & IMR becoming non-zero). A
//     faulty one is swallowed: the line stays low and the device behaves
//     as if it had never tried, so the next cause, ISR or IMR write tries
//     again.
//   - reg-garbage: register reads through either BAR, by the offset the
//     access starts at (Reg), or any. A faulty one returns the low bytes
//     of Injector.Garbage; its side effects (CSCR's link-change clear)
//     happen.
//   - dma-drop: frames written into the receive ring. For a faulty one
//     the 4-byte record header (status, length) is written and CBR
//     advances, but the write of the frame and its CRC is dropped: the
//     ring keeps what it held there.
//   - dma-dup: frames put on the wire. A faulty one is sent twice (TSD
//     written back once).
//
// A power-on reset (Reset: a driver attaching) disarms the fault.

// InjectFault arms a misbehaviour; report hears its progress (called
// with the device lock held).
func (d *Device) InjectFault(f hw.Fault, report hw.FaultReport) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.fault.Arm(f, report)
}

// setLine drives INTA#, held up while an interrupt is stuck.
func (d *Device) setLine(level bool) { d.fault.Drive(d.cfg.IRQ, level) }

// readDone follows a register read of size bytes at off that returned v:
// a stuck line screams again after an ISR read, a faulty read returns
// garbage.
func (d *Device) readDone(off uint32, size int, v uint32) uint32 {
	if off <= regISR && regISR < off+uint32(size) {
		d.fault.StatusRead("ISR read", d.cfg.IRQ, d.level)
	}
	return d.fault.Garbled(off, v, size)
}
