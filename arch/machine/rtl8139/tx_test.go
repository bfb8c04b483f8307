package rtl8139

import (
	"bytes"
	"errors"
	"testing"
)

var peerMAC = [6]byte{0x02, 0x00, 0x00, 0x00, 0x00, 0x09}

// TestTransmitDescriptors sends frames through all four descriptors in
// turn (and round again), checking the exact bytes on the wire and each
// TxStatus write-back as rtl8139_tx_interrupt reads it.
func TestTransmitDescriptors(t *testing.T) {
	for _, useIO := range []bool{false, true} {
		d := up(t, useIO, nil)
		sizes := []int{42, 60, 61, 100, 1514, 1791, 64, 200}
		for i, n := range sizes {
			f := frame(peerMAC, n, byte(i))
			entry := d.xmit(f)
			if entry != i%4 {
				t.Fatalf("frame %d went to descriptor %d", i, entry)
			}
			wireLen := max(n, 60)
			want := append(append([]byte(nil), f...), make([]byte, wireLen-n)...)
			if got := d.wire.frames[i]; !bytes.Equal(got, want) {
				t.Fatalf("io=%v frame %d on the wire: %d bytes, want %d bytes %x...", useIO, i, len(got), len(want), want[:16])
			}
			wantTSD := uint32(0x00080000 | TxStatOK | TxHostOwns | wireLen)
			if got := d.r32(TxStatus0 + uint32(entry)*4); got != wantTSD {
				t.Errorf("io=%v TxStatus%d = %#08x, want %#08x", useIO, entry, got, wantTSD)
			}
			if got := d.r16(IntrStatus); got != TxOK {
				t.Errorf("IntrStatus = %#04x, want TxOK", got)
			}
			if !d.irq.level {
				t.Error("line not raised for TxOK")
			}
			if i%2 == 1 || i == len(sizes)-1 { // let two pile up now and then
				d.service()
			}
		}
		if d.txPackets != len(sizes) || d.txErrs != 0 || d.dirtyTx != d.curTx || d.stopped {
			t.Errorf("driver: %d packets %d errors dirty %d cur %d stopped %v", d.txPackets, d.txErrs, d.dirtyTx, d.curTx, d.stopped)
		}
		if got := d.r16(TxSummary); got != 0xF00F {
			t.Errorf("TSAD = %#04x, want 0xf00f (TOK and OWN on all four)", got)
		}
		s := d.dev.Stats()
		if s.TxFrames != uint64(len(sizes)) || s.TxDropped != 0 || len(d.events) != 0 {
			t.Errorf("stats %+v events %v", s, d.events)
		}
	}
}

// TestTransmitOrder: descriptors are served round-robin from 0; one
// written out of turn waits for its predecessor.
func TestTransmitOrder(t *testing.T) {
	d := up(t, false, nil)
	copy(d.mem.mem[d.txBufs:], frame(peerMAC, 60, 1))
	copy(d.mem.mem[d.txBufs+TX_BUF_SIZE:], frame(peerMAC, 60, 2))
	d.w32(TxStatus0+4, 60) // descriptor 1 first: must wait
	if len(d.wire.frames) != 0 || d.r32(TxStatus0+4) != 60 {
		t.Fatalf("descriptor 1 sent before 0: %d frames, TSD1 %#x", len(d.wire.frames), d.r32(TxStatus0+4))
	}
	d.w32(TxStatus0, 60)
	if len(d.wire.frames) != 2 || d.wire.frames[0][14] != 1+14 || d.wire.frames[1][14] != 2+14 {
		t.Fatalf("order: %d frames", len(d.wire.frames))
	}
	// Transmitter off: the write waits until TE comes back.
	d.w8(ChipCmd, CmdRxEnb)
	d.w32(TxStatus0+8, 60)
	if len(d.wire.frames) != 2 {
		t.Fatal("sent with the transmitter off")
	}
	d.w8(ChipCmd, CmdRxEnb|CmdTxEnb)
	if len(d.wire.frames) != 3 || d.r32(TxStatus0+8) != TxStatOK|TxHostOwns|60 {
		t.Fatalf("TE on: %d frames TSD2 %#x", len(d.wire.frames), d.r32(TxStatus0+8))
	}
}

