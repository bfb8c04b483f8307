package native

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"sync/atomic"
	"syscall"
	"time"

	"grailos/kernel/sys"
	"grailos/servers/net/socket"
)

// Net is one socket session with the net server. Its methods are the
// entry points; the package-level Dial, Listen and ListenPacket use the
// session set with SetDefault (Open sets it).
type Net struct {
	c *socket.Client
}

var defaultNet atomic.Pointer[Net]

// Open opens a socket session on the task's `net` capability and makes it
// the default.
func Open(t *sys.Task) (*Net, error) {
	ep, err := t.Cap("net")
	if err != nil {
		return nil, err
	}
	r, err := t.Call(ep, []byte{socket.OpOpen}, nil, 30*time.Second)
	if err != nil {
		return nil, fmt.Errorf("native: opening the socket session: %w", err)
	}
	if len(r.Caps) != 1 || r.Caps[0].Handle == 0 {
		return nil, errors.New("native: socket session reply without memory")
	}
	region, err := t.MapMemory(r.Caps[0].Handle)
	t.Delete(r.Caps[0].Handle)
	if err != nil {
		return nil, err
	}
	c, err := socket.NewClient(region.Bytes())
	if err != nil {
		region.Close()
		return nil, err
	}
	n := New(c)
	SetDefault(n)
	return n, nil
}

// New wraps a session client.
func New(c *socket.Client) *Net { return &Net{c: c} }

// Client returns the session client underneath (for tests of the protocol).
func (n *Net) Client() *socket.Client { return n.c }

// SetDefault makes n the session of the package-level functions.
func SetDefault(n *Net) { defaultNet.Store(n) }

var errNoSession = errors.New("native: no socket session (call native.Open first)")

// Dial connects to address on the default session (see Net.DialContext).
func Dial(ctx context.Context, network, address string) (net.Conn, error) {
	n := defaultNet.Load()
	if n == nil {
		return nil, errNoSession
	}
	return n.DialContext(ctx, network, address)
}

// Listen listens on the default session (see Net.Listen).
func Listen(network, address string) (net.Listener, error) {
	n := defaultNet.Load()
	if n == nil {
		return nil, errNoSession
	}
	return n.Listen(network, address)
}

// ListenPacket opens a datagram socket on the default session.
func ListenPacket(network, address string) (net.PacketConn, error) {
	n := defaultNet.Load()
	if n == nil {
		return nil, errNoSession
	}
	return n.ListenPacket(network, address)
}

// kindOf maps a Go network name to a socket kind and the family it forces
// (0 = follow the address).
func kindOf(network string) (kind, family int, err error) {
	switch network {
	case "tcp":
		return socket.Stream, 0, nil
	case "tcp4":
		return socket.Stream, socket.IPv4, nil
	case "tcp6":
		return socket.Stream, socket.IPv6, nil
	case "udp":
		return socket.Datagram, 0, nil
	case "udp4":
		return socket.Datagram, socket.IPv4, nil
	case "udp6":
		return socket.Datagram, socket.IPv6, nil
	}
	return 0, 0, net.UnknownNetworkError(network)
}

// resolve parses a literal "host:port" (no DNS: the net server has no
// resolver yet). An empty host is the unspecified address.
func resolve(address string, family int) (netip.AddrPort, int, error) {
	host, port, err := net.SplitHostPort(address)
	if err != nil {
		return netip.AddrPort{}, 0, err
	}
	p, err := net.LookupPort("tcp", port)
	if err != nil {
		return netip.AddrPort{}, 0, err
	}
	var ip netip.Addr
	if host == "" {
		ip = netip.IPv6Unspecified()
		if family == socket.IPv4 {
			ip = netip.IPv4Unspecified()
		}
	} else if ip, err = netip.ParseAddr(host); err != nil {
		return netip.AddrPort{}, 0, &net.DNSError{Err: "no resolver in the native personality (use a literal address)", Name: host, IsNotFound: true}
	}
	ip = ip.WithZone("")
	if family == 0 {
		family = socket.IPv6
		if ip.Unmap().Is4() {
			family, ip = socket.IPv4, ip.Unmap()
		}
	}
	if family == socket.IPv4 && !ip.Unmap().Is4() {
		return netip.AddrPort{}, 0, &net.AddrError{Err: "not an IPv4 address", Addr: address}
	}
	return netip.AddrPortFrom(ip, uint16(p)), family, nil
}

// socketOf creates a socket.
func (n *Net) socketOf(kind, family int) (uint32, error) {
	h, _, err := n.c.Do(socket.Header{Op: socket.OpSocket, Arg: uint64(kind | family<<8)}, nil, nil, nil, nil, nil)
	if err != nil {
		return 0, err
	}
	return h.Handle, socket.Err(h.Status)
}

