package e1000

import (
	"testing"
	"time"
)

// TestInterruptRegisters walks ICR/ICS/IMS/IMC and the line through a
// sequence of writes and reads with exact expectations at each step.
func TestInterruptRegisters(t *testing.T) {
	h := newHarness(t)
	type step struct {
		name      string
		do        func()
		wantIMS   uint32
		wantLine  bool
		readICR   bool
		wantICR   uint32
		wantAfter bool // line after the ICR read
	}
	for _, s := range []step{
		{"cause while masked", func() { h.w32(regICS, IntTXDW|IntRXT0) }, 0, false, false, 0, false},
		{"unmask one of them", func() { h.w32(regIMS, IntRXT0) }, IntRXT0, true, false, 0, false},
		{"IMS accumulates", func() { h.w32(regIMS, IntLSC) }, IntRXT0 | IntLSC, true, false, 0, false},
		{"IMC masks the pending one", func() { h.w32(regIMC, IntRXT0) }, IntLSC, false, false, 0, false},
		{"ICR read returns and clears all", func() {}, IntLSC, false, true, IntTXDW | IntRXT0, false},
		{"ICS of an unmasked cause", func() { h.w32(regICS, IntLSC) }, IntLSC, true, true, IntLSC, false},
		{"write-1-to-clear ICR", func() {
			h.w32(regICS, IntLSC|IntRXO)
			h.w32(regICR, IntLSC)
		}, IntLSC, false, true, IntRXO, false},
		{"reserved cause bits ignored", func() { h.w32(regICS, 1<<5|1<<8|1<<31); h.w32(regIMS, 0xFFFFFFFF) }, intValid, false, true, 0, false},
		{"IMC all", func() { h.w32(regIMC, 0xFFFFFFFF); h.w32(regICS, IntTXDW) }, 0, false, true, IntTXDW, false},
	} {
		s.do()
		if got := h.r32(regIMS); got != s.wantIMS {
			t.Errorf("%s: IMS = %#x, want %#x", s.name, got, s.wantIMS)
		}
		if h.irq.level != s.wantLine {
			t.Errorf("%s: line %v, want %v", s.name, h.irq.level, s.wantLine)
		}
		if !s.readICR {
			continue
		}
		if got := h.r32(regICR); got != s.wantICR {
			t.Errorf("%s: ICR = %#x, want %#x", s.name, got, s.wantICR)
		}
		if h.irq.level != s.wantAfter {
			t.Errorf("%s: line after ICR read %v", s.name, h.irq.level)
		}
	}
	if h.r32(regICS) != 0 || h.r32(regIMC) != 0 {
		t.Error("write-only registers read non-zero")
	}
}

// TestNAPICycle is e1000_intr + e1000_clean: ICR read, IMC all, clean,
// IMS again; causes arriving while masked raise the line on unmask.
func TestNAPICycle(t *testing.T) {
	d := newDriver(t)
	d.bringUp()
	frame := append(ethHeader(testMAC, peerMAC, 0x88B5), payload(60)...)
	d.dev.Receive(frame)
	if !d.irq.level {
		t.Fatal("no interrupt for a received frame")
	}
	if icr := d.r32(regICR); icr != IntRXT0 {
		t.Fatalf("ICR = %#x", icr)
	}
	d.w32(regIMC, 0xFFFFFFFF)
	d.dev.Receive(frame) // arrives during polling
	if d.irq.level {
		t.Fatal("line raised while masked")
	}
	d.cleanRx()
	d.w32(regIMS, IntRXT0|IntTXDW|IntRXDMT0|IntRXSEQ|IntLSC)
	if !d.irq.level {
		t.Error("pending RXT0 did not raise the line on unmask")
	}
	if len(d.received) != 2 {
		t.Errorf("received %d", len(d.received))
	}
}

func TestThrottle(t *testing.T) {
	h := newHarness(t, withClock)
	h.w32(regITR, 1000) // 256 µs
	h.w32(regIMS, IntLSC|IntTXDW)
	h.w32(regICS, IntLSC)
	if !h.irq.level || h.irq.raises != 1 {
		t.Fatal("first interrupt not immediate")
	}
	h.r32(regICR)
	h.clock.now = 100 * time.Microsecond
	h.w32(regICS, IntTXDW)
	if h.irq.level {
		t.Fatal("second interrupt inside the throttle interval")
	}
	if at, ok := h.dev.NextDeadline(); !ok || at != 256*time.Microsecond {
		t.Errorf("deadline %v %v, want 256µs", at, ok)
	}
	h.clock.now = 255 * time.Microsecond
	h.dev.Tick()
	if h.irq.level {
		t.Fatal("raised before the deadline")
	}
	h.clock.now = 256 * time.Microsecond
	h.dev.Tick()
	if !h.irq.level || h.irq.raises != 2 {
		t.Error("not raised at the deadline")
	}
	if _, ok := h.dev.NextDeadline(); ok {
		t.Error("timer still armed")
	}
	// Clearing the cause while throttled cancels the pending assertion.
	h.r32(regICR)
	h.clock.now = 300 * time.Microsecond
	h.w32(regICS, IntTXDW)
	h.r32(regICR)
	if _, ok := h.dev.NextDeadline(); ok {
		t.Error("throttle timer survives a cleared cause")
	}
}

