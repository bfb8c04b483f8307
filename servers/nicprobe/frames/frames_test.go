package frames

import (
	"bytes"
	"net/netip"
	"testing"
)

var (
	macA = [6]byte{0x52, 0x54, 0, 0x12, 0x34, 0x56}
	macB = [6]byte{2, 0, 0, 0, 0, 1}
	ipA  = netip.MustParseAddr("192.0.2.2")
	ipB  = netip.MustParseAddr("192.0.2.1")
)

func TestARPRoundTrip(t *testing.T) {
	req := ARP(1, macA, ipA, [6]byte{}, ipB)
	if len(req) != 60 || !bytes.Equal(req[:6], Broadcast[:]) {
		t.Fatalf("request: %x", req)
	}
	a, err := ParseARP(req)
	if err != nil || a.Op != 1 || a.SrcMAC != macA || a.SrcIP != ipA || a.DstIP != ipB {
		t.Fatalf("parsed %+v %v", a, err)
	}
	rep := ARP(2, macB, ipB, macA, ipA)
	b, err := ParseARP(rep)
	if err != nil || b.Op != 2 || b.DstMAC != macA || !bytes.Equal(rep[:6], macA[:]) {
		t.Fatalf("reply %+v %v", b, err)
	}
}

func TestEchoRoundTrip(t *testing.T) {
	f := ICMPEcho(8, macA, macB, ipA, ipB, 7, 3, []byte("grail"))
	e, err := ParseEcho(f)
	if err != nil || e.Type != 8 || e.ID != 7 || e.Seq != 3 || string(e.Data[:5]) != "grail" || !e.ChecksumGood || e.Src != ipA || e.Dst != ipB {
		t.Fatalf("parsed %+v %v", e, err)
	}
}

func TestParseRejectsShortAndOther(t *testing.T) {
	if _, err := ParseARP(make([]byte, 20)); err != ErrShort {
		t.Errorf("short ARP: %v", err)
	}
	if _, err := ParseEcho(ARP(1, macA, ipA, macB, ipB)); err == nil {
		t.Error("ARP parsed as echo")
	}
	f := ICMPEcho(8, macA, macB, ipA, ipB, 1, 1, nil)
	f[14+2], f[14+3] = 0xff, 0xff // IP total length beyond the frame
	if _, err := ParseEcho(f); err == nil {
		t.Error("bad total length accepted")
	}
}

func FuzzParse(f *testing.F) {
	f.Add(ARP(1, macA, ipA, macB, ipB))
	f.Add(ICMPEcho(0, macA, macB, ipA, ipB, 1, 2, []byte("x")))
	f.Fuzz(func(t *testing.T, b []byte) {
		ParseARP(b)
		ParseEcho(b)
	})
}