// simple runs a request that never waits and returns its status.
func (n *Net) simple(op uint8, h uint32, arg uint64, payload []byte, out []byte) (socket.Header, int, error) {
	r, k, err := n.c.Do(socket.Header{Op: op, Handle: h, Arg: arg}, payload, nil, nil, out, nil)
	if err != nil {
		return r, 0, err
	}
	return r, k, socket.Err(r.Status)
}

func (n *Net) close(h uint32) error {
	_, _, err := n.simple(socket.OpClose, h, 0, nil, nil)
	return err
}

func addrBytes(a netip.AddrPort) []byte {
	b := make([]byte, socket.AddrSize)
	socket.PutAddr(b, a)
	return b
}

// DialContext connects to a literal address: "tcp", "tcp4", "tcp6",
// "udp", "udp4", "udp6". ctx bounds the connect; it can be given to
// http.Transport as its DialContext.
func (n *Net) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	opErr := func(err error) error { return &net.OpError{Op: "dial", Net: network, Err: err} }
	kind, family, err := kindOf(network)
	if err != nil {
		return nil, opErr(err)
	}
	ap, family, err := resolve(address, family)
	if err != nil {
		return nil, opErr(err)
	}
	h, err := n.socketOf(kind, family)
	if err != nil {
		return nil, opErr(os.NewSyscallError("socket", err))
	}
	var as [2 * socket.AddrSize]byte
	r, _, err := n.c.Do(socket.Header{Op: socket.OpConnect, Handle: h}, addrBytes(ap), nil, as[:], nil, ctx.Done())
	if err == nil {
		err = socket.Err(r.Status)
	}
	if err != nil {
		n.close(h)
		if errors.Is(err, syscall.ECANCELED) {
			err = ctx.Err()
		} else {
			err = os.NewSyscallError("connect", err)
		}
		return nil, opErr(err)
	}
	l, _ := socket.DecodeAddr(as[:socket.AddrSize])
	rm, _ := socket.DecodeAddr(as[socket.AddrSize:])
	if kind == socket.Datagram {
		return newPacketConn(n, h, network, l, rm), nil
	}
	return newConn(n, h, network, l, rm), nil
}

// Listen opens a listening stream socket ("tcp", "tcp4", "tcp6"). An empty
// host listens on every address (dual-stack for "tcp").
func (n *Net) Listen(network, address string) (net.Listener, error) {
	opErr := func(err error) error { return &net.OpError{Op: "listen", Net: network, Err: err} }
	kind, family, err := kindOf(network)
	if err != nil || kind != socket.Stream {
		return nil, opErr(net.UnknownNetworkError(network))
	}
	ap, family, err := resolve(address, family)
	if err != nil {
		return nil, opErr(err)
	}
	h, local, err := n.bound(kind, family, ap)
	if err != nil {
		return nil, opErr(err)
	}
	if _, _, err := n.simple(socket.OpListen, h, 128, nil, nil); err != nil {
		n.close(h)
		return nil, opErr(os.NewSyscallError("listen", err))
	}
	return &Listener{n: n, h: h, network: network, addr: local, closing: make(chan struct{})}, nil
}

// bound creates a socket bound to ap.
func (n *Net) bound(kind, family int, ap netip.AddrPort) (uint32, netip.AddrPort, error) {
	h, err := n.socketOf(kind, family)
	if err != nil {
		return 0, netip.AddrPort{}, os.NewSyscallError("socket", err)
	}
	var out [socket.AddrSize]byte
	if _, _, err := n.simple(socket.OpBind, h, 0, addrBytes(ap), out[:]); err != nil {
		n.close(h)
		return 0, netip.AddrPort{}, os.NewSyscallError("bind", err)
	}
	local, _ := socket.DecodeAddr(out[:])
	return h, local, nil
}

// ListenPacket opens a datagram socket bound to address ("udp", "udp4",
// "udp6").
func (n *Net) ListenPacket(network, address string) (net.PacketConn, error) {
	opErr := func(err error) error { return &net.OpError{Op: "listen", Net: network, Err: err} }
	kind, family, err := kindOf(network)
	if err != nil || kind != socket.Datagram {
		return nil, opErr(net.UnknownNetworkError(network))
	}
	ap, family, err := resolve(address, family)
	if err != nil {
		return nil, opErr(err)
	}
	h, local, err := n.bound(kind, family, ap)
	if err != nil {
		return nil, opErr(err)
	}
	return newPacketConn(n, h, network, local, netip.AddrPort{}), nil
}
