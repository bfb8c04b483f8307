package socket

import "unsafe"

// word returns the status word at off for atomic access. off is a constant
// multiple of 4 inside the 64-byte block, which starts page-aligned.
func (s status) word(off int) *uint32 { return (*uint32)(unsafe.Pointer(&s.b[off])) }
