// Package frames builds and parses the few Ethernet frames the NIC probe
// needs: ARP requests and replies, and ICMPv4 echo requests and replies.
// Parsers check every length before reading; a frame they do not
// understand is reported as such, never a panic.
package frames

import (
	"encoding/binary"
	"errors"
	"net/netip"
)

// EtherTypes.
const (
	TypeIPv4 = 0x0800
	TypeARP  = 0x0806
)

// Broadcast is the Ethernet broadcast address.
var Broadcast = [6]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}

// ErrShort is returned for frames too short for what they claim to be.
var ErrShort = errors.New("frame too short")

func ether(dst, src [6]byte, typ uint16, payload []byte) []byte {
	f := make([]byte, 14, 14+len(payload)+46)
	copy(f[0:], dst[:])
	copy(f[6:], src[:])
	binary.BigEndian.PutUint16(f[12:], typ)
	f = append(f, payload...)
	for len(f) < 60 { // minimum frame without FCS
		f = append(f, 0)
	}
	return f
}

// ARP builds an ARP request (op 1) or reply (op 2).
func ARP(op uint16, srcMAC [6]byte, srcIP netip.Addr, dstMAC [6]byte, dstIP netip.Addr) []byte {
	p := make([]byte, 28)
	binary.BigEndian.PutUint16(p[0:], 1)      // Ethernet
	binary.BigEndian.PutUint16(p[2:], 0x0800) // IPv4
	p[4], p[5] = 6, 4
	binary.BigEndian.PutUint16(p[6:], op)
	copy(p[8:], srcMAC[:])
	s4 := srcIP.As4()
	copy(p[14:], s4[:])
	if op == 2 {
		copy(p[18:], dstMAC[:])
	}
	d4 := dstIP.As4()
	copy(p[24:], d4[:])
	edst := Broadcast
	if op == 2 {
		edst = dstMAC
	}
	return ether(edst, srcMAC, TypeARP, p)
}

// ARPInfo is a parsed ARP packet.
type ARPInfo struct {
	Op             uint16
	SrcMAC, DstMAC [6]byte
	SrcIP, DstIP   netip.Addr
}

// ParseARP parses an ARP frame.
func ParseARP(f []byte) (ARPInfo, error) {
	var a ARPInfo
	if len(f) < 14+28 {
		return a, ErrShort
	}
	if binary.BigEndian.Uint16(f[12:]) != TypeARP {
		return a, errors.New("not ARP")
	}
	p := f[14:]
	a.Op = binary.BigEndian.Uint16(p[6:])
	copy(a.SrcMAC[:], p[8:14])
	a.SrcIP = netip.AddrFrom4([4]byte(p[14:18]))
	copy(a.DstMAC[:], p[18:24])
	a.DstIP = netip.AddrFrom4([4]byte(p[24:28]))
	return a, nil
}

func checksum(b []byte) uint16 {
	var s uint32
	for i := 0; i+1 < len(b); i += 2 {
		s += uint32(binary.BigEndian.Uint16(b[i:]))
	}
	if len(b)%2 == 1 {
		s += uint32(b[len(b)-1]) << 8
	}
	for s > 0xffff {
		s = s>>16 + s&0xffff
	}
	return ^uint16(s)
}

// ICMPEcho builds an ICMPv4 echo request (typ 8) or reply (typ 0).
func ICMPEcho(typ uint8, srcMAC, dstMAC [6]byte, src, dst netip.Addr, id, seq uint16, data []byte) []byte {
	icmp := make([]byte, 8+len(data))
	icmp[0] = typ
	binary.BigEndian.PutUint16(icmp[4:], id)
	binary.BigEndian.PutUint16(icmp[6:], seq)
	copy(icmp[8:], data)
	binary.BigEndian.PutUint16(icmp[2:], checksum(icmp))
	ip := make([]byte, 20, 20+len(icmp))
	ip[0] = 0x45
	binary.BigEndian.PutUint16(ip[2:], uint16(20+len(icmp)))
	ip[8] = 64
	ip[9] = 1 // ICMP
	s4, d4 := src.As4(), dst.As4()
	copy(ip[12:], s4[:])
	copy(ip[16:], d4[:])
	binary.BigEndian.PutUint16(ip[10:], checksum(ip))
	return ether(dstMAC, srcMAC, TypeIPv4, append(ip, icmp...))
}

// Echo is a parsed ICMPv4 echo packet.
type Echo struct {
	Type         uint8
	SrcMAC       [6]byte
	Src, Dst     netip.Addr
	ID, Seq      uint16
	Data         []byte
	ChecksumGood bool
}

// ParseEcho parses an ICMPv4 echo request or reply frame.
func ParseEcho(f []byte) (Echo, error) {
	var e Echo
	if len(f) < 14+20+8 {
		return e, ErrShort
	}
	if binary.BigEndian.Uint16(f[12:]) != TypeIPv4 {
		return e, errors.New("not IPv4")
	}
	ip := f[14:]
	ihl := int(ip[0]&0x0f) * 4
	total := int(binary.BigEndian.Uint16(ip[2:]))
	if ip[0]>>4 != 4 || ihl < 20 || total < ihl+8 || total > len(ip) {
		return e, errors.New("bad IPv4 header")
	}
	if ip[9] != 1 {
		return e, errors.New("not ICMP")
	}
	icmp := ip[ihl:total]
	e.Type = icmp[0]
	if e.Type != 0 && e.Type != 8 {
		return e, errors.New("not an echo")
	}
	copy(e.SrcMAC[:], f[6:12])
	e.Src = netip.AddrFrom4([4]byte(ip[12:16]))
	e.Dst = netip.AddrFrom4([4]byte(ip[16:20]))
	e.ID = binary.BigEndian.Uint16(icmp[4:])
	e.Seq = binary.BigEndian.Uint16(icmp[6:])
	e.Data = append([]byte(nil), icmp[8:]...)
	e.ChecksumGood = checksum(icmp) == 0
	return e, nil
}
