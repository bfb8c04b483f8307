package e1000

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"testing"
)

func withFCS(f []byte) []byte {
	return binary.LittleEndian.AppendUint32(append([]byte(nil), f...), crc32.ChecksumIEEE(f))
}

func TestRxUnicast(t *testing.T) {
	d := newDriver(t)
	d.bringUp()
	frame := append(ethHeader(testMAC, peerMAC, 0x88B5), payload(86)...)
	if !d.dev.Receive(frame) {
		t.Fatal("frame to our address refused")
	}
	length, _, status, errs, special := d.rxDesc(0)
	if length != 104 || status != rxStatDD|rxStatEOP || errs != 0 || special != 0 {
		t.Errorf("descriptor: length %d status %#x errors %#x special %#x", length, status, errs, special)
	}
	mustEqualBytes(t, "buffer with FCS", d.mem.mem[rxBufArea:rxBufArea+104], withFCS(frame))
	if got := d.r32(regRDH); got != 1 {
		t.Errorf("RDH = %d", got)
	}
	if got := d.r32(regICR); got != IntRXT0 {
		t.Errorf("ICR = %#x, want RXT0", got)
	}
	for _, st := range []struct{ off, want uint32 }{
		{regGPRC, 1}, {regTPR, 1}, {regGORCL, 104}, {regGORCH, 0}, {regTORL, 104}, {regTORH, 0},
		{regPRC127, 1}, {regBPRC, 0}, {regMPRC, 0}, {regRNBC, 0}, {regMPC, 0}, {regGPRC, 0},
	} {
		if got := d.r32(st.off); got != st.want {
			t.Errorf("%s = %d, want %d", RegName(st.off), got, st.want)
		}
	}
	if n := d.cleanRx(); n != 1 {
		t.Fatalf("cleaned %d", n)
	}
	mustEqualBytes(t, "driver's skb", d.received[0], frame)
}

func TestRxFilter(t *testing.T) {
	mdns := [6]byte{0x01, 0x00, 0x5E, 0x00, 0x00, 0xFB}
	other := [6]byte{0x02, 0x11, 0x22, 0x33, 0x44, 0x55}
	bcast := [6]byte{0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF}
	for _, tc := range []struct {
		name  string
		dst   [6]byte
		setup func(d *drv)
		want  bool
	}{
		{"our address", testMAC, nil, true},
		{"someone else", other, nil, false},
		{"someone else, UPE", other, func(d *drv) { d.w32(regRCTL, d.r32(regRCTL)|rctlUPE) }, true},
		{"broadcast, BAM", bcast, nil, true},
		{"broadcast, no BAM", bcast, func(d *drv) { d.w32(regRCTL, d.r32(regRCTL)&^rctlBAM) }, false},
		{"multicast not in MTA", mdns, nil, false},
		{"multicast, MPE", mdns, func(d *drv) { d.w32(regRCTL, d.r32(regRCTL)|rctlMPE) }, true},
		// e1000_hash_mc_addr, filter type 0: (addr[4]>>4 | addr[5]<<4) = 0xFB0 → MTA[125] bit 16.
		{"multicast in MTA, MO 0", mdns, func(d *drv) { d.w32(regMTA+125*4, 1<<16) }, true},
		{"multicast, wrong MO for the bit", mdns, func(d *drv) {
			d.w32(regMTA+125*4, 1<<16)
			d.w32(regRCTL, d.r32(regRCTL)|3<<rctlMOShift)
		}, false},
		// Filter type 3: (addr[4] | addr[5]<<8) & 0xFFF = 0xB00 → MTA[88] bit 0.
		{"multicast in MTA, MO 3", mdns, func(d *drv) {
			d.w32(regMTA+88*4, 1)
			d.w32(regRCTL, d.r32(regRCTL)|3<<rctlMOShift)
		}, true},
		{"exact match in RAR 5", mdns, func(d *drv) { d.rarSet(5, mdns) }, true},
		{"RAR 5 without AV", other, func(d *drv) {
			d.rarSet(5, other)
			d.w32(regRA+5*8+4, d.r32(regRA+5*8+4)&^rahAV)
		}, false},
		{"our address, RAR 0 invalidated", testMAC, func(d *drv) { d.w32(regRA+4, 0) }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := newDriver(t)
			d.bringUp()
			if tc.setup != nil {
				tc.setup(d)
			}
			got := d.dev.Receive(append(ethHeader(tc.dst, peerMAC, 0x88B5), payload(50)...))
			if got != tc.want {
				t.Errorf("accepted = %v, want %v", got, tc.want)
			}
			if s := d.dev.Stats(); (s.RxFiltered == 1) == tc.want {
				t.Errorf("RxFiltered = %d", s.RxFiltered)
			}
		})
	}
}

