package e1000

import (
	"errors"
	"testing"
)

// TestTxDMARefused: a transmit buffer outside the pool is refused,
// reported with its address and length, and stops the ring at that
// descriptor; reprogramming the ring restarts it.
func TestTxDMARefused(t *testing.T) {
	d := newDriver(t)
	d.bringUp()
	const bad = 0x200000 // the pool is 1 MiB
	d.txDesc(bad, 100|cmdEOP|cmdRS, 0)
	d.kickTx()
	want := []Event{
		{Kind: EventDMARefused, Ring: "tx", Addr: bad, Len: 100, What: "transmit buffer read", Err: errOutside},
		{Kind: EventRingInvalid, Ring: "tx", Addr: bad, Len: 100, What: "transmit buffer outside the DMA window"},
	}
	if len(d.events) != len(want) {
		t.Fatalf("events %v", d.events)
	}
	for i := range want {
		if d.events[i] != want[i] {
			t.Errorf("event %d = %+v, want %+v", i, d.events[i], want[i])
		}
	}
	s := d.dev.Stats()
	if s.DMARefused != 1 || s.TxStopped != "transmit buffer outside the DMA window" || len(d.wire.frames) != 0 {
		t.Errorf("stats %+v", s)
	}
	if d.r32(regTDH) != 0 || d.txStatus(0)&txStaDD != 0 {
		t.Error("descriptor completed despite the refused DMA")
	}
	// A stopped ring ignores further tail writes.
	d.kickTx()
	if len(d.events) != 2 {
		t.Errorf("tail write on a stopped ring: %v", d.events[2:])
	}
	// The driver's reset path reprograms the ring; with a good buffer the
	// frame goes out.
	putLE64(d.mem.mem[d.txBase:], d.putBuf(0, payload(100)))
	d.w32(regTDH, 0)
	d.kickTx()
	if len(d.wire.frames) != 1 || d.dev.Stats().TxStopped != "" {
		t.Errorf("after reprogramming: %d frames, stopped %q", len(d.wire.frames), d.dev.Stats().TxStopped)
	}
}

func TestRingOutsidePool(t *testing.T) {
	d := newDriver(t)
	d.bringUp()
	d.w32(regTDBAL, 0xFFFF0000)
	d.w32(regTDH, 0)
	d.w32(regTDT, 1)
	if len(d.events) != 2 || d.events[0].Kind != EventDMARefused || d.events[0].Addr != 0xFFFF0000 ||
		d.events[0].Len != 16 || d.events[0].What != "transmit descriptor fetch" {
		t.Fatalf("events %v", d.events)
	}
	if got := d.dev.Stats().TxStopped; got != "descriptor 0 unreadable" {
		t.Errorf("TxStopped = %q", got)
	}
}

func TestRxDMARefused(t *testing.T) {
	for _, tc := range []struct {
		name     string
		setup    func(d *drv)
		wantWhat string
		wantAddr uint64
		wantLen  int
	}{
		{"buffer outside the pool", func(d *drv) {
			putLE64(d.mem.mem[d.rxBase:], 0x300000)
		}, "receive buffer write", 0x300000, 104},
		{"ring outside the pool", func(d *drv) {
			d.w32(regRDBAH, 1)
			d.w32(regRDH, 0)
			d.w32(regRDT, 5)
		}, "receive descriptor fetch", 1<<32 | 0x2000, 8},
		{"write-back refused", func(d *drv) { d.mem.failWriteAt = d.rxBase + 8 }, "receive descriptor write-back", 0x2008, 8},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := newDriver(t)
			d.bringUp()
			tc.setup(d)
			if d.dev.Receive(append(ethHeader(testMAC, peerMAC, 0x88B5), payload(86)...)) {
				t.Error("frame reported accepted")
			}
			if len(d.events) != 2 || d.events[0].Kind != EventDMARefused || d.events[1].Kind != EventRingInvalid {
				t.Fatalf("events %v", d.events)
			}
			e := d.events[0]
			if e.What != tc.wantWhat || e.Addr != tc.wantAddr || e.Len != tc.wantLen || !errors.Is(e.Err, errOutside) {
				t.Errorf("event %+v", e)
			}
			s := d.dev.Stats()
			if s.RxStopped == "" || s.DMARefused != 1 || s.RxMissed != 1 {
				t.Errorf("stats %+v", s)
			}
			// Every refusal the pool saw was reported.
			if len(d.mem.refusedAddrs) != int(s.DMARefused) {
				t.Errorf("pool refused %d, device reported %d", len(d.mem.refusedAddrs), s.DMARefused)
			}
		})
	}
}

