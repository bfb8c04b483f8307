package shm

import "golang.org/x/sys/unix"

// Yield gives the CPU to another runnable thread (sched_yield) without
// involving Go's scheduler: a spinning waiter on a thread locked to its
// goroutine (the DDE's, cgo callbacks) would, with runtime.Gosched, hand
// its P to another thread and need a futex wake-up to get it back — two
// context switches per yield, which under CPU contention made each device
// register read cost tens of microseconds.
func Yield() {
	unix.RawSyscall(unix.SYS_SCHED_YIELD, 0, 0, 0)
}