func TestRxVLAN(t *testing.T) {
	inner := payload(60)
	tagged := append(append(ethHeader(testMAC, peerMAC, 0x8100), 0x60, 0x64), append([]byte{0x88, 0xB5}, inner...)...)
	for _, tc := range []struct {
		name        string
		ctrl, rctl  uint32
		vfta        bool
		wantOK      bool
		wantStatus  uint8
		wantSpecial uint16
		wantData    []byte
	}{
		{"VME strips", ctrlVME, 0, false, true, rxStatDD | rxStatEOP | rxStatVP, 0x6064,
			append(ethHeader(testMAC, peerMAC, 0x88B5), inner...)},
		{"no VME keeps the tag", 0, 0, false, true, rxStatDD | rxStatEOP, 0, tagged},
		{"VFE, VLAN 100 allowed", ctrlVME, rctlVFE, true, true, rxStatDD | rxStatEOP | rxStatVP, 0x6064,
			append(ethHeader(testMAC, peerMAC, 0x88B5), inner...)},
		{"VFE, VLAN 100 not allowed", ctrlVME, rctlVFE, false, false, 0, 0, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := newDriver(t)
			d.bringUp()
			d.w32(regCTRL, d.r32(regCTRL)|tc.ctrl)
			d.w32(regRCTL, d.r32(regRCTL)|tc.rctl)
			if tc.vfta {
				d.w32(regVFTA+(100>>5)*4, 1<<(100&31)) // VID 0x064
			}
			if got := d.dev.Receive(tagged); got != tc.wantOK {
				t.Fatalf("accepted = %v", got)
			}
			if !tc.wantOK {
				return
			}
			length, _, status, _, special := d.rxDesc(0)
			if status != tc.wantStatus || special != tc.wantSpecial || int(length) != len(tc.wantData)+4 {
				t.Errorf("status %#x special %#x length %d", status, special, length)
			}
			d.cleanRx()
			mustEqualBytes(t, "data", d.received[0], tc.wantData)
		})
	}
}

func TestRxChecksumOffload(t *testing.T) {
	good := func() []byte {
		tcp := tcpHeader(7, 0x18)
		body := payload(100)
		f := ipv4(6, append(tcp, body...), 9, true)
		binary.BigEndian.PutUint16(f[50:], refChecksum(f[34:], pseudo(6, 120)))
		return f
	}
	udpZero := func() []byte { return ipv4(17, append(udpHeader(30), payload(30)...), 9, true) }
	for _, tc := range []struct {
		name       string
		frame      func() []byte
		rxcsum     uint32
		wantStatus uint8
		wantErrors uint8
	}{
		{"good TCP", good, rxcsumIPOFL | rxcsumTUOFL, rxStatIPCS | rxStatTCPCS, 0},
		{"bad TCP checksum", func() []byte { f := good(); f[60] ^= 1; return f }, rxcsumIPOFL | rxcsumTUOFL, rxStatIPCS | rxStatTCPCS, rxErrTCPE},
		{"bad IP checksum", func() []byte { f := good(); f[24] ^= 1; return f }, rxcsumIPOFL | rxcsumTUOFL, rxStatIPCS | rxStatTCPCS, rxErrIPE},
		{"TUOFL off", good, rxcsumIPOFL, rxStatIPCS, 0},
		{"both off", good, 0, 0, 0},
		{"UDP without checksum", udpZero, rxcsumIPOFL | rxcsumTUOFL, rxStatIPCS, 0},
		{"fragment", func() []byte {
			f := good()
			f[20] = 0x20 // MF
			binary.BigEndian.PutUint16(f[24:], 0)
			binary.BigEndian.PutUint16(f[24:], refChecksum(f[14:34], 0))
			return f
		}, rxcsumIPOFL | rxcsumTUOFL, rxStatIPCS, 0},
		{"not IP", func() []byte { return append(ethHeader(testMAC, peerMAC, 0x86DD), payload(80)...) }, rxcsumIPOFL | rxcsumTUOFL, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := newDriver(t)
			d.bringUp()
			d.w32(regRXCSUM, tc.rxcsum)
			f := tc.frame()
			copy(f, testMAC[:])
			if !d.dev.Receive(f) {
				t.Fatal("refused")
			}
			_, _, status, errs, _ := d.rxDesc(0)
			if status != rxStatDD|rxStatEOP|tc.wantStatus || errs != tc.wantErrors {
				t.Errorf("status %#x errors %#x, want %#x %#x", status, errs, rxStatDD|rxStatEOP|tc.wantStatus, tc.wantErrors)
			}
		})
	}
}

