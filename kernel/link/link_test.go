package link

import (
	"errors"
	"os"
	"testing"

	"golang.org/x/sys/unix"

	"grailos/kernel/abi"
)

func pair(t *testing.T) (*Conn, *Conn) {
	t.Helper()
	a, f, err := Pair()
	if err != nil {
		t.Fatal(err)
	}
	fd, err := unix.Dup(int(f.Fd()))
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	b, err := FromFD(fd)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close(); b.Close() })
	return a, b
}

func TestSendRecvWithFD(t *testing.T) {
	a, b := pair(t)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	if err := a.Send(&abi.Message{Header: abi.Header{Op: abi.OpResult, Seq: 5}, Payload: []byte("x")}, int(w.Fd())); err != nil {
		t.Fatal(err)
	}
	m, fds, err := b.Recv()
	if err != nil {
		t.Fatal(err)
	}
	if m.Seq != 5 || string(m.Payload) != "x" || len(fds) != 1 {
		t.Fatalf("got seq %d payload %q fds %v", m.Seq, m.Payload, fds)
	}
	unix.Write(fds[0], []byte("ok"))
	unix.Close(fds[0])
	buf := make([]byte, 2)
	if n, _ := r.Read(buf); string(buf[:n]) != "ok" {
		t.Fatalf("passed fd does not reach the pipe: %q", buf[:n])
	}
}

func TestRecvRejectsGarbageAndOversize(t *testing.T) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	raw := fds[1]
	defer unix.Close(raw)
	c, err := FromFD(fds[0])
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	unix.Write(raw, []byte("not a message"))
	if _, _, err := c.Recv(); !errors.Is(err, abi.ErrBadMessage) {
		t.Fatalf("garbage: %v", err)
	}
	unix.SetsockoptInt(raw, unix.SOL_SOCKET, unix.SO_SNDBUF, 1<<20)
	if _, err := unix.Write(raw, make([]byte, abi.MaxMessage+100)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.Recv(); !errors.Is(err, abi.ErrBadMessage) {
		t.Fatalf("oversize: %v", err)
	}
	unix.Close(raw)
	if _, _, err := c.Recv(); !errors.Is(err, ErrClosed) {
		t.Fatalf("after close: %v", err)
	}
}
