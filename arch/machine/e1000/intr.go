package e1000

import "time"

// Interrupt model (8254x SDM 13.4.17–13.4.21, 3.4.6, 3.3.8):
//
//   - Causes accumulate in ICR; reading ICR returns and clears them all;
//     writing ICR clears the bits written as 1; ICS sets causes as if
//     they had happened; IMS/IMC set and clear the mask.
//   - The line is asserted while ICR & IMS is non-zero, subject to the
//     throttle: with ITR non-zero, two assertions are at least ITR×256 ns
//     apart (the later one waits; causes keep accumulating).
//   - RXT0 fires when the receive packet timer (RDTR×1.024 µs, restarted
//     by every received packet) or the absolute timer (RADV×1.024 µs,
//     started by the first packet after the last RXT0) expires; RDTR = 0
//     fires at once.
//   - TXDW for a descriptor written back with IDE set is delayed the same
//     way by TIDV (restarted per write-back) and TADV (absolute);
//     without IDE it fires at once and cancels both timers.
//   - Writing RDTR or TIDV with bit 31 (FPD) set fires a running timer
//     now.
//
// Time only moves when the owner calls Tick (see Config.Clock, Wake,
// NextDeadline); without a Clock every delay is zero and the throttle is
// off, which keeps the model deterministic for tests and is still a
// behaviour the drivers accept (it is the hardware with all delays 0).

const (
	delayUnit = 1024 * time.Nanosecond // RDTR, RADV, TIDV, TADV
	itrUnit   = 256 * time.Nanosecond  // ITR
)

type timer struct {
	armed bool
	at    time.Duration
}

type intr struct {
	icr, ims uint32
	level    bool

	asserted   bool // the line has been raised at least once since reset
	lastAssert time.Duration

	rdtr, radv, tidv, tadv, itr timer
}

func (in *intr) reset() {
	level := in.level
	*in = intr{level: level}
}

func (in *intr) timers() []*timer {
	return []*timer{&in.rdtr, &in.radv, &in.tidv, &in.tadv, &in.itr}
}

func (d *Device) now() time.Duration {
	if d.cfg.Clock == nil {
		return 0
	}
	return d.cfg.Clock.Now()
}

// arm sets t to fire at at, telling the owner if it is the new earliest.
func (d *Device) arm(t *timer, at time.Duration) {
	prev, had := d.nextDeadline()
	t.armed, t.at = true, at
	if d.cfg.Wake != nil && (!had || at < prev) {
		d.cfg.Wake(at)
	}
}

func (d *Device) nextDeadline() (time.Duration, bool) {
	var at time.Duration
	ok := false
	for _, t := range d.in.timers() {
		if t.armed && (!ok || t.at < at) {
			at, ok = t.at, true
		}
	}
	return at, ok
}

// NextDeadline returns when the earliest armed timer expires (on the
// Clock's scale); ok is false when none is armed.
func (d *Device) NextDeadline() (at time.Duration, ok bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.nextDeadline()
}

// Tick fires every timer that has expired by Clock.Now(). It does
// nothing without a Clock.
func (d *Device) Tick() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.cfg.Clock == nil {
		return
	}
	now := d.now()
	in := &d.in
	if (in.rdtr.armed && in.rdtr.at <= now) || (in.radv.armed && in.radv.at <= now) {
		in.rdtr.armed, in.radv.armed = false, false
		in.icr |= IntRXT0
	}
	if (in.tidv.armed && in.tidv.at <= now) || (in.tadv.armed && in.tadv.at <= now) {
		in.tidv.armed, in.tadv.armed = false, false
		in.icr |= IntTXDW
	}
	if in.itr.armed && in.itr.at <= now {
		in.itr.armed = false
	}
	d.updateIRQ()
}

// setCause records interrupt causes and updates the line.
func (d *Device) setCause(bits uint32) {
	d.in.icr |= bits & intValid
	d.updateIRQ()
}

// updateIRQ drives the line from ICR, IMS and the throttle.
func (d *Device) updateIRQ() {
	in := &d.in
	if in.icr&in.ims == 0 {
		in.itr.armed = false
		if in.level {
			in.level = false
			d.setLine(false)
		}
		return
	}
	if in.level || in.itr.armed {
		return
	}
	now := d.now()
	if itr := time.Duration(d.regs[regITR/4]&0xFFFF) * itrUnit; d.cfg.Clock != nil && itr > 0 && in.asserted {
		if next := in.lastAssert + itr; now < next {
			d.arm(&in.itr, next)
			return
		}
	}
	if d.fault.AssertLost() {
		return
	}
	in.level, in.asserted, in.lastAssert = true, true, now
	d.stats.Interrupts++
	d.setLine(true)
}

// readICR returns the causes and clears them (read-to-clear).
func (d *Device) readICR() uint32 {
	v := d.in.icr
	d.in.icr = 0
	d.updateIRQ()
	return v
}

// rxDone is called after one or more packets were written back.
func (d *Device) rxDone() {
	in := &d.in
	rdtr := time.Duration(d.regs[regRDTR/4]&0xFFFF) * delayUnit
	if d.cfg.Clock == nil || rdtr == 0 {
		in.rdtr.armed, in.radv.armed = false, false
		d.setCause(IntRXT0)
		return
	}
	now := d.now()
	d.arm(&in.rdtr, now+rdtr)
	if radv := time.Duration(d.regs[regRADV/4]&0xFFFF) * delayUnit; radv > 0 && !in.radv.armed {
		d.arm(&in.radv, now+radv)
	}
}

// txWrittenBack is called after a batch of transmit write-backs; ide
// tells whether every RS descriptor in it asked for a delayed interrupt.
func (d *Device) txWrittenBack(ide bool) {
	in := &d.in
	tidv := time.Duration(d.regs[regTIDV/4]&0xFFFF) * delayUnit
	if !ide || d.cfg.Clock == nil || tidv == 0 {
		in.tidv.armed, in.tadv.armed = false, false
		d.setCause(IntTXDW)
		return
	}
	now := d.now()
	d.arm(&in.tidv, now+tidv)
	if tadv := time.Duration(d.regs[regTADV/4]&0xFFFF) * delayUnit; tadv > 0 && !in.tadv.armed {
		d.arm(&in.tadv, now+tadv)
	}
}

// flushTimer implements FPD: a running timer pair expires now.
func (d *Device) flushTimer(a, b *timer, cause uint32) {
	if a.armed || b.armed {
		a.armed, b.armed = false, false
		d.setCause(cause)
	}
}