func TestRxPacketChecksum(t *testing.T) {
	d := newDriver(t)
	d.bringUp()
	f := append(ethHeader(testMAC, peerMAC, 0x88B5), payload(50)...)
	d.w32(regRXCSUM, 14) // PCSS: start after the Ethernet header
	d.dev.Receive(f)
	_, csum, _, _, _ := d.rxDesc(0)
	if want := ^refChecksum(f[14:], 0); csum != want || csum != 0xBD6C {
		t.Errorf("packet checksum %#04x, want %#04x (0xbd6c)", csum, want)
	}
}

func TestRxBufferSizes(t *testing.T) {
	frame := append(ethHeader(testMAC, peerMAC, 0x88B5), payload(586)...) // 600 bytes, 604 with FCS
	for _, tc := range []struct {
		name    string
		rctl    uint32
		lengths []uint16
	}{
		{"2048", 0, []uint16{604}},
		{"1024", 1 << 16, []uint16{604}},
		{"512", 2 << 16, []uint16{512, 92}},
		{"256", 3 << 16, []uint16{256, 256, 92}},
		{"4096 (BSEX)", 3<<16 | rctlBSEX, []uint16{604}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := newDriver(t)
			d.bringUp()
			d.w32(regRCTL, d.r32(regRCTL)&^(rctlBSIZE|rctlBSEX)|tc.rctl)
			if !d.dev.Receive(frame) {
				t.Fatal("refused")
			}
			var got []byte
			for i, want := range tc.lengths {
				length, _, status, _, _ := d.rxDesc(uint32(i))
				wantSt := uint8(rxStatDD)
				if i == len(tc.lengths)-1 {
					wantSt |= rxStatEOP
				}
				if length != want || status != wantSt {
					t.Errorf("descriptor %d: length %d status %#x, want %d %#x", i, length, status, want, wantSt)
				}
				buf := rxBufArea + uint64(i)*bufSize
				got = append(got, d.mem.mem[buf:buf+uint64(length)]...)
			}
			mustEqualBytes(t, "reassembled", got, withFCS(frame))
			if rdh := d.r32(regRDH); rdh != uint32(len(tc.lengths)) {
				t.Errorf("RDH = %d", rdh)
			}
		})
	}
}

func TestRxLengths(t *testing.T) {
	for _, tc := range []struct {
		name     string
		n        int
		lpe      bool
		secrc    bool
		want     bool
		wantLen  uint16
		wantStat uint32 // register that counts it
	}{
		{"runt", 13, false, false, false, 0, regRUC},
		{"short ARP padded", 42, false, false, true, 64, regPRC64},
		{"1514 bytes", 1514, false, false, true, 1518, regPRC1522},
		{"1518 bytes: 1522 with FCS", 1518, false, false, true, 1522, regPRC1522},
		{"1519 bytes without LPE", 1519, false, false, false, 0, regROC},
		{"1519 bytes with LPE", 1519, true, false, true, 1523, regGPRC},
		{"SECRC strips the FCS", 100, false, true, true, 100, regPRC127},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := newDriver(t)
			d.bringUp()
			rctl := d.r32(regRCTL)
			if tc.lpe {
				rctl |= rctlLPE
			}
			if tc.secrc {
				rctl |= rctlSECRC
			}
			d.w32(regRCTL, rctl)
			f := make([]byte, tc.n)
			copy(f, testMAC[:])
			if got := d.dev.Receive(f); got != tc.want {
				t.Fatalf("accepted = %v", got)
			}
			if length, _, _, _, _ := d.rxDesc(0); length != tc.wantLen {
				t.Errorf("length %d, want %d", length, tc.wantLen)
			}
			if got := d.r32(tc.wantStat); got != 1 {
				t.Errorf("%s = %d, want 1", RegName(tc.wantStat), got)
			}
		})
	}
}

