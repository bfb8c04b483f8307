package devchan

import "unsafe"

// This file holds the package's only unsafe operation: typed views of
// words in the shared header. Callers pass offsets from the layout table
// (layout.go), which are aligned and inside the header, and a slice at
// least headerBytes long.

// word32 returns the uint32 at byte offset off of mem.
func word32(mem []byte, off int) *uint32 {
	_ = mem[off+3]
	return (*uint32)(unsafe.Pointer(&mem[off]))
}

// word64 returns the uint64 at byte offset off of mem.
func word64(mem []byte, off int) *uint64 {
	_ = mem[off+7]
	return (*uint64)(unsafe.Pointer(&mem[off]))
}