// TestTransmitRefused: an oversized length and a buffer outside the pool
// abort the descriptor with a report; the driver's abort path clears it.
func TestTransmitRefused(t *testing.T) {
	for _, tc := range []struct {
		name   string
		addr   uint32 // TxAddr0
		tsd    uint32
		kind   EventKind
		evAddr uint64
		evLen  int
		isr    uint16
		what   string
	}{
		{"oversized", 0x2000, 0x00080000 | 1793, EventBadDescriptor, 0x2000, 1793, TxErr,
			"tx bad-descriptor: descriptor 0 size 1793 outside 1..1792 (addr 0x2000 len 1793)"},
		{"zero", 0x2000, 0x00080000, EventBadDescriptor, 0x2000, 0, TxErr,
			"tx bad-descriptor: descriptor 0 size 0 outside 1..1792"},
		{"outside pool", 0x00FFFF00, 0x00080000 | 300, EventDMARefused, 0x00FFFF00, 300, TxErr | PCIErr,
			"tx dma-refused: transmit buffer read, descriptor 0 (addr 0xffff00 len 300): outside the DMA pool"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := up(t, false, nil)
			d.w32(TxAddr0, tc.addr)
			d.w32(TxStatus0, tc.tsd)
			d.curTx++
			if len(d.events) != 1 || d.events[0].Kind != tc.kind || d.events[0].Addr != tc.evAddr || d.events[0].Len != tc.evLen {
				t.Fatalf("events %v", d.events)
			}
			if got := d.events[0].String(); got != tc.what {
				t.Errorf("event %q\nwant  %q", got, tc.what)
			}
			wantTSD := tc.tsd&0x003F1FFF | TxAborted | TxHostOwns
			if got := d.r32(TxStatus0); got != wantTSD {
				t.Errorf("TxStatus0 = %#08x, want %#08x", got, wantTSD)
			}
			if got := d.r16(IntrStatus); got != tc.isr {
				t.Errorf("IntrStatus = %#04x, want %#04x", got, tc.isr)
			}
			d.service()
			if d.txAbortedErrs != 1 || d.txPackets != 0 || len(d.wire.frames) != 0 {
				t.Errorf("driver saw %d aborts %d packets; %d frames sent", d.txAbortedErrs, d.txPackets, len(d.wire.frames))
			}
			if got := d.r16(IntrStatus); got != 0 {
				t.Errorf("IntrStatus after service = %#04x", got)
			}
			// The next descriptor works.
			d.w32(TxAddr0, 0x2000)
			if d.xmit(frame(peerMAC, 60, 0)) != 1 || len(d.wire.frames) != 1 {
				t.Errorf("descriptor 1 after the abort: %d frames", len(d.wire.frames))
			}
		})
	}
}

// TestTransmitLinkAndWire: no carrier, a failing wire, bus mastering off.
func TestTransmitLinkAndWire(t *testing.T) {
	bm := true
	d := up(t, false, func(c *Config) { c.BusMaster = func() bool { return bm } })
	d.dev.SetLink(false)
	d.xmit(frame(peerMAC, 60, 0))
	if got := d.r32(TxStatus0); got != 0x00080000|TxCarrierLost|TxStatOK|TxHostOwns|60 || len(d.wire.frames) != 0 {
		t.Errorf("no link: TSD %#08x, %d frames", got, len(d.wire.frames))
	}
	d.dev.SetLink(true)
	d.wire.err = errors.New("tap gone")
	d.xmit(frame(peerMAC, 60, 0))
	if k := d.eventKinds(); len(k) != 1 || k[0] != EventWireError {
		t.Errorf("events %v", d.events)
	}
	d.wire.err = nil
	bm = false
	d.xmit(frame(peerMAC, 60, 0))
	if e := d.events[len(d.events)-1]; e.Kind != EventDMARefused || !errors.Is(e.Err, ErrBusMaster) || e.Addr != 0x2000+2*1792 {
		t.Errorf("bus master off: %v", e)
	}
	if s := d.dev.Stats(); s.TxDropped != 2 || s.TxAborted != 1 || s.DMARefused != 1 || s.WireErrors != 1 {
		t.Errorf("stats %+v", s)
	}
}

// TestLoopback: TCR loopback hands the frame to the own receiver.
func TestLoopback(t *testing.T) {
	d := up(t, false, nil)
	d.w32(TxConfig, rtl8139TxConfig|3<<17)
	f := frame(testMAC, 80, 3)
	d.xmit(f)
	d.service()
	if len(d.wire.frames) != 0 || len(d.received) != 1 || !bytes.Equal(d.received[0], f) {
		t.Errorf("loopback: %d on wire, %d received", len(d.wire.frames), len(d.received))
	}
	if d.txPackets != 1 {
		t.Errorf("tx packets %d", d.txPackets)
	}
}
