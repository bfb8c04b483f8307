package e1000

import (
	"encoding/binary"
	"testing"
)

// Test packets use the documentation address ranges.
var (
	peerMAC = [6]byte{0x02, 0x00, 0x00, 0x00, 0x00, 0x02}
	srcIP   = [4]byte{192, 0, 2, 1}
	dstIP   = [4]byte{198, 51, 100, 2}
)

func ethHeader(dst, src [6]byte, etype uint16) []byte {
	b := append(append([]byte{}, dst[:]...), src[:]...)
	return binary.BigEndian.AppendUint16(b, etype)
}

// ipv4 builds an Ethernet+IPv4 packet with the given L4 bytes; the
// header checksum is left zero unless fill is set.
func ipv4(proto byte, l4 []byte, id uint16, fill bool) []byte {
	p := ethHeader(peerMAC, testMAC, 0x0800)
	ip := make([]byte, 20)
	ip[0], ip[8], ip[9] = 0x45, 64, proto
	binary.BigEndian.PutUint16(ip[2:], uint16(20+len(l4)))
	binary.BigEndian.PutUint16(ip[4:], id)
	binary.BigEndian.PutUint16(ip[6:], 0x4000) // DF
	copy(ip[12:], srcIP[:])
	copy(ip[16:], dstIP[:])
	if fill {
		binary.BigEndian.PutUint16(ip[10:], refChecksum(ip, 0))
	}
	return append(append(p, ip...), l4...)
}

func tcpHeader(seq uint32, flags byte) []byte {
	h := make([]byte, 20)
	binary.BigEndian.PutUint16(h[0:], 1234)
	binary.BigEndian.PutUint16(h[2:], 80)
	binary.BigEndian.PutUint32(h[4:], seq)
	binary.BigEndian.PutUint32(h[8:], 0x0A0B0C0D)
	h[12], h[13] = 5<<4, flags
	binary.BigEndian.PutUint16(h[14:], 0xFFFF)
	return h
}

func udpHeader(payloadLen int) []byte {
	h := make([]byte, 8)
	binary.BigEndian.PutUint16(h[0:], 5353)
	binary.BigEndian.PutUint16(h[2:], 53)
	binary.BigEndian.PutUint16(h[4:], uint16(8+payloadLen))
	return h
}

func payload(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + 3)
	}
	return b
}

// refChecksum is an RFC 1071 reference, written independently of the
// model's onesSum/fold: the complement of the folded 16-bit sum.
func refChecksum(b []byte, initial uint32) uint16 {
	sum := uint64(initial)
	for i := 0; i < len(b); i += 2 {
		w := uint64(b[i]) << 8
		if i+1 < len(b) {
			w |= uint64(b[i+1])
		}
		sum += w
	}
	for sum > 0xFFFF {
		sum = sum>>16 + sum&0xFFFF
	}
	return ^uint16(sum)
}

// pseudo is the IPv4 pseudo-header sum (unfolded) for an L4 length.
func pseudo(proto byte, l4len int) uint32 {
	return uint32(binary.BigEndian.Uint16(srcIP[:2])) + uint32(binary.BigEndian.Uint16(srcIP[2:])) +
		uint32(binary.BigEndian.Uint16(dstIP[:2])) + uint32(binary.BigEndian.Uint16(dstIP[2:])) +
		uint32(proto) + uint32(l4len)
}

// foldPartial is what Linux leaves in the L4 checksum field for offload:
// the folded (not complemented) pseudo-header sum.
func foldPartial(s uint32) uint16 { return ^refChecksum(nil, s) }

// checkIPv4 verifies a frame's IPv4 header and TCP/UDP checksums and
// returns the header fields tests compare.
func checkIPv4(t *testing.T, what string, f []byte) (totalLen, id uint16, l4 []byte) {
	t.Helper()
	ip := f[14:34]
	if refChecksum(ip, 0) != 0 {
		t.Errorf("%s: bad IP header checksum %#04x", what, binary.BigEndian.Uint16(ip[10:]))
	}
	totalLen, id = binary.BigEndian.Uint16(ip[2:]), binary.BigEndian.Uint16(ip[4:])
	if int(totalLen) != len(f)-14 {
		t.Errorf("%s: IP total length %d for a %d-byte frame", what, totalLen, len(f))
	}
	l4 = f[34:]
	if refChecksum(l4, pseudo(ip[9], len(l4))) != 0 {
		t.Errorf("%s: bad L4 checksum", what)
	}
	return totalLen, id, l4
}