func TestBusMasterOff(t *testing.T) {
	master := true
	d := newDriver(t, func(c *Config, _ *harness) { c.BusMaster = func() bool { return master } })
	d.bringUp()
	master = false
	d.txDesc(d.putBuf(0, payload(64)), 64|cmdEOP|cmdRS, 0)
	d.kickTx()
	if len(d.events) == 0 || !errors.Is(d.events[0].Err, ErrBusMaster) || d.mem.reads != 0 {
		t.Errorf("events %v, pool reads %d", d.events, d.mem.reads)
	}
}

func TestMalformedRings(t *testing.T) {
	for _, tc := range []struct {
		name       string
		setup      func(d *drv)
		wantEvents int // reported at register write time
		wantStop   string
		tail       uint32 // TDT to write instead of the driver's next_to_use
	}{
		{"TDLEN not a multiple of 128", func(d *drv) { d.w32(regTDLEN, 1000) }, 1, "ring length is not a multiple of 128 bytes", 0},
		{"TDLEN beyond 1 MiB", func(d *drv) { d.w32(regTDLEN, 1<<20) }, 1, "ring length is not a multiple of 128 bytes", 0},
		{"TDLEN zero", func(d *drv) { d.w32(regTDLEN, 0) }, 0, "ring length is zero", 0},
		{"TDT outside the ring", nil, 0, "tail 70 outside ring of 64 descriptors", 70},
		{"TDH outside the ring", func(d *drv) { d.w32(regTDH, 64) }, 0, "head 64 outside ring of 64 descriptors", 0},
		{"TDH above 16 bits", func(d *drv) { d.w32(regTDH, 0x10000) }, 1, "", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := newDriver(t)
			d.bringUp()
			if tc.setup != nil {
				tc.setup(d)
			}
			if len(d.events) != tc.wantEvents {
				t.Fatalf("events at write time: %v", d.events)
			}
			d.txDesc(d.putBuf(0, payload(64)), 64|cmdEOP|cmdRS, 0)
			if tc.tail != 0 {
				d.w32(regTDT, tc.tail)
			} else {
				d.kickTx()
			}
			got := d.dev.Stats().TxStopped
			if got != tc.wantStop {
				t.Errorf("TxStopped = %q, want %q", got, tc.wantStop)
			}
			if tc.wantStop != "" && (len(d.wire.frames) != 0 || d.events[len(d.events)-1].Kind != EventRingInvalid) {
				t.Errorf("frames %d, events %v", len(d.wire.frames), d.events)
			}
		})
	}
}

func TestRingRegisterMasks(t *testing.T) {
	h := newHarness(t)
	for _, tc := range []struct {
		off, write, want uint32
		events           int
	}{
		{regTDBAL, 0x12345678, 0x12345670, 1},
		{regTDBAH, 0xFFFFFFFF, 0xFFFFFFFF, 0},
		{regTDLEN, 0x000FFFFF, 0x000FFF80, 1},
		{regTDLEN, 0x1000, 0x1000, 0},
		{regTDH, 0x12345, 0x2345, 1},
		{regTDT, 0x1FFFF, 0xFFFF, 1},
		{regRDBAL, 0xFFFFFFF0, 0xFFFFFFF0, 0},
		{regRDLEN, 0x80, 0x80, 0},
		{regRDT, 7, 7, 0},
	} {
		before := len(h.events)
		h.w32(tc.off, tc.write)
		if got := h.r32(tc.off); got != tc.want || len(h.events)-before != tc.events {
			t.Errorf("%s write %#x: read %#x (want %#x), %d events (want %d)",
				RegName(tc.off), tc.write, got, tc.want, len(h.events)-before, tc.events)
		}
	}
}

func putLE64(b []byte, v uint64) {
	for i := 0; i < 8; i++ {
		b[i] = byte(v >> (8 * i))
	}
}
