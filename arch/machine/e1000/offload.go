package e1000

import (
	"encoding/binary"
	"fmt"
)

// Checksum and segmentation offload (8254x SDM 3.3.5–3.3.7, 3.5).

// maxTSOSegments bounds the frames one TSO context may produce (a 64 KiB
// payload at MSS 8), so a hostile context cannot make one tail write
// emit an unbounded burst.
const maxTSOSegments = 8192

// onesSum adds b as big-endian 16-bit words (an odd last byte is padded
// with zero) to sum, without folding.
func onesSum(b []byte, sum uint32) uint32 {
	for len(b) >= 2 {
		sum += uint32(b[0])<<8 | uint32(b[1])
		b = b[2:]
	}
	if len(b) == 1 {
		sum += uint32(b[0]) << 8
	}
	return sum
}

func fold(sum uint32) uint16 {
	for sum>>16 != 0 {
		sum = sum&0xFFFF + sum>>16
	}
	return uint16(sum)
}

// insertSum stores the one's-complement checksum of p[start:end] at
// p[at:at+2]. Offsets out of range leave the packet alone (the hardware
// ignores such a request). l4 maps a zero result to 0xFFFF, as a UDP
// checksum must be (for TCP both encodings are the same number).
func insertSum(p []byte, start, end, at int, l4 bool) bool {
	if start < 0 || start >= end || end > len(p) || at < 0 || at+2 > len(p) {
		return false
	}
	sum := ^fold(onesSum(p[start:end], 0))
	if l4 && sum == 0 {
		sum = 0xFFFF
	}
	binary.BigEndian.PutUint16(p[at:], sum)
	return true
}

// addLength adds n into the 16-bit one's-complement partial sum stored at
// p[at:at+2] (TSO: software's pseudo-header sum leaves the length out).
func addLength(p []byte, at, n int) {
	if at < 0 || at+2 > len(p) {
		return
	}
	v := fold(uint32(binary.BigEndian.Uint16(p[at:])) + uint32(n))
	binary.BigEndian.PutUint16(p[at:], v)
}

// tso cuts the assembled super-frame into frames of at most MSS payload
// bytes, each with the prototype header fixed up (IP length and ID, TCP
// sequence number and flags, UDP length) and its checksums inserted as
// the first data descriptor's POPTS asks.
func (d *Device) tso(pkt []byte, vlan bool, tci uint16) {
	t := &d.tx
	c := t.ctx
	hdr, mss := int(c.hdrlen), int(c.mss)
	l4 := int(c.tucss)
	bad := ""
	switch {
	case c.tucmd&tucmdTSE == 0:
		bad = "TSE data descriptor without a TSE context"
	case mss == 0:
		bad = "TSO context with MSS 0"
	case hdr == 0 || hdr > len(pkt):
		bad = fmt.Sprintf("TSO header length %d for a %d-byte packet", hdr, len(pkt))
	case int(c.ipcss)+20 > hdr || l4+8 > hdr || (c.tucmd&tucmdTCP != 0 && l4+20 > hdr):
		bad = "TSO header does not hold the IP and TCP/UDP headers"
	case (len(pkt)-hdr)/mss > maxTSOSegments:
		bad = fmt.Sprintf("TSO would make more than %d frames (MSS %d)", maxTSOSegments, mss)
	}
	if bad != "" {
		d.report(Event{Kind: EventBadDescriptor, Ring: "tx", Len: len(pkt), What: bad})
		d.statInc(regTSCTFC)
		d.stats.TxDropped++
		return
	}
	payload := pkt[hdr:]
	if uint32(len(payload)) != c.paylen {
		d.report(Event{Kind: EventBadDescriptor, Ring: "tx", Len: len(payload),
			What: fmt.Sprintf("TSO PAYLEN %d but %d payload bytes; sent what was given", c.paylen, len(payload))})
	}
	ip := int(c.ipcss)
	ipID := binary.BigEndian.Uint16(pkt[ip+4:])
	seq := binary.BigEndian.Uint32(pkt[l4+4:])
	var seg []byte
	for off, i := 0, 0; off < len(payload) || i == 0; i++ {
		n := min(mss, len(payload)-off)
		last := off+n >= len(payload)
		seg = append(append(seg[:0], pkt[:hdr]...), payload[off:off+n]...)
		if c.tucmd&tucmdIP != 0 {
			binary.BigEndian.PutUint16(seg[ip+2:], uint16(len(seg)-ip))
			binary.BigEndian.PutUint16(seg[ip+4:], ipID+uint16(i))
		} else {
			binary.BigEndian.PutUint16(seg[ip+4:], uint16(len(seg)-ip-40))
		}
		if c.tucmd&tucmdTCP != 0 {
			binary.BigEndian.PutUint32(seg[l4+4:], seq+uint32(off))
			if !last {
				seg[l4+13] &^= 0x01 | 0x08 // FIN, PSH only on the last frame
			}
		} else {
			binary.BigEndian.PutUint16(seg[l4+4:], uint16(len(seg)-l4))
		}
		if t.popts&poptsIXSM != 0 {
			insertSum(seg, ip, rangeEnd(c.ipcse, len(seg)), int(c.ipcso), false)
		}
		if t.popts&poptsTXSM != 0 {
			addLength(seg, int(c.tucso), len(seg)-l4)
			insertSum(seg, l4, len(seg), int(c.tucso), true)
		}
		d.txFrame(seg, vlan, tci)
		off += n
	}
	d.statInc(regTSCTC)
}

