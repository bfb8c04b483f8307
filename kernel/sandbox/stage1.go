package sandbox

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/seccomp"
)

const (
	stage1Env = "GRAIL_SANDBOX_STAGE1"
	// ChannelFD is the descriptor number of the task's kernel channel.
	ChannelFD = 3
	specFD    = 4
	goFD      = 5      // one byte once the kernel has placed us in our cgroup
	newRoot   = "/tmp" // mount point of the task's tmpfs inside its own mount namespace
)

// Spec is what stage 1 needs to confine a task. It travels from the kernel to
// its own stage-1 code over a pipe before any task code runs.
type Spec struct {
	Name   string
	Binary string // absolute host path of the task binary
	Role   string
	UID    int
	GID    int
	Args   []string
	Env    []string // the task's whole environment (it inherits nothing)
}

// Stage1 runs stage 1 if this process was started as one, and never returns
// in that case. Every binary that can act as a kernel (cmd/grail and test
// binaries of packages that start tasks) calls it first thing in main or
// TestMain.
func Stage1() {
	if os.Getenv(stage1Env) == "" {
		return
	}
	err := stage1()
	fmt.Fprintf(os.Stderr, "grail sandbox: %v\n", err)
	os.Exit(125)
}

func stage1() error {
	f := os.NewFile(specFD, "spec")
	var spec Spec
	if err := json.NewDecoder(f).Decode(&spec); err != nil {
		return fmt.Errorf("reading spec: %w", err)
	}
	f.Close()
	prog, err := RoleProgram(spec.Role)
	if err != nil {
		return err
	}
	base := filepath.Base(spec.Binary)
	if err := makeRoot(spec.Binary, base); err != nil {
		return err
	}
	if err := unix.Sethostname([]byte(spec.Name)); err != nil {
		return fmt.Errorf("sethostname: %w", err)
	}
	argv := append([]string{spec.Name}, spec.Args...)
	env := append([]string{"GRAIL_TASK=" + spec.Name}, spec.Env...)
	// The kernel's go-ahead: we are in our cgroup, so the limits hold
	// before the task's binary runs.
	g := os.NewFile(goFD, "go")
	var b [1]byte
	if n, err := g.Read(b[:]); n != 1 || b[0] != 'g' {
		return fmt.Errorf("no go-ahead from the kernel: %v", err)
	}
	g.Close()

	// From here on only this thread matters: execve keeps its credentials,
	// bounding set and parent-death signal and drops all other threads.
	runtime.LockOSThread()
	for c := 0; c <= unix.CAP_LAST_CAP; c++ {
		if _, _, e := unix.RawSyscall(unix.SYS_PRCTL, unix.PR_CAPBSET_DROP, uintptr(c), 0); e != 0 && e != unix.EINVAL {
			return fmt.Errorf("dropping capability %d from the bounding set: %w", c, e)
		}
	}
	if _, _, e := unix.RawSyscall(unix.SYS_SETGROUPS, 0, 0, 0); e != 0 {
		return fmt.Errorf("setgroups: %w", e)
	}
	if _, _, e := unix.RawSyscall(unix.SYS_SETRESGID, uintptr(spec.GID), uintptr(spec.GID), uintptr(spec.GID)); e != 0 {
		return fmt.Errorf("setresgid: %w", e)
	}
	if _, _, e := unix.RawSyscall(unix.SYS_SETRESUID, uintptr(spec.UID), uintptr(spec.UID), uintptr(spec.UID)); e != 0 {
		return fmt.Errorf("setresuid: %w", e)
	}
	if err := clearCaps(); err != nil {
		return err
	}
	if _, _, e := unix.RawSyscall(unix.SYS_PRCTL, unix.PR_SET_PDEATHSIG, uintptr(unix.SIGKILL), 0); e != 0 {
		return fmt.Errorf("pdeathsig: %w", e)
	}
	if err := seccomp.SetFilter(prog); err != nil {
		return fmt.Errorf("installing the %s seccomp filter: %w", spec.Role, err)
	}
	err = unix.Exec("/"+base, argv, env)
	return fmt.Errorf("exec %s: %w", base, err)
}

// makeRoot builds the task's root: a tmpfs holding only the binary.
func makeRoot(hostBinary, base string) error {
	// Hold the binary open first: the tmpfs may hide its path (a binary
	// under /tmp), and the bind then goes through the descriptor.
	bfd, err := unix.Open(hostBinary, unix.O_PATH|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("building the task root: opening the binary: %w", err)
	}
	defer unix.Close(bfd)
	bsrc := fmt.Sprintf("/proc/self/fd/%d", bfd)
	steps := []struct {
		what string
		do   func() error
	}{
		{"making mounts private", func() error { return unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, "") }},
		{"mounting the root tmpfs", func() error {
			return unix.Mount("grail", newRoot, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, "size=16k,nr_inodes=16,mode=0755")
		}},
		{"creating the binary's mount point", func() error {
			fd, err := unix.Open(newRoot+"/"+base, unix.O_CREAT|unix.O_WRONLY|unix.O_CLOEXEC, 0o555)
			if err == nil {
				unix.Close(fd)
			}
			return err
		}},
		{"binding the binary", func() error { return unix.Mount(bsrc, newRoot+"/"+base, "", unix.MS_BIND, "") }},
		{"making the binary read-only", func() error {
			return unix.Mount("", newRoot+"/"+base, "", unix.MS_REMOUNT|unix.MS_BIND|unix.MS_RDONLY|unix.MS_NOSUID|unix.MS_NODEV, "")
		}},
		{"creating the old-root mount point", func() error { return unix.Mkdir(newRoot+"/.old", 0o700) }},
		{"pivot_root", func() error { return unix.PivotRoot(newRoot, newRoot+"/.old") }},
		{"chdir /", func() error { return unix.Chdir("/") }},
		{"detaching the old root", func() error { return unix.Unmount("/.old", unix.MNT_DETACH) }},
		{"removing the old-root mount point", func() error { return unix.Rmdir("/.old") }},
		{"making the root read-only", func() error {
			return unix.Mount("", "/", "", unix.MS_REMOUNT|unix.MS_RDONLY|unix.MS_NOSUID|unix.MS_NODEV, "")
		}},
	}
	for _, s := range steps {
		if err := s.do(); err != nil {
			return fmt.Errorf("building the task root: %s: %w", s.what, err)
		}
	}
	return nil
}
