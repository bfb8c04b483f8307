package native

import (
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"grailos/servers/net/socket"
)

// writeWindow is how many send requests one Write keeps in flight.
const writeWindow = 8

// sock is what stream and datagram sockets share: the handle, addresses,
// deadlines and closing.
type sock struct {
	n       *Net
	h       uint32
	network string
	laddr   netip.AddrPort
	raddr   netip.AddrPort
	rd, wd  deadline
	closed  atomic.Bool
	once    sync.Once
}

func (s *sock) init(n *Net, h uint32, network string, l, r netip.AddrPort) {
	s.n, s.h, s.network, s.laddr, s.raddr = n, h, network, l, r
	s.rd, s.wd = makeDeadline(), makeDeadline()
}

// opError wraps err as the net package does, mapping a cancellation to a
// deadline or to the socket being closed.
func (s *sock) opError(op string, err error, addr net.Addr) error {
	if errors.Is(err, syscall.ECANCELED) {
		err = os.ErrDeadlineExceeded
		if s.closed.Load() {
			err = net.ErrClosed
		}
	} else if errno, ok := err.(syscall.Errno); ok {
		err = os.NewSyscallError(op, errno)
	}
	return &net.OpError{Op: op, Net: s.network, Source: s.addr(s.laddr), Addr: addr, Err: err}
}

func (s *sock) addr(a netip.AddrPort) net.Addr {
	if !a.IsValid() {
		return nil
	}
	a = netip.AddrPortFrom(a.Addr().Unmap(), a.Port())
	if s.network[:3] == "udp" {
		return net.UDPAddrFromAddrPort(a)
	}
	return net.TCPAddrFromAddrPort(a)
}

// LocalAddr implements net.Conn.LocalAddr.
func (s *sock) LocalAddr() net.Addr { return s.addr(s.laddr) }

// RemoteAddr implements net.Conn.RemoteAddr.
func (s *sock) RemoteAddr() net.Addr { return s.addr(s.raddr) }

// SetDeadline implements net.Conn.SetDeadline.
func (s *sock) SetDeadline(t time.Time) error {
	s.rd.set(t)
	s.wd.set(t)
	return nil
}

// SetReadDeadline implements net.Conn.SetReadDeadline.
func (s *sock) SetReadDeadline(t time.Time) error { s.rd.set(t); return nil }

// SetWriteDeadline implements net.Conn.SetWriteDeadline.
func (s *sock) SetWriteDeadline(t time.Time) error { s.wd.set(t); return nil }

// Close implements net.Conn.Close: waiting operations return net.ErrClosed.
func (s *sock) Close() error {
	if s.closed.Swap(true) {
		return &net.OpError{Op: "close", Net: s.network, Err: net.ErrClosed}
	}
	if err := s.n.close(s.h); err != nil {
		return &net.OpError{Op: "close", Net: s.network, Err: err}
	}
	return nil
}

func (s *sock) setOpt(opt int, v uint32) error {
	_, _, err := s.n.simple(socket.OpSetOpt, s.h, uint64(opt)<<32|uint64(v), nil, nil)
	if err != nil {
		return s.opError("set", err, nil)
	}
	return nil
}

// SetReadBuffer sets the receive buffer size.
func (s *sock) SetReadBuffer(bytes int) error { return s.setOpt(socket.OptRecvBuf, uint32(bytes)) }

// SetWriteBuffer sets the send buffer size.
func (s *sock) SetWriteBuffer(bytes int) error { return s.setOpt(socket.OptSendBuf, uint32(bytes)) }

// Conn is a TCP connection; it implements net.Conn.
type Conn struct {
	sock
	rmu, wmu sync.Mutex
}

var _ net.Conn = (*Conn)(nil)

func newConn(n *Net, h uint32, network string, l, r netip.AddrPort) *Conn {
	c := &Conn{}
	c.init(n, h, network, l, r)
	return c
}

