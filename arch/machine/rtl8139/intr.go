package rtl8139

import "time"

// Interrupt model (RTL8139C datasheet, IMR/ISR): causes accumulate in
// ISR; reading ISR does not clear it, writing 1 to a bit clears that bit
// (8139too acknowledges with RTL_W16(IntrStatus, bits)); the line is
// asserted while ISR & IMR is non-zero. There is no moderation in C mode.
//
// The general-purpose timer: TCTR counts up at the PCI clock (33 MHz)
// from the last write to it; when it reaches a non-zero TimerInt,
// PCSTimeout is set. It only runs with a Clock; time moves only in Tick.

const pciClockHz = 33_000_000

func (d *Device) now() time.Duration {
	if d.cfg.Clock == nil {
		return 0
	}
	return d.cfg.Clock.Now()
}

// setCause records interrupt causes and updates the line.
func (d *Device) setCause(bits uint16) {
	d.isr |= bits & intValid
	d.updateIRQ()
}

// updateIRQ drives the line from ISR and IMR.
func (d *Device) updateIRQ() {
	level := d.isr&d.imr != 0
	if level == d.level || level && d.fault.AssertLost() {
		return
	}
	d.level = level
	if level {
		d.stats.Interrupts++
	}
	d.setLine(level)
}

// ticksToDuration converts PCI clock ticks to time, rounding up.
func ticksToDuration(ticks uint64) time.Duration {
	return time.Duration(ticks/pciClockHz*1_000_000_000 + (ticks%pciClockHz*1_000_000_000+pciClockHz-1)/pciClockHz)
}

// elapsedTicks is the number of PCI clocks since TCTR was last zeroed.
func (d *Device) elapsedTicks() uint64 {
	el := d.now() - d.timerBase
	if d.cfg.Clock == nil || el < 0 {
		return 0
	}
	ns := uint64(el)
	return ns/1_000_000_000*pciClockHz + ns%1_000_000_000*pciClockHz/1_000_000_000
}

// tctr is the timer count: PCI clocks since the last write, modulo 2^32.
func (d *Device) tctr() uint32 { return uint32(d.elapsedTicks()) }

// armTimer (re)computes when TCTR next equals TimerInt, after now.
func (d *Device) armTimer() {
	ti := uint64(d.getOff(regTimerInt, 4))
	if d.cfg.Clock == nil || ti == 0 {
		d.timerArmed = false
		return
	}
	el := d.elapsedTicks()
	target := el&^(1<<32-1) | ti
	if target <= el {
		target += 1 << 32
	}
	d.timerArmed, d.timerAt = true, d.timerBase+ticksToDuration(target)
	if d.cfg.Wake != nil {
		d.cfg.Wake(d.timerAt)
	}
}

// NextDeadline returns when the timer next fires (on the Clock's scale);
// ok is false when it is not armed.
func (d *Device) NextDeadline() (at time.Duration, ok bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.timerAt, d.timerArmed
}

// Tick fires the timer if it has expired by Clock.Now(): PCSTimeout is
// set and the timer re-armed for the count's next pass (2^32 clocks
// later). It does nothing without a Clock.
func (d *Device) Tick() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.cfg.Clock == nil || !d.timerArmed || d.now() < d.timerAt {
		return
	}
	d.setCause(IntTimeout)
	d.armTimer()
}
