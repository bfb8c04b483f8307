// Package checks holds the probe server's attempts. Each reports an outcome
// string: "ok" when the operation succeeded, otherwise the errno name (e.g.
// "EPERM") or the kernel status text.
package checks

import (
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"

	"golang.org/x/sys/unix"
)

// Report receives one outcome.
type Report func(name, outcome string)

func outcome(err error) string {
	if err == nil {
		return "ok"
	}
	var errno unix.Errno
	if errors.As(err, &errno) {
		return unix.ErrnoName(errno)
	}
	return err.Error()
}

// Confinement tries to reach the host. Pid 2 does not exist in the task's
// own pid namespace (the task is pid 1 there), though it does on the host.
func Confinement(report Report) {
	_, err := os.Open("/etc/passwd")
	report("open-host-file", outcome(err))
	_, err = os.Open("/proc/1/status")
	report("open-proc", outcome(err))
	ents, err := os.ReadDir("/")
	names := []string{}
	for _, e := range ents {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	if err != nil {
		report("list-root", outcome(err))
	} else {
		report("list-root", strings.Join(names, ","))
	}
	report("pid", fmt.Sprint(os.Getpid()))
	report("kill-host-process", outcome(unix.Kill(2, 0)))
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM, 0)
	report("socket", outcome(err))
	if err == nil {
		sa := &unix.SockaddrInet4{Port: 22, Addr: [4]byte{127, 0, 0, 1}}
		report("connect-host-network", outcome(unix.Connect(fd, sa)))
		unix.Close(fd)
	} else {
		report("connect-host-network", outcome(err))
	}
	report("ptrace", outcome(unix.PtraceAttach(2)))
	report("mount", outcome(unix.Mount("none", "/", "tmpfs", 0, "")))
	report("setuid-root", outcome(unix.Setuid(0)))
	report("chroot", outcome(unix.Chroot("/")))
	report("exec", outcome(unix.Exec("/probe", []string{"probe"}, nil)))
	_, _, e := unix.RawSyscall(unix.SYS_FORK, 0, 0, 0)
	if e == 0 {
		os.Exit(0) // the child, if fork ever worked: leave at once
	}
	report("fork", outcome(e))
	report("uid", fmt.Sprint(os.Getuid()))
}
