package pci

import (
	"encoding/binary"
	"fmt"
	"sync"
)

// Offsets of the type-0 configuration header.
const (
	OffVendorID      = 0x00
	OffDeviceID      = 0x02
	OffCommand       = 0x04
	OffStatus        = 0x06
	OffRevision      = 0x08
	OffClass         = 0x09 // 3 bytes: prog-if, subclass, class
	OffCacheLine     = 0x0C
	OffLatency       = 0x0D
	OffHeaderType    = 0x0E
	OffBIST          = 0x0F
	OffBAR0          = 0x10
	OffSubsysVendor  = 0x2C
	OffSubsysID      = 0x2E
	OffExpansionROM  = 0x30
	OffCapPtr        = 0x34
	OffInterruptLine = 0x3C
	OffInterruptPin  = 0x3D
	OffMinGnt        = 0x3E
	OffMaxLat        = 0x3F

	// SpaceSize is the size of conventional configuration space.
	SpaceSize = 256
	// NumBARs is the number of base address registers in a type-0 header.
	NumBARs = 6
)

// Command register bits.
const (
	CmdIO           = 0x0001 // I/O space enable
	CmdMemory       = 0x0002 // memory space enable
	CmdBusMaster    = 0x0004 // bus master enable
	CmdMWI          = 0x0010 // memory write and invalidate
	CmdParity       = 0x0040 // parity error response
	CmdSERR         = 0x0100 // SERR# enable
	CmdIntxDisable  = 0x0400 // INTx emulation disable (PCI 2.3)
	StatusCapList   = 0x0010 // capability list present
	StatusRW1CMask  = 0xF900 // error bits cleared by writing 1
	capListStart    = 0x40   // capabilities live above the header
	barIOFlag       = 0x1
	barMem64Flag    = 0x4
	barPrefetchFlag = 0x8
)

// BAR describes one base address register. A zero Size means the BAR is
// not implemented (reads 0, ignores writes).
type BAR struct {
	Size         uint64 // bytes; a power of two (≥16 for memory, ≥4 for I/O)
	IO           bool   // I/O space rather than memory space
	Is64         bool   // 64-bit memory BAR (takes this slot and the next)
	Prefetchable bool
}

// Capability is one entry of the capability list. Data starts with the
// capability ID; its second byte (the next pointer) is filled in by New.
// Writable marks, per byte of Data, which bits a write may change; a nil
// or short Writable leaves the rest read-only.
type Capability struct {
	Offset   uint8 // where in config space; 0 = next free dword from 0x40
	Data     []byte
	Writable []byte
}

// Header is the identity and layout of a PCI function, as data.
type Header struct {
	VendorID, DeviceID          uint16
	SubsysVendorID, SubsystemID uint16
	Revision                    uint8
	Class                       uint32 // 24 bits: class<<16 | subclass<<8 | prog-if
	Status                      uint16 // read-only status bits (DEVSEL timing, 66 MHz, …)
	CommandMask                 uint16 // writable command bits
	InterruptPin                uint8  // 1 = INTA#, 0 = none
	MinGnt, MaxLat              uint8
	BARs                        [NumBARs]BAR
	Caps                        []Capability
}

// Space is the configuration space of one function.
type Space struct {
	mu    sync.Mutex
	hdr   Header
	raw   [SpaceSize]byte
	wmask [SpaceSize]byte // writable bits per byte
	w1c   [SpaceSize]byte // bits cleared by writing 1
	reset [SpaceSize]byte
	bad   uint64
}

