package e1000

import (
	"encoding/binary"
	"errors"
	"testing"
)

const (
	cmdEOP = txCmdEOP
	cmdRS  = txCmdRS
	dext   = txCmdDEXT | txDTYPDat
)

func TestTxLegacy(t *testing.T) {
	frame := append(ethHeader(peerMAC, testMAC, 0x88B5), payload(100)...)
	for _, tc := range []struct {
		name    string
		split   []int // buffer lengths
		rsLast  bool
		wantDD  []bool
		wantICR uint32
	}{
		{"one buffer", []int{114}, true, []bool{true}, IntTXDW | IntTXQE},
		{"three buffers, RS on the last", []int{14, 50, 50}, true, []bool{false, false, true}, IntTXDW | IntTXQE},
		{"no RS: no write-back", []int{114}, false, []bool{false}, IntTXQE},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := newDriver(t)
			d.bringUp()
			first := d.txNext
			off := 0
			for i, n := range tc.split {
				addr := d.putBuf(i, frame[off:off+n])
				lower := uint32(n) | txCmdIFCS
				if i == len(tc.split)-1 {
					lower |= cmdEOP
					if tc.rsLast {
						lower |= cmdRS
					}
				}
				d.txDesc(addr, lower, 0)
				off += n
			}
			d.kickTx()
			if len(d.wire.frames) != 1 {
				t.Fatalf("%d frames on the wire", len(d.wire.frames))
			}
			mustEqualBytes(t, "frame", d.wire.frames[0], frame)
			for i, want := range tc.wantDD {
				if got := d.txStatus(first+uint32(i))&txStaDD != 0; got != want {
					t.Errorf("descriptor %d DD = %v, want %v", i, got, want)
				}
			}
			if got := d.r32(regTDH); got != d.txNext {
				t.Errorf("TDH = %d, want %d", got, d.txNext)
			}
			if got := d.r32(regICR); got != tc.wantICR {
				t.Errorf("ICR = %#x, want %#x", got, tc.wantICR)
			}
			for _, st := range []struct {
				off, want uint32
			}{{regGPTC, 1}, {regTPT, 1}, {regGOTCL, 118}, {regGOTCH, 0}, {regGOTCL, 0}, {regTOTL, 118}, {regTOTH, 0},
				{regPTC127, 1}, {regPTC127, 0}, {regPTC64, 0}, {regMPTC, 0}, {regBPTC, 0}, {regGPTC, 0}} {
				if got := d.r32(st.off); got != st.want {
					t.Errorf("%s = %d, want %d", RegName(st.off), got, st.want)
				}
			}
		})
	}
}

func TestTxPadding(t *testing.T) {
	short := ethHeader(peerMAC, testMAC, 0x88B5)
	for _, tc := range []struct {
		name string
		psp  bool
		want int
	}{{"PSP pads to 60", true, 60}, {"no PSP, as given", false, 14}} {
		t.Run(tc.name, func(t *testing.T) {
			d := newDriver(t)
			d.bringUp()
			if !tc.psp {
				d.w32(regTCTL, d.r32(regTCTL)&^tctlPSP)
			}
			d.txDesc(d.putBuf(0, short), 14|cmdEOP|cmdRS, 0)
			d.kickTx()
			if got := len(d.wire.frames[0]); got != tc.want {
				t.Errorf("frame length %d, want %d", got, tc.want)
			}
			mustEqualBytes(t, "header", d.wire.frames[0][:14], short)
		})
	}
}

func TestTxLegacyChecksum(t *testing.T) {
	// A UDP packet; software put the pseudo-header sum in the field and
	// asks for the checksum over the UDP header and payload.
	body := payload(40)
	udp := udpHeader(len(body))
	binary.BigEndian.PutUint16(udp[6:], foldPartial(pseudo(17, 48)))
	frame := ipv4(17, append(udp, body...), 0x1000, true)
	d := newDriver(t)
	d.bringUp()
	css, cso := 34, 40
	d.txDesc(d.putBuf(0, frame), uint32(len(frame))|uint32(cso)<<16|cmdEOP|txCmdIFCS|txCmdIC|cmdRS, uint32(css)<<8)
	d.kickTx()
	got := d.wire.frames[0]
	checkIPv4(t, "legacy IC", got)
	if sum := binary.BigEndian.Uint16(got[40:]); sum != 0x5503 {
		t.Errorf("UDP checksum %#04x, want 0x5503", sum)
	}
	// IC with CSO beyond the packet is ignored.
	d.txDesc(d.putBuf(1, frame), uint32(len(frame))|200<<16|cmdEOP|txCmdIC|cmdRS, uint32(css)<<8)
	d.kickTx()
	mustEqualBytes(t, "IC out of range", d.wire.frames[1], frame)
}

