package rtl8139

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"testing"
)

// TestReceiveRing passes several hundred frames through the 32K ring the
// way 8139too programs it (RxNoWrap): exact header, length, CRC, dword
// alignment and CBR after every frame, CAPR after every service, and the
// ring wrapping many times.
func TestReceiveRing(t *testing.T) {
	for _, useIO := range []bool{false, true} {
		d := up(t, useIO, nil)
		var sent [][]byte
		off, wraps := uint32(0), 0
		for i := 0; i < 300; i++ {
			n := 60 + (i*397)%1455
			f := frame(testMAC, n, byte(i))
			sent = append(sent, f)
			d.dev.Receive(f)
			rec := d.mem.mem[d.rxRing+uint64(off):]
			if got, want := binary.LittleEndian.Uint32(rec), uint32(RxStatusOK|RxPhysical|(n+4)<<16); got != want {
				t.Fatalf("io=%v frame %d at %#x: header %#08x, want %#08x", useIO, i, off, got, want)
			}
			if !bytes.Equal(rec[4:4+n], f) {
				t.Fatalf("frame %d at %#x: payload differs", i, off)
			}
			if got, want := binary.LittleEndian.Uint32(rec[4+n:]), crc32.ChecksumIEEE(f); got != want {
				t.Fatalf("frame %d: CRC %#08x, want %#08x", i, got, want)
			}
			next := (off + uint32(n) + 8 + 3) &^ 3 % RX_BUF_LEN
			if next < off {
				wraps++
			}
			off = next
			if got := uint32(d.r16(RxBufAddr)); got != off {
				t.Fatalf("frame %d: CBR %#x, want %#x", i, got, off)
			}
			if i%3 == 2 {
				d.service()
				if got, want := d.r16(RxBufPtr), uint16(d.curRx-16); got != want || d.curRx%RX_BUF_LEN != off {
					t.Fatalf("frame %d: CAPR %#x want %#x; driver at %#x, CBR %#x", i, got, want, d.curRx, off)
				}
				if d.r8(ChipCmd)&RxBufEmpty == 0 {
					t.Fatalf("frame %d: ring not empty after service", i)
				}
			}
		}
		d.service()
		if wraps < 5 {
			t.Errorf("ring wrapped %d times, want ≥ 5", wraps)
		}
		if len(d.received) != len(sent) || d.rxErrs != 0 || d.rxResets != 0 {
			t.Fatalf("io=%v received %d of %d, %d errors", useIO, len(d.received), len(sent), d.rxErrs)
		}
		for i := range sent {
			if !bytes.Equal(d.received[i], sent[i]) {
				t.Fatalf("frame %d differs", i)
			}
		}
		if s := d.dev.Stats(); s.RxFrames != 300 || s.RxMissed != 0 || len(d.events) != 0 {
			t.Errorf("stats %+v events %v", s, d.events)
		}
	}
}

// TestReceiveWrapModes: a record crossing the end of an 8K ring is
// written past the end with WRAP set, split to the start with it clear.
func TestReceiveWrapModes(t *testing.T) {
	for _, tc := range []struct {
		name  string
		rcr   uint32
		split bool
	}{
		{"WRAP (RxNoWrap)", AcceptMyPhys | 1<<7, false},
		{"no WRAP", AcceptMyPhys, true},
		{"64K ignores WRAP", AcceptMyPhys | 1<<7 | 3<<11, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, nil)
			L := uint32(8192) << (tc.rcr >> 11 & 3)
			const base = 0x20000
			h.dev.WriteMMIO(RxBuf, 4, base)
			h.dev.WriteMMIO(ChipCmd, 1, CmdRxEnb)
			h.dev.WriteMMIO(RxConfig, 4, uint64(tc.rcr))
			f := frame(testMAC, 1000, 7)
			off := uint32(0)
			for off+1008 <= L { // fill up to the last record that fits
				h.dev.Receive(f)
				off += 1008
				h.dev.WriteMMIO(RxBufPtr, 2, uint64(off-16)) // consume
			}
			h.dev.Receive(f)
			rec := make([]byte, 1008)
			binary.LittleEndian.PutUint32(rec, RxStatusOK|RxPhysical|1004<<16)
			copy(rec[4:], f)
			binary.LittleEndian.PutUint32(rec[1004:], crc32.ChecksumIEEE(f))
			mem := h.mem.mem[base:]
			first := L - off
			if tc.split {
				if !bytes.Equal(mem[off:L], rec[:first]) || !bytes.Equal(mem[:1008-first], rec[first:]) {
					t.Fatal("split record differs")
				}
			} else if !bytes.Equal(mem[off:off+1008], rec) {
				t.Fatal("linear record differs")
			}
			if got := uint32(h.dev.ReadMMIO(RxBufAddr, 2)); got != (off+1008)%L {
				t.Errorf("CBR %#x, want %#x", got, (off+1008)%L)
			}
		})
	}
}

