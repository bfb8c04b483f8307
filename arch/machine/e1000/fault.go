package e1000

import "grailos/arch/machine/hw"

// Device misbehaviour (package hw, Injector): the hooks of this model,
// all here. What each kind's events are on the 82540EM:
//
//   - irq-stuck: ICR reads. At a faulty one the line is lowered and
//     raised again after the read (a new edge) and held asserted whatever
//     ICR & IMS say, until the first ICR read after the faulty ones.
//   - irq-lost: assertions of INTA# (the line going up, after the
//     throttle). A faulty one is swallowed: the line stays low, nothing
//     is counted, and the next cause (or IMS write, or timer) tries again.
//   - reg-garbage: 32-bit register reads (a narrower or 8-byte access
//     reads whole registers) through the memory BAR or IODATA, of Reg or
//     of any register. A faulty one returns Injector.Garbage; its side
//     effects (ICR's clear, statistics' clear) happen.
//   - dma-drop: frames written into the receive ring. For a faulty one
//     the descriptors are written back (DD, EOP, length, checksum
//     status) but the buffer writes are dropped.
//   - dma-dup: frames put on the wire (each TSO segment is one). A faulty
//     one is sent twice.
//
// A function-level reset (Reset: a driver attaching) disarms the fault.

// InjectFault arms a misbehaviour; report hears its progress (called
// with the device lock held).
func (d *Device) InjectFault(f hw.Fault, report hw.FaultReport) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.fault.Arm(f, report)
}

// setLine drives INTA#, held up while an interrupt is stuck.
func (d *Device) setLine(level bool) { d.fault.Drive(d.cfg.IRQ, level) }

// icrRead follows an ICR read: a stuck line screams again.
func (d *Device) icrRead() { d.fault.StatusRead("ICR read", d.cfg.IRQ, d.in.level) }