// TestTxChecksumOffload is Linux's e1000_tx_csum path: a context
// descriptor with TUCSS/TUCSO and data descriptors with POPTS.TXSM.
func TestTxChecksumOffload(t *testing.T) {
	body := payload(200)
	tcp := tcpHeader(0x01020304, 0x18)
	binary.BigEndian.PutUint16(tcp[16:], foldPartial(pseudo(6, 220)))
	frame := ipv4(6, append(tcp, body...), 0x2000, true)
	d := newDriver(t)
	d.bringUp()
	d.txCtx(0, 0, 0, 34, 34+16, 0, 0, tucmdTCP, 0, 0)
	d.txDesc(d.putBuf(0, frame[:54]), 54|dext, poptsTXSM<<8)
	d.txDesc(d.putBuf(1, frame[54:]), uint32(len(frame)-54)|dext|cmdEOP|txCmdIFCS|cmdRS, poptsTXSM<<8)
	d.kickTx()
	got := d.wire.frames[0]
	checkIPv4(t, "TXSM", got)
	if sum := binary.BigEndian.Uint16(got[50:]); sum != 0x93C1 {
		t.Errorf("TCP checksum %#04x, want 0x93c1", sum)
	}
	mustEqualBytes(t, "payload", got[54:], body)
	// IXSM as well: the IP header checksum is inserted too.
	noIPSum := ipv4(6, append(tcp, body...), 0x2000, false)
	d.txCtx(14, 24, 33, 34, 34+16, 0, 0, tucmdTCP|tucmdIP, 0, 0)
	d.txDesc(d.putBuf(2, noIPSum), uint32(len(noIPSum))|dext|cmdEOP|cmdRS, (poptsTXSM|poptsIXSM)<<8)
	d.kickTx()
	mustEqualBytes(t, "IXSM|TXSM", d.wire.frames[1], got)
}

// TestTSO is Linux's e1000_tso path: ip tot_len and check zeroed, TCP
// check the pseudo-header sum without length, IPv4, MSS 1000.
func TestTSO(t *testing.T) {
	body := payload(2500)
	tcp := tcpHeader(1000, 0x19) // FIN|PSH|ACK
	binary.BigEndian.PutUint16(tcp[16:], foldPartial(pseudo(6, 0)))
	frame := ipv4(6, append(tcp, body...), 0x3000, false)
	binary.BigEndian.PutUint16(frame[16:], 0) // tot_len = 0
	d := newDriver(t)
	d.bringUp()
	d.txCtx(14, 24, 33, 34, 50, 0, uint32(len(body)), tucmdTCP|tucmdIP|tucmdTSE, 54, 1000)
	d.txDesc(d.putBuf(0, frame[:54]), 54|dext|txCmdTSE, (poptsTXSM|poptsIXSM)<<8)
	d.txDesc(d.putBuf(1, frame[54:1054]), 1000|dext|txCmdTSE, (poptsTXSM|poptsIXSM)<<8)
	d.txDesc(d.putBuf(2, frame[1054:]), uint32(len(frame)-1054)|dext|txCmdTSE|cmdEOP|txCmdIFCS|cmdRS, (poptsTXSM|poptsIXSM)<<8)
	d.kickTx()
	if len(d.wire.frames) != 3 {
		t.Fatalf("%d frames, want 3", len(d.wire.frames))
	}
	for i, want := range []struct {
		totalLen, id uint16
		seq          uint32
		flags        byte
		tcpSum       uint16
		body         []byte
	}{
		{1040, 0x3000, 1000, 0x10, 0x89CE, body[:1000]},
		{1040, 0x3001, 2000, 0x10, 0xA304, body[1000:2000]},
		{540, 0x3002, 3000, 0x19, 0x2A67, body[2000:]},
	} {
		f := d.wire.frames[i]
		totalLen, id, l4 := checkIPv4(t, "segment", f)
		if totalLen != want.totalLen || id != want.id {
			t.Errorf("segment %d: total length %d id %#x, want %d %#x", i, totalLen, id, want.totalLen, want.id)
		}
		if seq := binary.BigEndian.Uint32(l4[4:]); seq != want.seq || l4[13] != want.flags {
			t.Errorf("segment %d: seq %d flags %#x, want %d %#x", i, seq, l4[13], want.seq, want.flags)
		}
		if sum := binary.BigEndian.Uint16(l4[16:]); sum != want.tcpSum {
			t.Errorf("segment %d: TCP checksum %#04x, want %#04x", i, sum, want.tcpSum)
		}
		mustEqualBytes(t, "segment payload", l4[20:], want.body)
	}
	if got := d.r32(regTSCTC); got != 1 {
		t.Errorf("TSCTC = %d", got)
	}
	if got := d.r32(regGPTC); got != 3 {
		t.Errorf("GPTC = %d", got)
	}
	if len(d.events) != 0 {
		t.Errorf("events: %v", d.events)
	}
}