// TestReceiveOverflow fills the ring without servicing it: RxOverflow,
// MPC, and recovery once the driver catches up.
func TestReceiveOverflow(t *testing.T) {
	d := up(t, false, nil)
	f := frame(testMAC, 1500, 1)
	// 1508-byte records: 21 fit in 32K (21×1508 = 31668); the 22nd
	// would leave less than a dword.
	for i := 0; i < 25; i++ {
		d.dev.Receive(f)
	}
	if got := d.r16(IntrStatus); got != RxOK|RxOverflow {
		t.Errorf("IntrStatus %#04x, want RxOK|RxOverflow", got)
	}
	if got := d.r32(RxMissed); got != 4 {
		t.Errorf("MPC %d, want 4", got)
	}
	// 8139too's poll stops after its budget once isr_ack has cleared
	// RxOK: the rest waits for the next receive interrupt (as on the
	// chip, which does not re-raise ROK for frames already in the ring).
	d.service()
	if len(d.received) != 16 || d.rxErrs != 1 { // isr_ack counts the overflow once
		t.Errorf("received %d, rx errors %d", len(d.received), d.rxErrs)
	}
	d.dev.Receive(f)
	d.service()
	if len(d.received) != 22 || d.r16(IntrStatus) != 0 || d.rxErrs != 1 {
		t.Errorf("after recovery: received %d, IntrStatus %#04x, rx errors %d", len(d.received), d.r16(IntrStatus), d.rxErrs)
	}
	for i, r := range d.received {
		if !bytes.Equal(r, f) {
			t.Fatalf("frame %d differs", i)
		}
	}
	if s := d.dev.Stats(); s.RxMissed != 4 || s.RxFrames != 22 {
		t.Errorf("stats %+v", s)
	}
}

// TestRxFilter runs each destination class against each receive mode
// __set_rx_mode programs.
func TestRxFilter(t *testing.T) {
	group := [6]byte{0x01, 0x00, 0x5E, 0x00, 0x00, 0xFB} // joined
	other := [6]byte{0x33, 0x33, 0x00, 0x00, 0x00, 0x01} // not joined
	if etherCRC(group[:])>>26 == etherCRC(other[:])>>26 {
		t.Fatal("test addresses share a hash bit")
	}
	bcast := [6]byte{0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF}
	stranger := [6]byte{0x02, 0x11, 0x22, 0x33, 0x44, 0x55}
	type dst struct {
		addr   [6]byte
		status uint32
	}
	dsts := []dst{{testMAC, RxPhysical}, {bcast, RxBroadcast}, {group, RxMulticast}, {other, RxMulticast}, {stranger, 0}}
	for _, tc := range []struct {
		name              string
		promisc, allmulti bool
		join              bool
		want              [5]bool // mine, broadcast, joined, other group, stranger
	}{
		{"default", false, false, false, [5]bool{true, true, false, false, false}},
		{"joined", false, false, true, [5]bool{true, true, true, false, false}},
		{"allmulti", false, true, false, [5]bool{true, true, true, true, false}},
		{"promisc", true, false, false, [5]bool{true, true, true, true, true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := up(t, false, nil)
			d.flags.promisc, d.flags.allmulti = tc.promisc, tc.allmulti
			if tc.join {
				d.mc = [][6]byte{group}
			}
			d.setRxMode()
			for i, x := range dsts {
				before := len(d.received)
				off := d.r16(RxBufAddr)
				d.dev.Receive(frame(x.addr, 64, byte(i)))
				if hdr := binary.LittleEndian.Uint32(d.mem.mem[d.rxRing+uint64(off):]); tc.want[i] && hdr != RxStatusOK|x.status|68<<16 {
					t.Errorf("%x: header %#08x", x.addr, hdr)
				}
				d.service()
				if got := len(d.received) > before; got != tc.want[i] {
					t.Errorf("%x accepted %v, want %v", x.addr, got, tc.want[i])
				}
			}
		})
	}
	var a [6]byte
	for i := 0; i < 256; i++ {
		a[0], a[5] = byte(i)|1, byte(i*7)
		if got, want := MulticastIndex(a), int(etherCRC(a[:])>>26); got != want {
			t.Fatalf("MulticastIndex(%x) = %d, want %d", a, got, want)
		}
	}
}

// TestReceiveRefused: a receive buffer outside the pool loses the frame
// with a report and PCIErr; CBR does not move. Frames of bad length and
// frames while the receiver is off are counted, not written.
func TestReceiveRefused(t *testing.T) {
	d := up(t, false, nil)
	d.w32(RxBuf, 0x000FFF00) // the last 256 bytes of the pool: the record does not fit
	f := frame(testMAC, 300, 1)
	d.dev.Receive(f)
	want := "rx dma-refused: receive ring write (addr 0xfff00 len 308): outside the DMA pool"
	if len(d.events) != 1 || d.events[0].String() != want {
		t.Fatalf("events %v, want %q", d.events, want)
	}
	if got := d.r16(IntrStatus); got != PCIErr {
		t.Errorf("IntrStatus %#04x, want PCIErr", got)
	}
	if d.r16(RxBufAddr) != 0 || d.r8(ChipCmd)&RxBufEmpty == 0 {
		t.Error("CBR moved for a lost frame")
	}
	d.service()
	if d.pciErrs != 1 || len(d.received) != 0 {
		t.Errorf("driver: %d PCI errors, %d frames", d.pciErrs, len(d.received))
	}
	d.w32(RxBuf, uint32(d.rxRing))
	d.dev.Receive(make([]byte, 5))
	d.dev.Receive(make([]byte, MaxFrame+1))
	d.w8(ChipCmd, CmdTxEnb)
	d.dev.Receive(f)
	d.w8(ChipCmd, CmdTxEnb|CmdRxEnb)
	d.dev.SetLink(false)
	d.dev.Receive(f)
	if s := d.dev.Stats(); s.RxBadLength != 2 || s.RxMissed != 3 || s.DMARefused != 1 || s.RxFrames != 0 {
		t.Errorf("stats %+v", s)
	}
}
