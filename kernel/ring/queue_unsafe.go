package ring

import "unsafe"

// This file holds every unsafe operation of the package: turning the
// caller's shared []byte into typed views. Callers have already checked
// length and alignment (see NewQueue), so each view lies inside mem.

// addrOf returns the address of mem's first byte, for alignment checks.
func addrOf(mem []byte) uintptr { return uintptr(unsafe.Pointer(unsafe.SliceData(mem))) }

// word returns the uint32 at byte offset off of mem. off+4 <= len(mem) and
// the word is 4-byte aligned.
func word(mem []byte, off int) *uint32 { return (*uint32)(unsafe.Pointer(&mem[off])) }

// entries views mem[off:] as n values of T. T holds no pointers (checked by
// checkEntryType), so the GC never needs to scan these bytes, and
// off+n*sizeof(T) <= len(mem) with off aligned to 8.
func entries[T any](mem []byte, off, n int) []T {
	return unsafe.Slice((*T)(unsafe.Pointer(&mem[off])), n)
}
