package sandbox

import (
	"fmt"
	"sort"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/bpf"
	"gvisor.dev/gvisor/pkg/seccomp"
)

// A clone must create a thread: CLONE_THREAD and CLONE_VM set, no namespace
// flag. So a task cannot fork, and cannot make namespaces. (Go adds
// CLONE_SETTLS, glibc the tid flags; those stay free.)
const (
	cloneMask = unix.CLONE_THREAD | unix.CLONE_VM | unix.CLONE_NEWNS | unix.CLONE_NEWCGROUP | unix.CLONE_NEWUTS |
		unix.CLONE_NEWIPC | unix.CLONE_NEWUSER | unix.CLONE_NEWPID | unix.CLONE_NEWNET | unix.CLONE_VFORK
	cloneThread = unix.CLONE_THREAD | unix.CLONE_VM
)

// baseSyscalls is what every Go task needs: the runtime (threads, signals,
// memory, timers, netpoll), its channel to the kernel (seqpacket with
// descriptor passing) and shared memory that arrives as descriptors.
var baseSyscalls = []uintptr{
	unix.SYS_READ, unix.SYS_WRITE, unix.SYS_READV, unix.SYS_WRITEV, unix.SYS_PREAD64, unix.SYS_PWRITE64,
	unix.SYS_CLOSE, unix.SYS_FSTAT, unix.SYS_NEWFSTATAT, unix.SYS_LSEEK, unix.SYS_FCNTL, unix.SYS_DUP3,
	unix.SYS_MMAP, unix.SYS_MUNMAP, unix.SYS_MPROTECT, unix.SYS_MADVISE, unix.SYS_MREMAP, unix.SYS_BRK,
	unix.SYS_RT_SIGACTION, unix.SYS_RT_SIGPROCMASK, unix.SYS_RT_SIGRETURN, unix.SYS_SIGALTSTACK,
	unix.SYS_FUTEX, unix.SYS_NANOSLEEP, unix.SYS_CLOCK_NANOSLEEP, unix.SYS_CLOCK_GETTIME, unix.SYS_GETTIMEOFDAY,
	unix.SYS_SCHED_YIELD, unix.SYS_SCHED_GETAFFINITY, unix.SYS_GETPID, unix.SYS_GETTID, unix.SYS_TGKILL,
	unix.SYS_EXIT, unix.SYS_EXIT_GROUP, unix.SYS_RESTART_SYSCALL, unix.SYS_GETRANDOM,
	unix.SYS_EPOLL_CREATE1, unix.SYS_EPOLL_CTL, unix.SYS_EPOLL_PWAIT, unix.SYS_EPOLL_WAIT,
	unix.SYS_EVENTFD2, unix.SYS_PIPE2, unix.SYS_PPOLL,
	unix.SYS_RECVMSG, unix.SYS_SENDMSG, unix.SYS_GETSOCKOPT, unix.SYS_GETSOCKNAME, unix.SYS_GETPEERNAME,
	unix.SYS_SHUTDOWN, unix.SYS_SET_ROBUST_LIST, unix.SYS_RSEQ, unix.SYS_SET_TID_ADDRESS,
	unix.SYS_TIMER_CREATE, unix.SYS_TIMER_SETTIME, unix.SYS_TIMER_DELETE, unix.SYS_PRLIMIT64,
	unix.SYS_ARCH_PRCTL, unix.SYS_UNAME, unix.SYS_GETUID, unix.SYS_GETEUID, unix.SYS_GETGID, unix.SYS_GETEGID, unix.SYS_GETPPID,
}

// probeExtra is what the "probe" role may additionally try, so a test can
// show that the layers below seccomp (empty root, namespaces, dropped
// credentials) refuse these on their own.
var probeExtra = []uintptr{
	unix.SYS_OPENAT, unix.SYS_GETDENTS64, unix.SYS_SOCKET, unix.SYS_CONNECT, unix.SYS_PTRACE,
	unix.SYS_MOUNT, unix.SYS_KILL, unix.SYS_SETUID, unix.SYS_CHROOT, unix.SYS_UMOUNT2,
}

