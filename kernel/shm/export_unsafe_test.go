package shm

import "unsafe"

// wordAt returns a pointer to the uint32 at byte offset off of mem.
func wordAt(mem []byte, off int) *uint32 { return (*uint32)(unsafe.Pointer(&mem[off])) }
