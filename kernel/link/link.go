// Package link carries abi messages, and file descriptors with them, over a
// SOCK_SEQPACKET Unix socket: the channel between a task and the kernel.
// Packet boundaries are message boundaries; a packet larger than
// abi.MaxMessage is an error (it arrives truncated and is refused).
//
// A Conn may be used by one reader and one writer goroutine at a time
// (writes are serialised internally, so several writers are fine too).
package link

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"

	"grailos/kernel/abi"
)

// MaxFDs is the most descriptors one message may carry.
const MaxFDs = 4

// Conn is one end of a task channel. It works in one of two modes: polled
// (the socket is non-blocking and waits go through Go's network poller, so a
// waiting reader holds no thread — what tasks use) or blocking (the reader's
// thread sleeps in recvmsg and the arriving packet wakes it directly, saving
// the poller's wake-up and a goroutine hand-off per message — what the
// kernel uses for its end of every channel, one thread per task).
type Conn struct {
	rc       syscall.RawConn
	closer   io.Closer
	blocking bool
	wmu      sync.Mutex
	wbuf     []byte
	rbuf     []byte
	oob      []byte
}

// Pair creates a connected pair; the first end, in blocking mode, is the
// kernel's; the second is returned as an *os.File to hand to a child.
func Pair() (*Conn, *os.File, error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("socketpair: %w", err)
	}
	f := os.NewFile(uintptr(fds[0]), "channel") // blocking fd: a non-pollable File
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		unix.Close(fds[1])
		return nil, nil, err
	}
	return newConn(rc, f, true), os.NewFile(uintptr(fds[1]), "task-channel"), nil
}

// FromFD wraps a SEQPACKET socket descriptor in polled mode; the Conn owns it.
func FromFD(fd int) (*Conn, error) {
	f := os.NewFile(uintptr(fd), "channel")
	fc, err := net.FileConn(f)
	f.Close()
	if err != nil {
		return nil, fmt.Errorf("channel fd %d: %w", fd, err)
	}
	uc, ok := fc.(*net.UnixConn)
	if !ok {
		fc.Close()
		return nil, fmt.Errorf("channel fd %d is not a unix socket", fd)
	}
	rc, err := uc.SyscallConn()
	if err != nil {
		uc.Close()
		return nil, err
	}
	return newConn(rc, uc, false), nil
}

func newConn(rc syscall.RawConn, closer io.Closer, blocking bool) *Conn {
	return &Conn{rc: rc, closer: closer, blocking: blocking,
		rbuf: make([]byte, abi.MaxMessage+1), oob: make([]byte, unix.CmsgSpace(MaxFDs*4))}
}

func (c *Conn) encode(m *abi.Message, fds []int) ([]byte, []byte, error) {
	if len(fds) > MaxFDs {
		return nil, nil, fmt.Errorf("link: %d descriptors in one message (max %d)", len(fds), MaxFDs)
	}
	b, err := m.Append(c.wbuf[:0])
	if err != nil {
		return nil, nil, err
	}
	c.wbuf = b
	var oob []byte
	if len(fds) > 0 {
		oob = unix.UnixRights(fds...)
	}
	return b, oob, nil
}

// sendmsg sends one packet; wait says whether a full socket is waited on.
func (c *Conn) sendmsg(b, oob []byte, wait bool) error {
	flags := 0
	if !wait || !c.blocking {
		flags = unix.MSG_DONTWAIT
	}
	var serr error
	err := c.rc.Write(func(fd uintptr) bool {
		for {
			serr = unix.Sendmsg(int(fd), b, oob, nil, flags)
			if serr != unix.EINTR {
				break
			}
		}
		// In polled mode a full socket parks us in the poller.
		return !(serr == unix.EAGAIN && wait && !c.blocking)
	})
	if err != nil {
		return err
	}
	return serr
}

// Send writes m, passing fds along (they stay open in the sender). It waits
// while the socket buffer is full.
func (c *Conn) Send(m *abi.Message, fds ...int) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	b, oob, err := c.encode(m, fds)
	if err != nil {
		return err
	}
	return c.sendmsg(b, oob, true)
}

// TrySend sends m if the socket can take it now, without waiting. It
// reports false (and no error) when the socket buffer is full.
func (c *Conn) TrySend(m *abi.Message, fds ...int) (bool, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	b, oob, err := c.encode(m, fds)
	if err != nil {
		return false, err
	}
	switch err := c.sendmsg(b, oob, false); err {
	case nil:
		return true, nil
	case unix.EAGAIN:
		return false, nil
	default:
		return false, err
	}
}

// ErrClosed is returned by Recv when the peer closed the channel.
var ErrClosed = errors.New("channel closed")

// Recv reads the next message. The message aliases an internal buffer that
// the next Recv overwrites. Received descriptors belong to the caller (they
// are close-on-exec); on error none are returned (they are closed).
func (c *Conn) Recv() (abi.Message, []int, error) {
	var n, oobn, flags int
	var rerr error
	rflags := unix.MSG_CMSG_CLOEXEC
	if !c.blocking {
		rflags |= unix.MSG_DONTWAIT
	}
	err := c.rc.Read(func(fd uintptr) bool {
		for {
			n, oobn, flags, _, rerr = unix.Recvmsg(int(fd), c.rbuf, c.oob, rflags)
			if rerr != unix.EINTR {
				break
			}
		}
		return rerr != unix.EAGAIN // polled mode: park until readable
	})
	if err != nil {
		return abi.Message{}, nil, ErrClosed
	}
	if rerr == unix.ECONNRESET {
		return abi.Message{}, nil, ErrClosed
	}
	if rerr != nil {
		return abi.Message{}, nil, rerr
	}
	fds, ferr := parseRights(c.oob[:oobn])
	if n == 0 && oobn == 0 {
		return abi.Message{}, nil, ErrClosed
	}
	fail := func(e error) (abi.Message, []int, error) {
		for _, fd := range fds {
			unix.Close(fd)
		}
		return abi.Message{}, nil, e
	}
	if ferr != nil {
		return fail(ferr)
	}
	if flags&(unix.MSG_TRUNC|unix.MSG_CTRUNC) != 0 || n > abi.MaxMessage {
		return fail(fmt.Errorf("%w: packet larger than %d bytes or too many descriptors", abi.ErrBadMessage, abi.MaxMessage))
	}
	m, err := abi.Decode(c.rbuf[:n])
	if err != nil {
		return fail(err)
	}
	return m, fds, nil
}

func parseRights(oob []byte) ([]int, error) {
	if len(oob) == 0 {
		return nil, nil
	}
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return nil, fmt.Errorf("control message: %w", err)
	}
	var fds []int
	for _, m := range msgs {
		r, err := unix.ParseUnixRights(&m)
		if err != nil {
			continue
		}
		for _, fd := range r {
			unix.CloseOnExec(fd)
		}
		fds = append(fds, r...)
	}
	return fds, nil
}

// Close closes the channel; a blocked Recv returns ErrClosed.
func (c *Conn) Close() error {
	c.rc.Control(func(fd uintptr) { unix.Shutdown(int(fd), unix.SHUT_RDWR) })
	return c.closer.Close()
}