func TestTSOBadContext(t *testing.T) {
	frame := ipv4(6, append(tcpHeader(1, 0x10), payload(100)...), 1, false)
	for _, tc := range []struct {
		name   string
		hdrlen uint8
		mss    uint16
		tucmd  uint32
	}{
		{"MSS 0", 54, 0, tucmdTCP | tucmdIP | tucmdTSE},
		{"header longer than the packet", 255, 100, tucmdTCP | tucmdIP | tucmdTSE},
		{"header too short for TCP", 40, 100, tucmdTCP | tucmdIP | tucmdTSE},
		{"context without TSE", 54, 100, tucmdTCP | tucmdIP},
		{"too many segments", 54, 1, tucmdTCP | tucmdIP | tucmdTSE},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := newDriver(t)
			d.bringUp()
			if tc.name == "too many segments" {
				frame = ipv4(6, append(tcpHeader(1, 0x10), payload(9000)...), 1, false)
			}
			d.txCtx(14, 24, 33, 34, 50, 0, uint32(len(frame)-54), tc.tucmd, tc.hdrlen, tc.mss)
			d.txDesc(d.putBuf(0, frame), uint32(len(frame))|dext|txCmdTSE|cmdEOP|cmdRS, poptsTXSM<<8)
			d.kickTx()
			if len(d.wire.frames) != 0 {
				t.Errorf("%d frames sent", len(d.wire.frames))
			}
			if k := d.eventKinds(); len(k) != 1 || k[0] != EventBadDescriptor {
				t.Errorf("events %v", d.events)
			}
			if d.txStatus(1)&txStaDD == 0 || d.r32(regTSCTFC) != 1 {
				t.Error("descriptor not completed or TSCTFC not counted")
			}
		})
	}
}

func TestTxVLAN(t *testing.T) {
	frame := append(ethHeader(peerMAC, testMAC, 0x0800), payload(60)...)
	for _, tc := range []struct {
		name string
		vme  bool
		want []byte
	}{
		{"VME: tag inserted", true, append(append(ethHeader(peerMAC, testMAC, 0x8100)[:12], 0x81, 0x00, 0x20, 0x05, 0x08, 0x00), payload(60)...)},
		{"no VME: VLE ignored", false, frame},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := newDriver(t)
			d.bringUp()
			if tc.vme {
				d.w32(regCTRL, d.r32(regCTRL)|ctrlVME)
			}
			d.txDesc(d.putBuf(0, frame), uint32(len(frame))|cmdEOP|cmdRS|txCmdVLE, 0x2005<<16)
			d.kickTx()
			mustEqualBytes(t, "frame", d.wire.frames[0], tc.want)
		})
	}
}

