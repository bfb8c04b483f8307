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

	"golang.org/x/sys/unix"

	"grailos/kernel/abi"
)

// MaxFDs is the most descriptors one message may carry.
const MaxFDs = 4

// Conn is one end of a task channel.
type Conn struct {
	c    *net.UnixConn
	wmu  sync.Mutex
	wbuf []byte
	rbuf []byte
	oob  []byte
}

// Pair creates a connected pair; the second end is returned as an *os.File
// to hand to a child process.
func Pair() (*Conn, *os.File, error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("socketpair: %w", err)
	}
	c, err := FromFD(fds[0])
	if err != nil {
		unix.Close(fds[1])
		return nil, nil, err
	}
	return c, os.NewFile(uintptr(fds[1]), "task-channel"), nil
}

// FromFD wraps a SEQPACKET socket descriptor; the Conn owns it.
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
	return &Conn{c: uc, rbuf: make([]byte, abi.MaxMessage+1), oob: make([]byte, unix.CmsgSpace(MaxFDs*4))}, nil
}

// Send writes m, passing fds along (they stay open in the sender).
func (c *Conn) Send(m *abi.Message, fds ...int) error {
	if len(fds) > MaxFDs {
		return fmt.Errorf("link: %d descriptors in one message (max %d)", len(fds), MaxFDs)
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	b, err := m.Append(c.wbuf[:0])
	if err != nil {
		return err
	}
	c.wbuf = b
	var oob []byte
	if len(fds) > 0 {
		oob = unix.UnixRights(fds...)
	}
	_, _, err = c.c.WriteMsgUnix(b, oob, nil)
	return err
}

// TrySend sends m if the socket can take it now, without waiting. It
// reports false (and no error) when the socket buffer is full.
func (c *Conn) TrySend(m *abi.Message, fds ...int) (bool, error) {
	if len(fds) > MaxFDs {
		return false, fmt.Errorf("link: %d descriptors in one message (max %d)", len(fds), MaxFDs)
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	b, err := m.Append(c.wbuf[:0])
	if err != nil {
		return false, err
	}
	c.wbuf = b
	var oob []byte
	if len(fds) > 0 {
		oob = unix.UnixRights(fds...)
	}
	rc, err := c.c.SyscallConn()
	if err != nil {
		return false, err
	}
	var serr error
	if err := rc.Write(func(fd uintptr) bool {
		serr = unix.Sendmsg(int(fd), b, oob, nil, unix.MSG_DONTWAIT)
		return true // never wait here
	}); err != nil {
		return false, err
	}
	if serr == unix.EAGAIN {
		return false, nil
	}
	return serr == nil, serr
}

// ErrClosed is returned by Recv when the peer closed the channel.
var ErrClosed = errors.New("channel closed")

// Recv reads the next message. The message aliases an internal buffer that
// the next Recv overwrites. Received descriptors belong to the caller (they
// are close-on-exec); on error none are returned (they are closed).
func (c *Conn) Recv() (abi.Message, []int, error) {
	n, oobn, flags, _, err := c.c.ReadMsgUnix(c.rbuf, c.oob)
	if errors.Is(err, io.EOF) || errors.Is(err, unix.ECONNRESET) {
		return abi.Message{}, nil, ErrClosed
	}
	if err != nil {
		return abi.Message{}, nil, err
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

// Close closes the channel; a blocked Recv returns.
func (c *Conn) Close() error { return c.c.Close() }
