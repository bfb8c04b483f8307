package shm

import (
	"errors"
	"fmt"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// ErrTimeout is returned by FutexWait when the timeout expires. The ring
// package re-exports it so errors.Is works across both.
var ErrTimeout = errors.New("timeout")

// Classic futex(2) operations without FUTEX_PRIVATE_FLAG: the private
// variants key on the mm and would never pair across processes.
const (
	futexWait = 0 // FUTEX_WAIT
	futexWake = 1 // FUTEX_WAKE
)

// FutexWait sleeps while *addr == val, for at most timeout. A negative
// timeout waits without limit; zero only checks the value. It returns nil
// when woken, when *addr != val on entry, or when interrupted by a signal
// (callers re-check their condition and loop), and ErrTimeout when the
// timeout expires. addr must be 4-byte aligned.
func FutexWait(addr *uint32, val uint32, timeout time.Duration) error {
	if uintptr(unsafe.Pointer(addr))%4 != 0 {
		return fmt.Errorf("shm: futex word %p not 4-byte aligned", addr)
	}
	var tsp *unix.Timespec
	if timeout >= 0 {
		ts := unix.NsecToTimespec(int64(timeout))
		tsp = &ts
	}
	_, _, errno := unix.Syscall6(unix.SYS_FUTEX, uintptr(unsafe.Pointer(addr)), futexWait,
		uintptr(val), uintptr(unsafe.Pointer(tsp)), 0, 0)
	switch errno {
	case 0, unix.EAGAIN, unix.EINTR:
		return nil
	case unix.ETIMEDOUT:
		return ErrTimeout
	default:
		return fmt.Errorf("shm: futex wait: %w", errno)
	}
}

// FutexWake wakes up to n waiters sleeping in FutexWait on addr, in this or
// any other process that maps the same object. Errors are ignored: waking
// is advisory, and every waiter re-checks its condition.
func FutexWake(addr *uint32, n int) {
	if n <= 0 {
		return
	}
	unix.Syscall6(unix.SYS_FUTEX, uintptr(unsafe.Pointer(addr)), futexWake, uintptr(n), 0, 0, 0)
}
