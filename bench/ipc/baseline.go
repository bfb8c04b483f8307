package ipc

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"time"

	"golang.org/x/sys/unix"
)

const peerEnv = "GRAIL_BENCH_IPC_PEER"

// MaybePeer turns this process into the echo peer of a baseline measurement
// if it was started as one; it never returns then. Call it first in main.
func MaybePeer() {
	if os.Getenv(peerEnv) == "" {
		return
	}
	in, out := os.NewFile(3, "in"), os.NewFile(4, "out")
	buf := make([]byte, 64)
	for {
		if _, err := io.ReadFull(in, buf); err != nil {
			os.Exit(0)
		}
		if _, err := out.Write(buf); err != nil {
			os.Exit(0)
		}
	}
}

// baseline measures n 64-byte round trips to a plain child process over a
// Unix stream socket ("unix") or a pair of pipes ("pipe").
func baseline(kind string, n int) (Latency, error) {
	var mine, theirs [2]*os.File // mine: read, write; theirs: the child's fd 3, 4
	switch kind {
	case "unix":
		fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return Latency{}, err
		}
		a, b := os.NewFile(uintptr(fds[0]), "a"), os.NewFile(uintptr(fds[1]), "b")
		mine, theirs = [2]*os.File{a, a}, [2]*os.File{b, b}
	case "pipe":
		r1, w1, err := os.Pipe()
		if err != nil {
			return Latency{}, err
		}
		r2, w2, err := os.Pipe()
		if err != nil {
			return Latency{}, err
		}
		mine, theirs = [2]*os.File{r2, w1}, [2]*os.File{r1, w2}
	default:
		return Latency{}, fmt.Errorf("unknown baseline %q", kind)
	}
	exe, err := os.Executable()
	if err != nil {
		return Latency{}, err
	}
	cmd := exec.Command(exe)
	cmd.Env = []string{peerEnv + "=1"}
	cmd.ExtraFiles = []*os.File{theirs[0], theirs[1]}
	if err := cmd.Start(); err != nil {
		return Latency{}, err
	}
	theirs[0].Close()
	theirs[1].Close()
	defer func() {
		mine[0].Close()
		mine[1].Close()
		cmd.Wait()
	}()
	msg := make([]byte, 64)
	got := make([]byte, 64)
	samples := make([]time.Duration, 0, n)
	for i := 0; i < n+n/10; i++ { // the first tenth warms up
		msg[0] = byte(i)
		t := time.Now()
		if _, err := mine[1].Write(msg); err != nil {
			return Latency{}, err
		}
		if _, err := io.ReadFull(mine[0], got); err != nil {
			return Latency{}, err
		}
		if i >= n/10 {
			samples = append(samples, time.Since(t))
		}
		if got[0] != msg[0] {
			return Latency{}, fmt.Errorf("%s peer answered %d to %d", kind, got[0], msg[0])
		}
	}
	return Summarize(samples), nil
}