// Roles lists the confinement profiles a system file may name, with what
// each is for. A role is an allow-list: anything not listed fails with EPERM.
var Roles = map[string]string{
	"server": "Go runtime, its kernel channel and shared memory; no files, sockets or processes",
	"driver": "as server (device access arrives as capabilities with the driver environment)",
	"probe":  "as server plus open, socket, connect, ptrace, mount, kill: for confinement tests only",
}

// roleSyscalls returns the allow-list of a role.
func roleSyscalls(role string) ([]uintptr, error) {
	switch role {
	case "server", "driver":
		return baseSyscalls, nil
	case "probe":
		return append(append([]uintptr(nil), baseSyscalls...), probeExtra...), nil
	}
	return nil, fmt.Errorf("unknown role %q (known: %v)", role, roleNames())
}

func roleNames() []string {
	var n []string
	for r := range Roles {
		n = append(n, r)
	}
	sort.Strings(n)
	return n
}

// RoleProgram builds the seccomp program stage 1 installs for role: the
// role's allow-list plus execve (needed once, to start the task binary).
func RoleProgram(role string) ([]bpf.Instruction, error) {
	calls, err := roleSyscalls(role)
	if err != nil {
		return nil, err
	}
	rules := seccomp.NewSyscallRules()
	for _, nr := range calls {
		rules.Set(nr, seccomp.MatchAll{})
	}
	rules.Set(unix.SYS_CLONE, seccomp.PerArg{seccomp.MaskedEqual(cloneMask, cloneThread)})
	rules.Set(unix.SYS_EXECVE, seccomp.MatchAll{})
	// Stacking a further filter only narrows what is allowed; the task
	// runtime does it once (the exec lock) and needs no_new_privs for it.
	rules.Set(unix.SYS_SECCOMP, seccomp.MatchAll{})
	rules.Set(unix.SYS_PRCTL, seccomp.Or{
		seccomp.PerArg{seccomp.EqualTo(unix.PR_SET_NO_NEW_PRIVS)},
		seccomp.PerArg{seccomp.EqualTo(unix.PR_SET_VMA)},  // Go names its memory regions
		seccomp.PerArg{seccomp.EqualTo(unix.PR_SET_NAME)}, // thread names
	})
	// glibc tries clone3 first and falls back to clone on ENOSYS.
	enosys := seccomp.NewSyscallRules()
	enosys.Set(unix.SYS_CLONE3, seccomp.MatchAll{})
	return build([]seccomp.RuleSet{
		{Rules: rules, Action: seccomp.Allow},
		{Rules: enosys, Action: seccomp.ReturnError.Code(uint16(unix.ENOSYS))},
	})
}

// lockProgram refuses execve and execveat and allows everything else; it is
// stacked on the role program, so the effective policy is the role's minus
// exec.
func lockProgram() ([]bpf.Instruction, error) {
	deny := seccomp.NewSyscallRules()
	deny.Set(unix.SYS_EXECVE, seccomp.MatchAll{})
	deny.Set(unix.SYS_EXECVEAT, seccomp.MatchAll{})
	p := &seccomp.Program{
		RuleSets: []seccomp.RuleSet{{Rules: deny, Action: seccomp.ReturnError.Code(uint16(unix.EPERM))}},
		Options:  seccomp.ProgramOptions{DefaultAction: seccomp.Allow, BadArchAction: seccomp.KillProcess},
	}
	instrs, _, err := p.Build()
	return instrs, err
}

func build(sets []seccomp.RuleSet) ([]bpf.Instruction, error) {
	p := &seccomp.Program{
		RuleSets: sets,
		Options: seccomp.ProgramOptions{
			DefaultAction: seccomp.ReturnError.Code(uint16(unix.EPERM)),
			BadArchAction: seccomp.KillProcess,
		},
	}
	instrs, _, err := p.Build()
	if err != nil {
		return nil, fmt.Errorf("building seccomp program: %w", err)
	}
	return instrs, nil
}

// Lock stacks the no-exec filter on the calling process (all threads). The
// task runtime calls it first thing; the kernel's Verify insists on it.
func Lock() error {
	instrs, err := lockProgram()
	if err != nil {
		return err
	}
	return seccomp.SetFilter(instrs)
}