// New builds a configuration space from h. It returns an error when the
// header is inconsistent (a BAR size that is not a power of two or too
// small, a 64-bit BAR in the last slot, capabilities that overlap or do
// not fit).
func New(h Header) (*Space, error) {
	s := &Space{hdr: h}
	r := &s.reset
	binary.LittleEndian.PutUint16(r[OffVendorID:], h.VendorID)
	binary.LittleEndian.PutUint16(r[OffDeviceID:], h.DeviceID)
	binary.LittleEndian.PutUint16(r[OffStatus:], h.Status)
	r[OffRevision] = h.Revision
	r[OffClass] = byte(h.Class)
	r[OffClass+1] = byte(h.Class >> 8)
	r[OffClass+2] = byte(h.Class >> 16)
	binary.LittleEndian.PutUint16(r[OffSubsysVendor:], h.SubsysVendorID)
	binary.LittleEndian.PutUint16(r[OffSubsysID:], h.SubsystemID)
	r[OffInterruptPin] = h.InterruptPin
	r[OffMinGnt] = h.MinGnt
	r[OffMaxLat] = h.MaxLat

	binary.LittleEndian.PutUint16(s.wmask[OffCommand:], h.CommandMask)
	binary.LittleEndian.PutUint16(s.w1c[OffStatus:], StatusRW1CMask)
	s.wmask[OffCacheLine] = 0xFF
	s.wmask[OffLatency] = 0xFF
	s.wmask[OffInterruptLine] = 0xFF

	for i := 0; i < NumBARs; i++ {
		b := h.BARs[i]
		if b.Size == 0 {
			continue
		}
		minSize := uint64(16)
		if b.IO {
			minSize = 4
		}
		if b.Size&(b.Size-1) != 0 || b.Size < minSize {
			return nil, fmt.Errorf("pci: BAR%d size %#x is not a power of two of at least %d", i, b.Size, minSize)
		}
		if b.IO && (b.Is64 || b.Prefetchable || b.Size > 1<<16) {
			return nil, fmt.Errorf("pci: BAR%d: I/O BARs are 32-bit, not prefetchable, at most 64 KiB", i)
		}
		if b.Is64 && i == NumBARs-1 {
			return nil, fmt.Errorf("pci: BAR%d: a 64-bit BAR needs the next slot", i)
		}
		off := OffBAR0 + 4*i
		var flags uint32
		switch {
		case b.IO:
			flags = barIOFlag
		case b.Is64:
			flags = barMem64Flag
		}
		if b.Prefetchable {
			flags |= barPrefetchFlag
		}
		binary.LittleEndian.PutUint32(r[off:], flags)
		mask := ^uint32(b.Size - 1)
		if b.Size > 1<<32 {
			mask = 0
		}
		binary.LittleEndian.PutUint32(s.wmask[off:], mask)
		if b.Is64 {
			hi := ^uint32((b.Size - 1) >> 32)
			binary.LittleEndian.PutUint32(s.wmask[off+4:], hi)
			if i+1 < NumBARs && h.BARs[i+1].Size != 0 {
				return nil, fmt.Errorf("pci: BAR%d is the upper half of 64-bit BAR%d", i+1, i)
			}
			i++
		}
	}

	if err := s.layCaps(h.Caps); err != nil {
		return nil, err
	}
	s.raw = s.reset
	return s, nil
}

func (s *Space) layCaps(caps []Capability) error {
	if len(caps) == 0 {
		return nil
	}
	used := [SpaceSize]bool{}
	next := capListStart
	prevNext := OffCapPtr
	for i, c := range caps {
		off := int(c.Offset)
		if off == 0 {
			off = next
		}
		if len(c.Data) < 2 || off < capListStart || off%4 != 0 || off+len(c.Data) > SpaceSize {
			return fmt.Errorf("pci: capability %d at %#x (%d bytes) does not fit", i, off, len(c.Data))
		}
		for j := off; j < off+len(c.Data); j++ {
			if used[j] {
				return fmt.Errorf("pci: capability %d at %#x overlaps another", i, off)
			}
			used[j] = true
		}
		copy(s.reset[off:], c.Data)
		s.reset[off+1] = 0
		for j := 2; j < len(c.Data) && j < len(c.Writable); j++ {
			s.wmask[off+j] = c.Writable[j]
		}
		s.reset[prevNext] = byte(off)
		prevNext = off + 1
		next = (off + len(c.Data) + 3) &^ 3
	}
	binary.LittleEndian.PutUint16(s.reset[OffStatus:], s.hdr.Status|StatusCapList)
	return nil
}

// Header returns the header the space was built from.
func (s *Space) Header() Header { return s.hdr }

