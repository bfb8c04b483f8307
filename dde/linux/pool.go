//go:build dde

package linux

import (
	"fmt"
	"syscall"
)

// NewPool maps size bytes (rounded up to whole pages) of zeroed, shared
// anonymous memory for Config.Pool: page aligned and outside the Go
// heap, as the C runtime needs. FreePool unmaps it after Stop.
func NewPool(size int) ([]byte, error) {
	size = (size + 4095) &^ 4095
	b, err := syscall.Mmap(-1, 0, size, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_SHARED|syscall.MAP_ANONYMOUS)
	if err != nil {
		return nil, fmt.Errorf("dde: pool of %d bytes: %w", size, err)
	}
	return b, nil
}

// FreePool unmaps a pool from NewPool.
func FreePool(b []byte) error { return syscall.Munmap(b) }