func TestRxDelayTimers(t *testing.T) {
	var wakes []time.Duration
	d := newDriver(t, withClock, func(c *Config, _ *harness) { c.Wake = func(at time.Duration) { wakes = append(wakes, at) } })
	d.bringUp()
	d.w32(regITR, 0)
	d.w32(regRDTR, 10) // 10.24 µs, restarted per packet
	d.w32(regRADV, 25) // 25.6 µs absolute
	d.r32(regICR)
	frame := append(ethHeader(testMAC, peerMAC, 0x88B5), payload(60)...)
	for _, at := range []time.Duration{0, 8 * time.Microsecond, 16 * time.Microsecond} {
		d.clock.now = at
		d.dev.Receive(frame)
		d.dev.Tick()
		if d.irq.level {
			t.Fatalf("RXT0 at %v, inside the packet timer", at)
		}
	}
	// RDTR would expire at 16+10.24; RADV at 25.6 comes first.
	if at, _ := d.dev.NextDeadline(); at != 25600*time.Nanosecond {
		t.Errorf("deadline %v, want 25.6µs", at)
	}
	// Wake fired once, for the first (earliest) deadline; later re-arms
	// only pushed deadlines out, which the owner learns from NextDeadline.
	if len(wakes) != 1 || wakes[0] != 10240*time.Nanosecond {
		t.Errorf("wakes %v, want [10.24µs]", wakes)
	}
	d.clock.now = 25600 * time.Nanosecond
	d.dev.Tick()
	if got := d.r32(regICR); got != IntRXT0 {
		t.Errorf("ICR = %#x, want RXT0", got)
	}
	// FPD flushes a running timer.
	d.dev.Receive(frame)
	d.w32(regRDTR, 10|timerFPD)
	if got := d.r32(regICR); got != IntRXT0 {
		t.Errorf("ICR after FPD = %#x", got)
	}
	if _, ok := d.dev.NextDeadline(); ok {
		t.Error("timers armed after FPD")
	}
}

func TestTxDelayTimers(t *testing.T) {
	d := newDriver(t, withClock)
	d.bringUp()
	d.w32(regITR, 0)
	d.r32(regICR)
	// Linux's txd_cmd with tx_int_delay: IDE on the EOP descriptor.
	d.txDesc(d.putBuf(0, payload(64)), 64|cmdEOP|cmdRS|txCmdIDE, 0)
	d.kickTx()
	if got := d.r32(regICR); got != IntTXQE {
		t.Errorf("ICR = %#x, want only TXQE before TIDV", got)
	}
	if at, _ := d.dev.NextDeadline(); at != 8*1024*time.Nanosecond {
		t.Errorf("deadline %v, want TIDV 8.192µs", at)
	}
	d.clock.now = 8192 * time.Nanosecond
	d.dev.Tick()
	if got := d.r32(regICR); got != IntTXDW {
		t.Errorf("ICR = %#x, want TXDW", got)
	}
	// Without IDE the write-back interrupts at once.
	d.txDesc(d.putBuf(1, payload(64)), 64|cmdEOP|cmdRS, 0)
	d.kickTx()
	if got := d.r32(regICR); got != IntTXDW|IntTXQE {
		t.Errorf("ICR = %#x", got)
	}
	// TADV caps a stream of IDE write-backs.
	for i := 0; i < 5; i++ {
		d.clock.now += 7 * time.Microsecond
		d.dev.Tick()
		d.txDesc(d.putBuf(2, payload(64)), 64|cmdEOP|cmdRS|txCmdIDE, 0)
		d.kickTx()
	}
	d.r32(regICR)
	if at, _ := d.dev.NextDeadline(); at != 8192*time.Nanosecond+7*time.Microsecond+32768*time.Nanosecond {
		t.Errorf("deadline %v, want TADV from the first write-back", at)
	}
}

func TestNoClockMeansNoDelay(t *testing.T) {
	d := newDriver(t)
	d.bringUp()
	d.w32(regRDTR, 0xFFFF)
	d.w32(regITR, 0xFFFF)
	d.dev.Receive(append(ethHeader(testMAC, peerMAC, 0x88B5), payload(60)...))
	if got := d.r32(regICR); got != IntRXT0 {
		t.Errorf("ICR = %#x", got)
	}
	d.dev.Tick()
	if _, ok := d.dev.NextDeadline(); ok {
		t.Error("deadline without a clock")
	}
}
