package sandbox

import (
	"fmt"
	"unsafe"

	"golang.org/x/sys/unix"
)

// clearCaps empties the calling thread's permitted, effective and inheritable
// capability sets (capset acts on the calling thread only).
func clearCaps() error {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if _, _, e := unix.RawSyscall(unix.SYS_CAPSET, uintptr(unsafe.Pointer(&hdr)), uintptr(unsafe.Pointer(&data[0])), 0); e != 0 {
		return fmt.Errorf("capset: %w", e)
	}
	return nil
}