func TestTxHeldWithoutLink(t *testing.T) {
	d := newDriver(t)
	d.bringUp()
	d.dev.SetLink(false)
	d.txDesc(d.putBuf(0, payload(64)), 64|cmdEOP|cmdRS, 0)
	d.kickTx()
	if len(d.wire.frames) != 0 || d.r32(regTDH) != 0 {
		t.Fatal("transmitted without link")
	}
	d.dev.SetLink(true)
	if len(d.wire.frames) != 1 || d.r32(regTDH) != 1 {
		t.Errorf("link up: %d frames, TDH %d", len(d.wire.frames), d.r32(regTDH))
	}
}

func TestTxWireError(t *testing.T) {
	d := newDriver(t)
	d.bringUp()
	d.wire.err = errors.New("tap gone")
	d.txDesc(d.putBuf(0, payload(64)), 64|cmdEOP|cmdRS, 0)
	d.kickTx()
	if d.txStatus(0)&txStaDD == 0 {
		t.Error("descriptor not completed")
	}
	s := d.dev.Stats()
	if s.WireErrors != 1 || s.TxDropped != 1 || s.TxFrames != 0 {
		t.Errorf("stats %+v", s)
	}
	if len(d.events) != 1 || d.events[0].Kind != EventWireError || d.events[0].Err != d.wire.err {
		t.Errorf("events %v", d.events)
	}
}

func TestTxReservedType(t *testing.T) {
	d := newDriver(t)
	d.bringUp()
	d.txDesc(d.putBuf(0, payload(64)), 64|txCmdDEXT|2<<20|cmdEOP|cmdRS, 0)
	d.txDesc(d.putBuf(1, payload(64)), 64|cmdEOP|cmdRS, 0)
	d.kickTx()
	if len(d.wire.frames) != 1 {
		t.Errorf("%d frames, want the second only", len(d.wire.frames))
	}
	if k := d.eventKinds(); len(k) != 1 || k[0] != EventBadDescriptor {
		t.Errorf("events %v", d.events)
	}
}

// TestTxRingWrap sends 300 checksum-offloaded packets through a 64-entry
// ring the way e1000_xmit_frame does (context + data descriptors, RS on
// EOP, tail write per packet), cleaning like the NAPI poll.
func TestTxRingWrap(t *testing.T) {
	d := newDriver(t)
	d.bringUp()
	eops := map[uint32]uint32{}
	sent := 0
	for sent < 300 {
		used := (d.txNext - d.txClean + d.txCount) % d.txCount
		if d.txCount-used-1 < 4 { // E1000_DESC_UNUSED check
			if d.cleanTx(eops) == 0 {
				t.Fatal("ring full and nothing to clean")
			}
			continue
		}
		body := append(payload(40), byte(sent), byte(sent>>8))
		udp := udpHeader(len(body))
		binary.BigEndian.PutUint16(udp[6:], foldPartial(pseudo(17, len(udp)+len(body))))
		frame := ipv4(17, append(udp, body...), uint16(sent), true)
		first := d.txNext
		d.txCtx(0, 0, 0, 34, 40, 0, 0, 0, 0, 0)
		d.txDesc(d.putBuf(sent%8, frame), uint32(len(frame))|dext|cmdEOP|txCmdIFCS|cmdRS, poptsTXSM<<8)
		eops[first] = (d.txNext + d.txCount - 1) % d.txCount
		d.kickTx()
		sent++
	}
	d.cleanTx(eops)
	if len(d.wire.frames) != 300 || d.r32(regTDH) != d.txNext || d.txClean != d.txNext {
		t.Fatalf("%d frames, TDH %d, next_to_use %d, next_to_clean %d", len(d.wire.frames), d.r32(regTDH), d.txNext, d.txClean)
	}
	for i, f := range d.wire.frames {
		checkIPv4(t, "frame", f)
		if id := binary.BigEndian.Uint16(f[18:]); id != uint16(i) {
			t.Fatalf("frame %d has IP ID %d", i, id)
		}
	}
	if got := d.r32(regGPTC); got != 300 {
		t.Errorf("GPTC = %d", got)
	}
}
