package sandbox

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"

	"grailos/kernel/link"
)

// Process is a started, not yet verified, task process.
type Process struct {
	Pid     int
	PidFD   int        // pidfd of the process: exit detection and signals without pid reuse races
	Channel *link.Conn // the kernel's end of the task channel
	Output  io.ReadCloser
	cmd     *exec.Cmd
}

// Start starts a task in its own namespaces. place is called with the pid
// before the task's binary runs (the caller puts it in its cgroup there); if
// place fails the process is killed. Stage 1 builds the task's root while
// place runs (moving a process between v1 cgroups costs milliseconds) and
// waits for the go-ahead only before it drops privileges and execs.
func Start(spec Spec, place func(pid int) error) (*Process, error) {
	if _, err := roleSyscalls(spec.Role); err != nil {
		return nil, err
	}
	st, err := os.Stat(spec.Binary)
	if err != nil {
		return nil, fmt.Errorf("task %s: binary: %w", spec.Name, err)
	}
	if !st.Mode().IsRegular() || st.Mode()&0o111 == 0 {
		return nil, fmt.Errorf("task %s: binary %s is not an executable file", spec.Name, spec.Binary)
	}
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	ch, taskEnd, err := link.Pair()
	if err != nil {
		return nil, err
	}
	specR, specW, err := os.Pipe()
	if err != nil {
		ch.Close()
		taskEnd.Close()
		return nil, err
	}
	goR, goW, err := os.Pipe()
	if err != nil {
		ch.Close()
		taskEnd.Close()
		specR.Close()
		specW.Close()
		return nil, err
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		ch.Close()
		taskEnd.Close()
		specR.Close()
		specW.Close()
		goR.Close()
		goW.Close()
		return nil, err
	}
	cmd := exec.Command(self)
	cmd.Args = []string{"grail-task:" + spec.Name}
	cmd.Env = []string{stage1Env + "=1"}
	cmd.Stdin = nil
	cmd.Stdout = outW
	cmd.Stderr = outW
	cmd.ExtraFiles = []*os.File{taskEnd, specR, goR} // fds 3, 4 and 5
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags: unix.CLONE_NEWPID | unix.CLONE_NEWNS | unix.CLONE_NEWNET | unix.CLONE_NEWIPC |
			unix.CLONE_NEWUTS | unix.CLONE_NEWCGROUP,
		Pdeathsig: syscall.SIGKILL,
		Setsid:    true,
	}
	err = StartCmd(cmd)
	taskEnd.Close()
	specR.Close()
	goR.Close()
	outW.Close()
	if err != nil {
		ch.Close()
		specW.Close()
		goW.Close()
		outR.Close()
		return nil, fmt.Errorf("task %s: starting stage 1: %w", spec.Name, err)
	}
	p := &Process{Pid: cmd.Process.Pid, Channel: ch, Output: outR, cmd: cmd, PidFD: -1}
	fail := func(err error) (*Process, error) {
		specW.Close()
		goW.Close()
		p.Kill()
		p.Wait()
		p.Close()
		return nil, err
	}
	if p.PidFD, err = unix.PidfdOpen(p.Pid, 0); err != nil {
		return fail(fmt.Errorf("task %s: pidfd_open: %w", spec.Name, err))
	}
	if err := json.NewEncoder(specW).Encode(spec); err != nil {
		return fail(fmt.Errorf("task %s: sending spec: %w", spec.Name, err))
	}
	specW.Close()
	if place != nil {
		if err := place(p.Pid); err != nil {
			return fail(fmt.Errorf("task %s: %w", spec.Name, err))
		}
	}
	if _, err := goW.Write([]byte{'g'}); err != nil {
		return fail(fmt.Errorf("task %s: go-ahead: %w", spec.Name, err))
	}
	goW.Close()
	return p, nil
}

// Kill sends SIGKILL through the pidfd.
func (p *Process) Kill() error {
	if p.PidFD >= 0 {
		return unix.PidfdSendSignal(p.PidFD, unix.SIGKILL, nil, 0)
	}
	return p.cmd.Process.Kill()
}

// Signal sends sig through the pidfd.
func (p *Process) Signal(sig unix.Signal) error {
	return unix.PidfdSendSignal(p.PidFD, sig, nil, 0)
}

// Wait reaps the process and returns how it ended: the exit status, or
// 0x100|signal (abi.ExitCode's encoding).
func (p *Process) Wait() uint64 {
	err := p.cmd.Wait()
	ps := p.cmd.ProcessState
	if ps == nil {
		_ = err
		return 0x100 | uint64(unix.SIGKILL)
	}
	ws := ps.Sys().(syscall.WaitStatus)
	if ws.Signaled() {
		return 0x100 | uint64(ws.Signal())
	}
	return uint64(ws.ExitStatus() & 0xff)
}

// Close releases the kernel's descriptors of the process.
func (p *Process) Close() {
	if p.PidFD >= 0 {
		unix.Close(p.PidFD)
		p.PidFD = -1
	}
	p.Channel.Close()
	p.Output.Close()
}

// The parent-death signal belongs to the thread that forked the child: if
// that OS thread ever exits (Go ends a thread whose locked goroutine
// returns), the child is killed. So every child that relies on it is
// started from one thread that is locked for good and never exits.
var (
	forkerOnce sync.Once
	forkerCh   chan func()
)

// StartCmd starts cmd from the process's permanent forking thread.
func StartCmd(cmd *exec.Cmd) error {
	forkerOnce.Do(func() {
		forkerCh = make(chan func())
		go func() {
			runtime.LockOSThread() // never unlocked: this thread lives as long as the process
			for f := range forkerCh {
				f()
			}
		}()
	})
	done := make(chan error, 1)
	forkerCh <- func() { done <- cmd.Start() }
	return <-done
}
