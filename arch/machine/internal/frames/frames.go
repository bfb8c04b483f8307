// Package frames builds and parses the few Ethernet frames the machine's
// tests exchange with a peer stack: ARP for IPv4 and ICMPv4 echo. It
// checks every length and checksum it parses, so a test that receives a
// frame knows it is well formed, and Responder answers for one address as
// a minimal host would. It is internal to arch/machine, for tests and
// tools; nothing in the data path uses it.
package frames

import (
	"encoding/binary"
	"net/netip"
)

// Ethertypes.
const (
	TypeIPv4 = 0x0800
	TypeARP  = 0x0806
)

// Broadcast is the Ethernet broadcast address.
var Broadcast = [6]byte{0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF}

// ARP operations.
const (
	ARPRequest = 1
	ARPReply   = 2
)

// ARP is an Ethernet/IPv4 ARP packet and the frame's addresses.
type ARP struct {
	Dst, Src             [6]byte // Ethernet header
	Op                   uint16
	SenderMAC, TargetMAC [6]byte
	SenderIP, TargetIP   netip.Addr
}

func ether(dst, src [6]byte, typ uint16, payload int) []byte {
	b := make([]byte, 14+payload)
	copy(b, dst[:])
	copy(b[6:], src[:])
	binary.BigEndian.PutUint16(b[12:], typ)
	return b
}

// Frame returns the ARP packet as an Ethernet frame (42 bytes).
func (a ARP) Frame() []byte {
	b := ether(a.Dst, a.Src, TypeARP, 28)
	p := b[14:]
	binary.BigEndian.PutUint16(p[0:], 1) // Ethernet
	binary.BigEndian.PutUint16(p[2:], TypeIPv4)
	p[4], p[5] = 6, 4
	binary.BigEndian.PutUint16(p[6:], a.Op)
	copy(p[8:], a.SenderMAC[:])
	s4, t4 := a.SenderIP.As4(), a.TargetIP.As4()
	copy(p[14:], s4[:])
	copy(p[18:], a.TargetMAC[:])
	copy(p[24:], t4[:])
	return b
}

// WhoHas is an ARP request from mac/ip for target, broadcast.
func WhoHas(mac [6]byte, ip, target netip.Addr) []byte {
	return ARP{Dst: Broadcast, Src: mac, Op: ARPRequest, SenderMAC: mac, SenderIP: ip, TargetIP: target}.Frame()
}

// ParseARP parses an Ethernet/IPv4 ARP frame (trailing padding allowed).
func ParseARP(f []byte) (ARP, bool) {
	if len(f) < 42 || binary.BigEndian.Uint16(f[12:]) != TypeARP {
		return ARP{}, false
	}
	p := f[14:]
	if binary.BigEndian.Uint16(p[0:]) != 1 || binary.BigEndian.Uint16(p[2:]) != TypeIPv4 || p[4] != 6 || p[5] != 4 {
		return ARP{}, false
	}
	var a ARP
	copy(a.Dst[:], f[0:6])
	copy(a.Src[:], f[6:12])
	a.Op = binary.BigEndian.Uint16(p[6:])
	copy(a.SenderMAC[:], p[8:14])
	a.SenderIP = netip.AddrFrom4([4]byte(p[14:18]))
	copy(a.TargetMAC[:], p[18:24])
	a.TargetIP = netip.AddrFrom4([4]byte(p[24:28]))
	return a, true
}

// ICMP echo types.
const (
	EchoReply   = 0
	EchoRequest = 8
)

// Echo is an ICMPv4 echo request or reply in an IPv4 packet in an
// Ethernet frame.
type Echo struct {
	Dst, Src [6]byte
	SrcIP    netip.Addr
	DstIP    netip.Addr
	TTL      uint8
	Type     uint8
	ID, Seq  uint16
	Payload  []byte
}

// Checksum is the Internet checksum of b.
func Checksum(b []byte) uint16 {
	var sum uint32
	for i := 0; i+1 < len(b); i += 2 {
		sum += uint32(binary.BigEndian.Uint16(b[i:]))
	}
	if len(b)%2 == 1 {
		sum += uint32(b[len(b)-1]) << 8
	}
	for sum > 0xFFFF {
		sum = sum&0xFFFF + sum>>16
	}
	return ^uint16(sum)
}

