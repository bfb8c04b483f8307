package frames

import (
	"bytes"
	"encoding/hex"
	"net/netip"
	"reflect"
	"testing"
)

var (
	macA = [6]byte{0x52, 0x54, 0, 0x12, 0x34, 0x56}
	macB = [6]byte{0x02, 0, 0, 0, 0, 1}
	ipA  = netip.MustParseAddr("192.0.2.2")
	ipB  = netip.MustParseAddr("192.0.2.1")
)

func TestChecksum(t *testing.T) {
	// The IPv4 header example of RFC 1071's worked examples style: a
	// header whose checksum field holds its checksum sums to zero.
	hdr, _ := hex.DecodeString("450000730000400040110000c0a80001c0a800c7")
	tests := []struct {
		in   []byte
		want uint16
	}{
		{hdr, 0xb861},
		{[]byte{0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7}, ^uint16(0xddf2)},
		{[]byte{0xFF}, 0x00FF},
		{nil, 0xFFFF},
	}
	for _, tc := range tests {
		if got := Checksum(tc.in); got != tc.want {
			t.Errorf("Checksum(%x) = %#04x, want %#04x", tc.in, got, tc.want)
		}
	}
}

func TestARPRoundTrip(t *testing.T) {
	f := WhoHas(macA, ipA, ipB)
	want, _ := hex.DecodeString("ffffffffffff525400123456080600010800060400015254001234" + "56c0000202000000000000c0000201")
	if !bytes.Equal(f, want) {
		t.Fatalf("WhoHas = %x\nwant      %x", f, want)
	}
	a, ok := ParseARP(append(f, make([]byte, 18)...)) // padded to 60 bytes
	if !ok || a.Op != ARPRequest || a.SenderMAC != macA || a.SenderIP != ipA || a.TargetIP != ipB || a.Dst != Broadcast {
		t.Fatalf("ParseARP = %+v, %v", a, ok)
	}
	if _, ok := ParseARP(f[:41]); ok {
		t.Error("ParseARP accepted a short frame")
	}
}

func TestEchoRoundTrip(t *testing.T) {
	e := Echo{Dst: macB, Src: macA, SrcIP: ipA, DstIP: ipB, Type: EchoRequest, ID: 7, Seq: 3, Payload: []byte("grail")}
	f := e.Frame()
	got, ok := ParseEcho(f)
	e.TTL = 64
	if !ok || !reflect.DeepEqual(got, e) {
		t.Fatalf("ParseEcho = %+v, %v; want %+v", got, ok, e)
	}
	for i, mut := range []func([]byte){
		func(b []byte) { b[14+10]++ },     // IP checksum
		func(b []byte) { b[len(b)-1]++ },  // ICMP checksum
		func(b []byte) { b[14+6] = 0x20 }, // more fragments
		func(b []byte) { b[14+9] = 17 },   // UDP
		func(b []byte) { b[14+3] = 0xFF }, // length past the frame
	} {
		b := append([]byte(nil), f...)
		mut(b)
		if _, ok := ParseEcho(b); ok {
			t.Errorf("mutation %d accepted", i)
		}
	}
}

func TestResponder(t *testing.T) {
	r := Responder{MAC: macA, IP: ipA}
	tests := []struct {
		name string
		in   []byte
		want []byte
	}{
		{"arp for us", WhoHas(macB, ipB, ipA),
			ARP{Dst: macB, Src: macA, Op: ARPReply, SenderMAC: macA, SenderIP: ipA, TargetMAC: macB, TargetIP: ipB}.Frame()},
		{"arp for another", WhoHas(macB, ipB, netip.MustParseAddr("192.0.2.9")), nil},
		{"echo to us", Echo{Dst: macA, Src: macB, SrcIP: ipB, DstIP: ipA, Type: EchoRequest, ID: 1, Seq: 2, Payload: []byte{9}}.Frame(),
			Echo{Dst: macB, Src: macA, SrcIP: ipA, DstIP: ipB, Type: EchoReply, ID: 1, Seq: 2, Payload: []byte{9}}.Frame()},
		{"echo reply", Echo{Dst: macA, Src: macB, SrcIP: ipB, DstIP: ipA, Type: EchoReply}.Frame(), nil},
	}
	for _, tc := range tests {
		got, ok := r.Answer(tc.in)
		if ok != (tc.want != nil) || !bytes.Equal(got, tc.want) {
			t.Errorf("%s: %x, %v; want %x", tc.name, got, ok, tc.want)
		}
	}
}
