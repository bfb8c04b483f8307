package system

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"grailos/arch/machine/devchan"
	"grailos/arch/machine/hw"
	"grailos/arch/machine/wire"
	"grailos/kernel"
	"grailos/kernel/sandbox"
)

// machine is one machine process: the hardware beneath the kernel, holding
// one device. It outlives driver crashes; it stops with the system.
type machine struct {
	cmd   *exec.Cmd
	ctl   *net.UnixConn
	dev   string // the device's name: the subject of its fault events
	netns string
	done  chan struct{}

	faultMu sync.Mutex      // one fault request at a time (faults.go)
	reader  sync.Once       // starts readCtl
	replies chan hw.Message // armed or error, for the request waiting
}

// PeerNetns names the peer network namespace of a system's device: the
// namespace whose Linux stack sits at the far end of the device's wire.
func PeerNetns(system, device string) string { return "grail-" + system + "-" + device }

// startMachine starts the machine process for device dev (the index-th
// device of the system), hosting the device model model (the system
// file's choice, sysfile.Device.Model), and returns it with the kernel's
// view of the device.
func startMachine(binDir, system, dev, model string, index int, out io.Writer) (*machine, kernel.Device, error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, kernel.Device{}, err
	}
	mine, theirs := os.NewFile(uintptr(fds[0]), "machine-ctl"), os.NewFile(uintptr(fds[1]), "machine-ctl")
	defer theirs.Close()
	fc, err := net.FileConn(mine)
	mine.Close()
	if err != nil {
		return nil, kernel.Device{}, err
	}
	ctl := fc.(*net.UnixConn)
	netns := PeerNetns(system, dev)
	// A namespace of this name is a leftover of a run of this system that
	// was killed (Boot made sure no live one runs): it must not stop this one.
	if _, err := os.Stat(wire.NetnsPath(netns)); err == nil {
		fmt.Fprintf(out, "%-8s| removing the leftover peer namespace %s\n", "grail", netns)
		if err := wire.RemoveNetns(netns); err != nil {
			ctl.Close()
			return nil, kernel.Device{}, fmt.Errorf("leftover peer namespace %s: %w", netns, err)
		}
	}
	cmd := exec.Command(filepath.Join(binDir, "machine"), "-model", model,
		"-name", dev, "-mac", fmt.Sprintf("52:54:00:12:34:%02x", 0x56+index),
		"-netns", netns, "-ctl-fd", "3")
	cmd.ExtraFiles = []*os.File{theirs}
	pr, pw, err := os.Pipe()
	if err != nil {
		ctl.Close()
		return nil, kernel.Device{}, err
	}
	cmd.Stdout, cmd.Stderr = pw, pw
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := sandbox.StartCmd(cmd); err != nil { // a thread that never exits: see StartCmd
		ctl.Close()
		pr.Close()
		pw.Close()
		return nil, kernel.Device{}, fmt.Errorf("starting the machine for %s: %w", dev, err)
	}
	pw.Close()
	m := &machine{cmd: cmd, ctl: ctl, dev: dev, netns: netns, done: make(chan struct{}), replies: make(chan hw.Message, 1)}
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			fmt.Fprintf(out, "%-8s| %s\n", "machine", sc.Text())
		}
		pr.Close()
	}()
	go func() { cmd.Wait(); close(m.done) }()
	ctl.SetReadDeadline(time.Now().Add(20 * time.Second))
	h, err := devchan.ReceiveHandoff(ctl)
	if err != nil {
		m.stop()
		return nil, kernel.Device{}, fmt.Errorf("machine for %s: %w", dev, err)
	}
	ctl.SetReadDeadline(time.Time{})
	info, err := json.Marshal(h.Description)
	if err != nil {
		h.Close()
		m.stop()
		return nil, kernel.Device{}, err
	}
	return m, kernel.Device{Name: dev, Info: info, Files: []*os.File{h.Channel, h.Pool}, IRQ: h.IRQ}, nil
}

// stop ends the machine: closing its control socket asks it to shut down
// cleanly (TAP and peer namespace removed); a machine that does not, is
// killed.
func (m *machine) stop() {
	m.ctl.Close()
	m.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-m.done:
	case <-time.After(10 * time.Second):
		m.cmd.Process.Kill()
		<-m.done
	}
}

// MachinePid returns the host pid of the i-th machine process, or 0.
func (s *System) MachinePid(i int) int {
	if i < 0 || i >= len(s.machs) {
		return 0
	}
	return s.machs[i].cmd.Process.Pid
}
