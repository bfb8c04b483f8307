package session

import "unsafe"

// word32 views the 4 aligned bytes at off as a uint32 for atomic access.
func word32(b []byte, off int) *uint32 { return (*uint32)(unsafe.Pointer(&b[off])) }