// Frame returns the echo as an Ethernet frame with correct IPv4 and ICMP
// checksums (DF set, TTL 64 unless e.TTL is set).
func (e Echo) Frame() []byte {
	icmpLen := 8 + len(e.Payload)
	b := ether(e.Dst, e.Src, TypeIPv4, 20+icmpLen)
	ip := b[14:]
	ip[0] = 0x45
	binary.BigEndian.PutUint16(ip[2:], uint16(20+icmpLen))
	binary.BigEndian.PutUint16(ip[4:], e.Seq) // IP ID
	binary.BigEndian.PutUint16(ip[6:], 0x4000)
	ip[8] = e.TTL
	if ip[8] == 0 {
		ip[8] = 64
	}
	ip[9] = 1 // ICMP
	s4, d4 := e.SrcIP.As4(), e.DstIP.As4()
	copy(ip[12:], s4[:])
	copy(ip[16:], d4[:])
	binary.BigEndian.PutUint16(ip[10:], Checksum(ip[:20]))
	ic := ip[20:]
	ic[0] = e.Type
	binary.BigEndian.PutUint16(ic[4:], e.ID)
	binary.BigEndian.PutUint16(ic[6:], e.Seq)
	copy(ic[8:], e.Payload)
	binary.BigEndian.PutUint16(ic[2:], Checksum(ic))
	return b
}

// ParseEcho parses an ICMPv4 echo request or reply frame, checking the
// IPv4 header (version, length, no fragments, checksum) and the ICMP
// checksum. Trailing Ethernet padding is allowed.
func ParseEcho(f []byte) (Echo, bool) {
	if len(f) < 14+20+8 || binary.BigEndian.Uint16(f[12:]) != TypeIPv4 {
		return Echo{}, false
	}
	ip := f[14:]
	ihl := int(ip[0]&0xF) * 4
	total := int(binary.BigEndian.Uint16(ip[2:]))
	if ip[0]>>4 != 4 || ihl < 20 || total < ihl+8 || total > len(ip) || ip[9] != 1 ||
		binary.BigEndian.Uint16(ip[6:])&0x3FFF != 0 || Checksum(ip[:ihl]) != 0 {
		return Echo{}, false
	}
	ic := ip[ihl:total]
	if (ic[0] != EchoRequest && ic[0] != EchoReply) || ic[1] != 0 || Checksum(ic) != 0 {
		return Echo{}, false
	}
	e := Echo{
		SrcIP: netip.AddrFrom4([4]byte(ip[12:16])), DstIP: netip.AddrFrom4([4]byte(ip[16:20])),
		TTL: ip[8], Type: ic[0],
		ID: binary.BigEndian.Uint16(ic[4:]), Seq: binary.BigEndian.Uint16(ic[6:]),
		Payload: append([]byte(nil), ic[8:]...),
	}
	copy(e.Dst[:], f[0:6])
	copy(e.Src[:], f[6:12])
	return e, true
}

// Responder answers, for one IPv4 address, what a minimal host answers:
// ARP requests for it and ICMP echo requests to it.
type Responder struct {
	MAC [6]byte
	IP  netip.Addr
}

// Answer returns the reply to f, if f calls for one.
func (r Responder) Answer(f []byte) ([]byte, bool) {
	if a, ok := ParseARP(f); ok {
		if a.Op != ARPRequest || a.TargetIP != r.IP {
			return nil, false
		}
		return ARP{Dst: a.SenderMAC, Src: r.MAC, Op: ARPReply, SenderMAC: r.MAC, SenderIP: r.IP,
			TargetMAC: a.SenderMAC, TargetIP: a.SenderIP}.Frame(), true
	}
	if e, ok := ParseEcho(f); ok && e.Type == EchoRequest && e.DstIP == r.IP && e.Dst == r.MAC {
		return Echo{Dst: e.Src, Src: r.MAC, SrcIP: r.IP, DstIP: e.SrcIP, Type: EchoReply,
			ID: e.ID, Seq: e.Seq, Payload: e.Payload}.Frame(), true
	}
	return nil, false
}