// rxOffload computes the receive checksum fields of a frame (without
// FCS, after VLAN stripping): the raw packet checksum from RXCSUM.PCSS,
// and for IPv4 the header check (IPOFL) and the TCP/UDP check (TUOFL) of
// unfragmented packets. status gets IPCS/TCPCS for what was checked,
// errors IPE/TCPE for what failed.
func rxOffload(f []byte, rxcsum uint32) (status, errors uint8, csum uint16) {
	if pcss := int(rxcsum & rxcsumPCSS); pcss < len(f) {
		csum = fold(onesSum(f[pcss:], 0))
	}
	l3, etype := 14, uint16(0)
	if len(f) >= 14 {
		etype = binary.BigEndian.Uint16(f[12:])
	}
	if etype == 0x8100 && len(f) >= 18 {
		l3, etype = 18, binary.BigEndian.Uint16(f[16:])
	}
	if etype != 0x0800 || len(f) < l3+20 || f[l3]>>4 != 4 {
		return 0, 0, csum
	}
	ihl := int(f[l3]&0xF) * 4
	total := int(binary.BigEndian.Uint16(f[l3+2:]))
	if ihl < 20 || total < ihl || l3+total > len(f) {
		return 0, 0, csum
	}
	iph := f[l3 : l3+ihl]
	if rxcsum&rxcsumIPOFL != 0 {
		status |= rxStatIPCS
		if fold(onesSum(iph, 0)) != 0xFFFF {
			errors |= rxErrIPE
		}
	}
	frag := binary.BigEndian.Uint16(iph[6:])&0x3FFF != 0
	proto := iph[9]
	if rxcsum&rxcsumTUOFL == 0 || frag || (proto != 6 && proto != 17) {
		return status, errors, csum
	}
	seg := f[l3+ihl : l3+total]
	if proto == 17 && (len(seg) < 8 || binary.BigEndian.Uint16(seg[6:]) == 0) {
		return status, errors, csum // no UDP checksum to verify
	}
	if proto == 6 && len(seg) < 20 {
		return status, errors, csum
	}
	sum := onesSum(iph[12:20], 0) + uint32(proto) + uint32(len(seg))
	status |= rxStatTCPCS
	if fold(onesSum(seg, sum)) != 0xFFFF {
		errors |= rxErrTCPE
	}
	return status, errors, csum
}
