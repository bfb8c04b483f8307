package host

import (
	"fmt"
	"os"
	"sync/atomic"

	"grailos/kernel/shm"
)

// DefaultBusBase is the bus address of the first byte of a DMA pool. It
// is deliberately not 0: a driver that hands the device a physical
// offset, a virtual address or NULL instead of a bus address hits the
// IOMMU and is reported, rather than silently reaching the start of the
// pool. 0x1000_0000 is also what a 32-bit PCI device can address, so no
// driver needs 64-bit DMA to use the pool.
const DefaultBusBase = 0x1000_0000

// DefaultPoolSize is the size of a DMA pool when none is configured:
// room for the e1000 driver's rings and 2 KiB buffers with plenty spare.
const DefaultPoolSize = 16 << 20

// DMAError is a device access the IOMMU refused.
type DMAError struct {
	Addr       uint64 // bus address
	Len        int
	Write      bool
	Base, Size uint64 // the pool's window
}

func (e *DMAError) Error() string {
	dir := "read"
	if e.Write {
		dir = "write"
	}
	return fmt.Sprintf("iommu: DMA %s of %d bytes at %#x outside the pool [%#x, %#x)",
		dir, e.Len, e.Addr, e.Base, e.Base+e.Size)
}

// Pool is a device's DMA window: a memory object shared with the driver,
// at bus addresses [Base, Base+Size). It implements e1000.DMA and is the
// IOMMU: any access not wholly inside the window is refused with a
// *DMAError and counted.
type Pool struct {
	file    *os.File
	region  *shm.Region
	mem     []byte
	base    uint64
	refused atomic.Uint64
}

// NewPool creates a pool of size bytes (rounded up to whole pages) at bus
// address base.
func NewPool(size int, base uint64) (*Pool, error) {
	if size <= 0 || size > shm.MaxSize {
		return nil, fmt.Errorf("host: pool size %d out of range", size)
	}
	if base&0xFFF != 0 {
		return nil, fmt.Errorf("host: pool bus base %#x not page aligned", base)
	}
	f, err := shm.Create("dma-pool", size)
	if err != nil {
		return nil, err
	}
	r, err := shm.Map(f, true)
	if err != nil {
		f.Close()
		return nil, err
	}
	if base+uint64(r.Size()) < base {
		r.Close()
		f.Close()
		return nil, fmt.Errorf("host: pool at %#x of %d bytes wraps", base, r.Size())
	}
	return &Pool{file: f, region: r, mem: r.Bytes(), base: base}, nil
}

// check translates [addr, addr+n) into an offset, or refuses it.
func (p *Pool) check(addr uint64, n int, write bool) (uint64, error) {
	off := addr - p.base
	if addr < p.base || off > uint64(len(p.mem)) || uint64(n) > uint64(len(p.mem))-off {
		p.refused.Add(1)
		return 0, &DMAError{Addr: addr, Len: n, Write: write, Base: p.base, Size: uint64(len(p.mem))}
	}
	return off, nil
}

// Read copies len(b) bytes at bus address addr into b. It implements
// e1000.DMA.Read.
func (p *Pool) Read(addr uint64, b []byte) error {
	off, err := p.check(addr, len(b), false)
	if err != nil {
		return err
	}
	copy(b, p.mem[off:])
	return nil
}

// Write copies b to bus address addr. It implements e1000.DMA.Write.
func (p *Pool) Write(addr uint64, b []byte) error {
	off, err := p.check(addr, len(b), true)
	if err != nil {
		return err
	}
	copy(p.mem[off:], b)
	return nil
}

// File returns the pool's memory object, to hand to the driver.
func (p *Pool) File() *os.File { return p.file }

// Base returns the bus address of the pool's first byte.
func (p *Pool) Base() uint64 { return p.base }

// Size returns the pool's size in bytes.
func (p *Pool) Size() uint64 { return uint64(len(p.mem)) }

// Refused returns how many accesses the IOMMU refused.
func (p *Pool) Refused() uint64 { return p.refused.Load() }

// Close unmaps the pool and closes its memory object (the driver's
// mapping stays valid).
func (p *Pool) Close() error {
	err := p.region.Close()
	p.file.Close()
	return err
}