// Reset returns the space to its power-on contents (BARs unassigned,
// command register zero), as a PCI reset (RST#) does.
func (s *Space) Reset() {
	s.mu.Lock()
	s.raw = s.reset
	s.mu.Unlock()
}

func validAccess(off uint32, size int) bool {
	switch size {
	case 1, 2, 4:
	default:
		return false
	}
	return off < SpaceSize && off%uint32(size) == 0 && off+uint32(size) <= SpaceSize
}

// ReadConfig reads size bytes (1, 2 or 4) at off, little-endian.
// A malformed access reads as all-ones.
func (s *Space) ReadConfig(off uint32, size int) uint32 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !validAccess(off, size) {
		s.bad++
		return ^uint32(0)
	}
	var v uint32
	for i := size - 1; i >= 0; i-- {
		v = v<<8 | uint32(s.raw[off+uint32(i)])
	}
	return v
}

// WriteConfig writes the low size bytes (1, 2 or 4) of v at off,
// little-endian, through the writable and write-1-to-clear masks.
// A malformed access is dropped.
func (s *Space) WriteConfig(off uint32, size int, v uint32) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !validAccess(off, size) {
		s.bad++
		return
	}
	for i := 0; i < size; i++ {
		o := off + uint32(i)
		b := byte(v >> (8 * i))
		cur := s.raw[o]
		cur = cur&^s.wmask[o] | b&s.wmask[o]
		cur &^= b & s.w1c[o]
		s.raw[o] = cur
	}
}

// BadAccesses counts malformed config accesses (size or alignment).
func (s *Space) BadAccesses() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.bad
}

// SetStatusBits sets read-only or RW1C status bits from the device side
// (for example Signaled Target Abort when the device refuses a cycle).
func (s *Space) SetStatusBits(bits uint16) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v := binary.LittleEndian.Uint16(s.raw[OffStatus:]) | bits
	binary.LittleEndian.PutUint16(s.raw[OffStatus:], v)
}

// Command returns the command register.
func (s *Space) Command() uint16 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return binary.LittleEndian.Uint16(s.raw[OffCommand:])
}

// MemoryEnabled reports whether the function decodes its memory BARs.
func (s *Space) MemoryEnabled() bool { return s.Command()&CmdMemory != 0 }

// IOEnabled reports whether the function decodes its I/O BARs.
func (s *Space) IOEnabled() bool { return s.Command()&CmdIO != 0 }

// BusMaster reports whether the function may initiate DMA.
func (s *Space) BusMaster() bool { return s.Command()&CmdBusMaster != 0 }

// InterruptLine returns the interrupt line byte firmware assigned.
func (s *Space) InterruptLine() uint8 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.raw[OffInterruptLine]
}

// BARAddress returns the address currently programmed into BAR i, its
// size and whether it is an I/O BAR. ok is false for an unimplemented
// BAR or the upper half of a 64-bit BAR.
func (s *Space) BARAddress(i int) (addr, size uint64, io, ok bool) {
	if i < 0 || i >= NumBARs {
		return 0, 0, false, false
	}
	b := s.hdr.BARs[i]
	if b.Size == 0 {
		return 0, 0, false, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	off := OffBAR0 + 4*i
	lo := binary.LittleEndian.Uint32(s.raw[off:])
	if b.IO {
		return uint64(lo &^ 0x3), b.Size, true, true
	}
	addr = uint64(lo &^ 0xF)
	if b.Is64 {
		addr |= uint64(binary.LittleEndian.Uint32(s.raw[off+4:])) << 32
	}
	return addr, b.Size, false, true
}

// PowerManagement returns a PCI Power Management capability (ID 01h,
// version given by pmc's low three bits) whose PMCSR power-state field
// and PME_En bit are writable; PME_Status stays 0 (the model never
// signals wake events).
func PowerManagement(pmc uint16) Capability {
	data := make([]byte, 8)
	data[0] = 0x01
	binary.LittleEndian.PutUint16(data[2:], pmc)
	w := make([]byte, 8)
	w[4] = 0x03 // PMCSR power state D0..D3hot
	w[5] = 0x01 // PME_En
	return Capability{Data: data, Writable: w}
}