func TestRxFIFOAndOverrun(t *testing.T) {
	d := newDriver(t)
	d.probe()
	d.open(64, 64)
	d.watchdog()
	d.r32(regICR)
	// Linux leaves RDT on the last filled descriptor, so the hardware owns
	// 62 of the 64: 62 frames fill the ring.
	frame := append(ethHeader(testMAC, peerMAC, 0x88B5), payload(986)...) // 1004 with FCS
	for i := 0; i < 62; i++ {
		if !d.dev.Receive(frame) {
			t.Fatalf("frame %d refused", i)
		}
	}
	if icr := d.r32(regICR); icr != IntRXT0|IntRXDMT0 {
		t.Errorf("ICR = %#x, want RXT0|RXDMT0", icr)
	}
	// 48 KiB of FIFO holds 48 more 1004-byte frames; the 49th is missed.
	for i := 0; i < 48; i++ {
		if !d.dev.Receive(frame) {
			t.Fatalf("FIFO frame %d refused", i)
		}
	}
	if d.dev.Receive(frame) {
		t.Fatal("frame accepted past the FIFO")
	}
	for _, st := range []struct{ off, want uint32 }{{regRNBC, 49}, {regMPC, 1}, {regGPRC, 110}, {regTPR, 111}} {
		if got := d.r32(st.off); got != st.want {
			t.Errorf("%s = %d, want %d", RegName(st.off), got, st.want)
		}
	}
	if icr := d.r32(regICR); icr != IntRXO {
		t.Errorf("ICR = %#x, want RXO", icr)
	}
	// NAPI cleans and refills; the RDT write drains the FIFO into the ring.
	total := 0
	for i := 0; i < 4 && total < 110; i++ {
		total += d.cleanRx()
	}
	if total != 110 {
		t.Fatalf("driver received %d frames, want 110", total)
	}
	for i, f := range d.received {
		if !bytes.Equal(f, frame) {
			t.Fatalf("frame %d differs", i)
		}
	}
	if s := d.dev.Stats(); s.RxFrames != 110 || s.RxMissed != 1 {
		t.Errorf("stats %+v", s)
	}
}

func TestRxDisabledOrDown(t *testing.T) {
	d := newDriver(t)
	d.bringUp()
	frame := append(ethHeader(testMAC, peerMAC, 0x88B5), payload(50)...)
	d.w32(regRCTL, d.r32(regRCTL)&^rctlEN)
	if d.dev.Receive(frame) {
		t.Error("accepted with RCTL.EN clear")
	}
	d.w32(regRCTL, d.r32(regRCTL)|rctlEN)
	d.dev.SetLink(false)
	if d.dev.Receive(frame) {
		t.Error("accepted without link")
	}
	d.dev.SetLink(true)
	if !d.dev.Receive(frame) {
		t.Error("refused after link returned")
	}
	if s := d.dev.Stats(); s.RxMissed != 2 || s.RxFrames != 1 {
		t.Errorf("stats %+v", s)
	}
}

// TestRxRingWrap pushes many frames through a small ring with the
// driver cleaning as it goes, checking order and content across wraps.
func TestRxRingWrap(t *testing.T) {
	d := newDriver(t)
	d.probe()
	d.open(8, 8)
	d.watchdog()
	for i := 0; i < 100; i++ {
		f := append(ethHeader(testMAC, peerMAC, 0x88B5), byte(i))
		if !d.dev.Receive(append(f, payload(60)...)) {
			t.Fatalf("frame %d refused", i)
		}
		if i%5 == 4 {
			d.cleanRx()
		}
	}
	d.cleanRx()
	if len(d.received) != 100 {
		t.Fatalf("received %d", len(d.received))
	}
	for i, f := range d.received {
		if f[14] != byte(i) {
			t.Fatalf("frame %d carries %d", i, f[14])
		}
	}
}

// TestConcurrentReceiveAndMMIO runs the wire side (Receive) and the
// driver side (ICR reads, RDT writes recycling the already-posted
// buffers) on two goroutines; under -race this checks the locking.
func TestConcurrentReceiveAndMMIO(t *testing.T) {
	d := newDriver(t)
	d.bringUp()
	frame := append(ethHeader(testMAC, peerMAC, 0x88B5), payload(200)...)
	const total = 2000
	accepted := 0
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < total; i++ {
			if d.dev.Receive(frame) {
				accepted++
			}
		}
	}()
	for running := true; running; {
		select {
		case <-done:
			running = false
		default:
		}
		d.dev.ReadMMIO(regICR, 4)
		rdh := uint32(d.dev.ReadMMIO(regRDH, 4))
		d.dev.WriteMMIO(regRDT, 4, uint64((rdh+d.rxCount-1)%d.rxCount))
	}
	s := d.dev.Stats()
	if got := s.RxFrames + uint64(len(d.dev.rx.fifo)); got != uint64(accepted) || uint64(accepted)+s.RxMissed != total {
		t.Errorf("accepted %d, written %d, queued %d, missed %d", accepted, s.RxFrames, len(d.dev.rx.fifo), s.RxMissed)
	}
	if got := d.r32(regGPRC); got != uint32(accepted) {
		t.Errorf("GPRC = %d, accepted %d", got, accepted)
	}
}