// Read implements net.Conn.Read.
func (c *Conn) Read(p []byte) (int, error) {
	if c.closed.Load() {
		return 0, c.opError("read", net.ErrClosed, c.RemoteAddr())
	}
	if len(p) == 0 {
		return 0, nil
	}
	c.rmu.Lock()
	defer c.rmu.Unlock()
	if len(p) > socket.MaxPayload {
		p = p[:socket.MaxPayload]
	}
	r, k, err := c.n.c.Do(socket.Header{Op: socket.OpRecv, Handle: c.h, Arg: uint64(len(p))}, nil, nil, nil, p, c.rd.wait())
	if err == nil {
		err = socket.Err(r.Status)
	}
	if err != nil {
		return k, c.opError("read", err, c.RemoteAddr())
	}
	if k == 0 {
		return 0, io.EOF
	}
	return k, nil
}

// Write implements net.Conn.Write. Up to writeWindow chunks are in flight
// at once; they complete in order.
func (c *Conn) Write(p []byte) (int, error) {
	if c.closed.Load() {
		return 0, c.opError("write", net.ErrClosed, c.RemoteAddr())
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	cancel := c.wd.wait()
	var calls []*socket.Call
	total, off := 0, 0
	var first error
	for off < len(p) || len(calls) > 0 {
		for first == nil && off < len(p) && len(calls) < writeWindow {
			end := min(off+socket.MaxPayload, len(p))
			call, err := c.n.c.Start(socket.Header{Op: socket.OpSend, Handle: c.h}, nil, p[off:end], nil, nil)
			if err != nil {
				first = err
				break
			}
			calls = append(calls, call)
			off = end
		}
		if len(calls) == 0 {
			break
		}
		r, _, err := calls[0].Wait(cancel)
		calls = calls[1:]
		if err == nil {
			err = socket.Err(r.Status)
		}
		total += int(r.Arg)
		if err != nil && first == nil {
			first = err
		}
		if first != nil {
			off = len(p)
		}
	}
	if first != nil {
		return total, c.opError("write", first, c.RemoteAddr())
	}
	return total, nil
}

// CloseWrite shuts down the sending side (the peer reads end of stream).
func (c *Conn) CloseWrite() error { return c.shutdown(socket.ShutWrite) }

// CloseRead shuts down the receiving side.
func (c *Conn) CloseRead() error { return c.shutdown(socket.ShutRead) }

func (c *Conn) shutdown(how uint64) error {
	if _, _, err := c.n.simple(socket.OpShutdown, c.h, how, nil, nil); err != nil {
		return c.opError("shutdown", err, c.RemoteAddr())
	}
	return nil
}

// SetNoDelay turns Nagle's algorithm off (true) or on.
func (c *Conn) SetNoDelay(noDelay bool) error {
	v := uint32(0)
	if noDelay {
		v = 1
	}
	return c.setOpt(socket.OptNoDelay, v)
}

// SetKeepAlive turns keep-alive probes on or off.
func (c *Conn) SetKeepAlive(on bool) error {
	v := uint32(0)
	if on {
		v = 1
	}
	return c.setOpt(socket.OptKeepAlive, v)
}

// Listener is a listening TCP socket; it implements net.Listener.
type Listener struct {
	n       *Net
	h       uint32
	network string
	addr    netip.AddrPort
	closing chan struct{}
	once    sync.Once
	closed  atomic.Bool
}

var _ net.Listener = (*Listener)(nil)

// Accept implements net.Listener.Accept.
func (l *Listener) Accept() (net.Conn, error) {
	var as [2 * socket.AddrSize]byte
	r, _, err := l.n.c.Do(socket.Header{Op: socket.OpAccept, Handle: l.h}, nil, nil, as[:], nil, l.closing)
	if err == nil {
		err = socket.Err(r.Status)
	}
	if err != nil {
		if l.closed.Load() {
			err = net.ErrClosed
		} else if errno, ok := err.(syscall.Errno); ok {
			err = os.NewSyscallError("accept", errno)
		}
		return nil, &net.OpError{Op: "accept", Net: l.network, Addr: l.Addr(), Err: err}
	}
	lo, _ := socket.DecodeAddr(as[:socket.AddrSize])
	rm, _ := socket.DecodeAddr(as[socket.AddrSize:])
	return newConn(l.n, r.Handle, l.network, lo, rm), nil
}

// Close implements net.Listener.Close.
func (l *Listener) Close() error {
	if l.closed.Swap(true) {
		return &net.OpError{Op: "close", Net: l.network, Err: net.ErrClosed}
	}
	close(l.closing)
	return l.n.close(l.h)
}

// Addr implements net.Listener.Addr.
func (l *Listener) Addr() net.Addr {
	return net.TCPAddrFromAddrPort(netip.AddrPortFrom(l.addr.Addr().Unmap(), l.addr.Port()))
}

// PacketConn is a UDP socket; it implements net.PacketConn and, when
// dialed (connected), net.Conn.
type PacketConn struct {
	sock
}

var (
	_ net.PacketConn = (*PacketConn)(nil)
	_ net.Conn       = (*PacketConn)(nil)
)

func newPacketConn(n *Net, h uint32, network string, l, r netip.AddrPort) *PacketConn {
	c := &PacketConn{}
	c.init(n, h, network, l, r)
	return c
}

// ReadFrom implements net.PacketConn.ReadFrom. A datagram longer than p is
// truncated, as on Linux.
func (c *PacketConn) ReadFrom(p []byte) (int, net.Addr, error) {
	n, a, err := c.readFrom(p)
	if err != nil {
		return n, nil, err
	}
	return n, c.addr(a), nil
}

func (c *PacketConn) readFrom(p []byte) (int, netip.AddrPort, error) {
	if c.closed.Load() {
		return 0, netip.AddrPort{}, c.opError("read", net.ErrClosed, nil)
	}
	if len(p) > socket.MaxPayload-socket.AddrSize {
		p = p[:socket.MaxPayload-socket.AddrSize]
	}
	arg := uint64(max(len(p), 1))
	var ab [socket.AddrSize]byte
	r, k, err := c.n.c.Do(socket.Header{Op: socket.OpRecv, Handle: c.h, Arg: arg}, nil, nil, ab[:], p, c.rd.wait())
	if err == nil {
		err = socket.Err(r.Status)
	}
	if err != nil {
		return 0, netip.AddrPort{}, c.opError("read", err, nil)
	}
	a, _ := socket.DecodeAddr(ab[:])
	return k, a, nil
}

// WriteTo implements net.PacketConn.WriteTo.
func (c *PacketConn) WriteTo(p []byte, addr net.Addr) (int, error) {
	ua, ok := addr.(*net.UDPAddr)
	if !ok {
		return 0, c.opError("write", &net.AddrError{Err: "not a UDP address", Addr: addr.String()}, addr)
	}
	return c.send(socket.OpSendTo, p, addrBytes(ua.AddrPort()), addr)
}

func (c *PacketConn) send(op uint8, p, prefix []byte, addr net.Addr) (int, error) {
	if c.closed.Load() {
		return 0, c.opError("write", net.ErrClosed, addr)
	}
	if len(p)+len(prefix) > socket.MaxPayload {
		return 0, c.opError("write", syscall.EMSGSIZE, addr)
	}
	r, _, err := c.n.c.Do(socket.Header{Op: op, Handle: c.h}, prefix, p, nil, nil, c.wd.wait())
	if err == nil {
		err = socket.Err(r.Status)
	}
	if err != nil {
		return 0, c.opError("write", err, addr)
	}
	return int(r.Arg), nil
}

// Read implements net.Conn.Read on a dialed socket.
func (c *PacketConn) Read(p []byte) (int, error) {
	n, _, err := c.readFrom(p)
	return n, err
}

// Write implements net.Conn.Write on a dialed socket.
func (c *PacketConn) Write(p []byte) (int, error) {
	return c.send(socket.OpSend, p, nil, c.RemoteAddr())
}
