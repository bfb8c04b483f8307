package e1000

import "fmt"

// descSize is the size of every descriptor the 82540 knows (legacy and
// extended, transmit and receive).
const descSize = 16

// ring is the part a descriptor ring shares in both directions: where
// its registers live and whether the device has stopped it. The register
// values themselves live in Device.regs so that reads need no special
// case.
type ring struct {
	name                   string
	bal, bah, rlen, rh, rt uint32 // register offsets

	// lenBad is set by a write of a length that is not a non-zero
	// multiple of 128 bytes within 20 bits, and cleared by a good one.
	lenBad bool
	// reason is why the device stopped the ring ("" = running). A stopped
	// ring does no DMA until software reprograms base, length or head,
	// or the device is reset.
	reason string
}

func (r *ring) base(d *Device) uint64 {
	return uint64(d.regs[r.bah/4])<<32 | uint64(d.regs[r.bal/4])
}

func (r *ring) count(d *Device) uint32 { return d.regs[r.rlen/4] / descSize }
func (r *ring) head(d *Device) uint32  { return d.regs[r.rh/4] }
func (r *ring) tail(d *Device) uint32  { return d.regs[r.rt/4] }

func (r *ring) setHead(d *Device, h uint32) { d.regs[r.rh/4] = h }

// descAddr is the bus address of descriptor i.
func (r *ring) descAddr(d *Device, i uint32) uint64 {
	return r.base(d) + uint64(i)*descSize
}

// stop halts the ring and reports why.
func (r *ring) stop(d *Device, kind EventKind, what string, addr uint64, n int, err error) {
	if r.reason == "" {
		r.reason = what
	}
	d.report(Event{Kind: kind, Ring: r.name, Addr: addr, Len: n, What: what, Err: err})
}

// check validates the ring before the device uses it. A malformed ring is
// stopped and reported once; check then keeps failing until software
// reprograms it.
func (r *ring) check(d *Device) bool {
	if r.reason != "" {
		return false
	}
	n := r.count(d)
	var what string
	switch {
	case r.lenBad:
		what = "ring length is not a multiple of 128 bytes"
	case n == 0:
		what = "ring length is zero"
	case r.head(d) >= n:
		what = fmt.Sprintf("head %d outside ring of %d descriptors", r.head(d), n)
	case r.tail(d) >= n:
		what = fmt.Sprintf("tail %d outside ring of %d descriptors", r.tail(d), n)
	default:
		return true
	}
	r.stop(d, EventRingInvalid, what, r.base(d), int(d.regs[r.rlen/4]), nil)
	return false
}

// writeReg handles a write to one of the ring's registers other than
// the tail. Reprogramming base, length or head restarts a stopped ring;
// malformed values are masked as the hardware does, and reported.
func (r *ring) writeReg(d *Device, off, v uint32) {
	ri := regTable[off]
	d.regs[off/4] = v & ri.mask
	switch off {
	case r.bal:
		if v&0xF != 0 {
			d.report(Event{Kind: EventRingInvalid, Ring: r.name, Addr: uint64(v), Len: 4,
				What: fmt.Sprintf("%s %#x not 16-byte aligned; low bits ignored", ri.name, v)})
		}
	case r.rlen:
		r.lenBad = v&^ri.mask != 0
		if r.lenBad {
			d.report(Event{Kind: EventRingInvalid, Ring: r.name, Addr: uint64(v), Len: 4,
				What: fmt.Sprintf("%s %#x is not a multiple of 128 below 1 MiB", ri.name, v)})
		}
	case r.rh:
		if v&^ri.mask != 0 {
			d.report(Event{Kind: EventRingInvalid, Ring: r.name, Addr: uint64(v), Len: 4,
				What: fmt.Sprintf("%s %#x has bits above 15", ri.name, v)})
		}
	}
	r.reason = ""
}

// avail is the number of descriptors owned by hardware: head up to but
// not including tail.
func (r *ring) avail(d *Device) uint32 {
	n, h, t := r.count(d), r.head(d), r.tail(d)
	if t >= h {
		return t - h
	}
	return n - h + t
}
