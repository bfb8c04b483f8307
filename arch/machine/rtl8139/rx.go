package rtl8139

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"math/bits"
)

// Receive (RTL8139C datasheet, "Receive"; 8139too's rtl8139_rx): one
// contiguous ring buffer at RBSTART of 8, 16, 32 or 64 KiB (RCR.RBLEN).
// Each accepted frame is written at CBR as a 4-byte header (status in the
// low half, length including the 4-byte CRC in the high half), the
// frame, and its CRC; CBR then advances to the next dword boundary. The
// driver reads from CAPR+16 (CAPR is kept 16 bytes behind: the "-16"
// quirk 8139too mirrors with RTL_W16(RxBufPtr, cur_rx - 16)).
//
// With RCR.WRAP set (8139too's RxNoWrap) a record that runs past the end
// of the ring is written on past it — the driver allocates the spare
// room — and only CBR wraps; with WRAP clear, or a 64 KiB ring, the
// record itself wraps to the start. A record is written only if it fits
// in the free space with at least one dword to spare (so a full ring is
// never mistaken for an empty one); otherwise RXOVW is raised and MPC
// counts the frame.

// Receive takes one frame from the wire (without FCS) and, if the
// receiver accepts it, writes it into the ring and raises ROK.
func (d *Device) Receive(frame []byte) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.receive(frame, false)
}

// ringLen is the receive ring length RCR selects.
func (d *Device) ringLen() uint32 { return 8192 << (d.rcr >> rcrRBLShift & 3) }

// rxRead is where the driver reads next: CAPR+16 within the ring.
func (d *Device) rxRead() uint32 { return (uint32(d.capr) + 16) % d.ringLen() }

// rxEmpty is CR.BUFE: nothing between the driver's read offset and CBR.
func (d *Device) rxEmpty() bool { return d.rxRead() == d.rxWrite }

var broadcast = []byte{0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF}

// MulticastIndex is the bit of the 64-bit MAR hash a multicast address
// selects: the top 6 bits of the big-endian Ethernet CRC of the address
// (Linux's ether_crc(6, addr) >> 26). Bit n is MAR byte n/8, bit n%8.
func MulticastIndex(addr [6]byte) int {
	return int(bits.Reverse32(^crc32.ChecksumIEEE(addr[:])) >> 26)
}

// filter classifies the destination and says whether RCR accepts it;
// status carries the BAR/MAR/PAM header bits.
func (d *Device) filter(frame []byte) (status uint16, ok bool) {
	promisc := d.rcr&rcrAAP != 0
	switch {
	case bytes.Equal(frame[:6], broadcast):
		return rxBAR, promisc || d.rcr&rcrAB != 0
	case frame[0]&1 != 0:
		var a [6]byte
		copy(a[:], frame)
		n := MulticastIndex(a)
		hit := d.regs[regMAR0+n/8]>>(n%8)&1 != 0
		return rxMAR, promisc || (d.rcr&rcrAM != 0 && hit)
	default:
		m := d.mac()
		if bytes.Equal(frame[:6], m[:]) {
			return rxPAM, promisc || d.rcr&rcrAPM != 0
		}
		return 0, promisc
	}
}

// receive runs the receive path; loopback frames come from the
// transmitter and do not need the link.
func (d *Device) receive(frame []byte, loopback bool) {
	switch {
	case len(frame) < 6 || len(frame) > MaxFrame:
		d.stats.RxBadLength++
		return
	case d.cr&crRE == 0 || d.halted || (!loopback && !d.cable):
		d.stats.RxMissed++
		return
	}
	status, ok := d.filter(frame)
	if !ok {
		d.stats.RxFiltered++
		return
	}
	n := len(frame)
	if n < minFrame {
		n = minFrame
	}
	rec := make([]byte, rxHead+n+4)
	binary.LittleEndian.PutUint32(rec, uint32(status|rxROK)|uint32(n+4)<<16)
	copy(rec[rxHead:], frame)
	binary.LittleEndian.PutUint32(rec[rxHead+n:], crc32.ChecksumIEEE(rec[rxHead:rxHead+n]))
	need := uint32(len(rec)+3) &^ 3

	L := d.ringLen()
	avail := L
	if !d.rxEmpty() {
		avail = (d.rxRead() + L - d.rxWrite) % L
	}
	if need >= avail {
		d.stats.RxMissed++
		d.mpc = (d.mpc + 1) & 0xFFFFFF
		d.setCause(IntRXOVW)
		return
	}

	base := uint64(d.getOff(regRBSTART, 4))
	off := d.rxWrite
	if d.fault.RxDataDropped() {
		rec = rec[:rxHead] // the header goes, the frame's write is lost
	}
	first := rec
	var rest []byte
	if off+uint32(len(rec)) > L && (d.rcr&rcrWRAP == 0 || L == 65536) {
		first, rest = rec[:L-off], rec[L-off:]
	}
	if !d.dma("rx", "receive ring write", base+uint64(off), first, true) ||
		(rest != nil && !d.dma("rx", "receive ring write (wrapped)", base, rest, true)) {
		d.stats.RxMissed++
		d.setCause(IntSERR) // master abort: the frame is lost, CBR stays
		return
	}
	d.rxWrite = (off + need) % L
	d.stats.RxFrames++
	d.stats.RxBytes += uint64(len(frame))
	d.setCause(IntROK)
}
