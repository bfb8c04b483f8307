package netserver

import (
	"bytes"
	"net/netip"
	"syscall"

	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv6"
	"gvisor.dev/gvisor/pkg/tcpip/transport/tcp"
	"gvisor.dev/gvisor/pkg/tcpip/transport/udp"
	"gvisor.dev/gvisor/pkg/waiter"

	"grailos/servers/net/socket"
)

// open creates a socket (OpSocket).
func (s *Session) open(o *op) {
	kind, family, err := socket.DecodeSocketArg(o.hdr.Arg)
	if err != nil || o.hdr.Len != 0 {
		s.answer(o, syscall.EINVAL, 0, 0)
		return
	}
	if len(s.socks) >= socket.MaxSockets {
		s.answer(o, syscall.EMFILE, 0, 0)
		return
	}
	trans, netp := tcp.ProtocolNumber, ipv4.ProtocolNumber
	if kind == socket.Datagram {
		trans = udp.ProtocolNumber
	}
	if family == socket.IPv6 {
		netp = ipv6.ProtocolNumber
	}
	wq := &waiter.Queue{}
	ep, terr := s.st.NewEndpoint(trans, netp, wq)
	if terr != nil {
		s.answer(o, errno(terr), 0, 0)
		return
	}
	sk := s.add(kind, family, ep, wq)
	s.answer(o, 0, sk.h, 0)
}

// add registers a new socket with its wait-queue callback.
func (s *Session) add(kind, family int, ep tcpip.Endpoint, wq *waiter.Queue) *sock {
	s.next++
	sk := &sock{h: s.next, kind: kind, family: family, ep: ep, wq: wq}
	sk.entry = waiter.NewFunctionEntry(waiter.EventIn|waiter.EventOut|waiter.EventHUp|waiter.EventErr,
		func(waiter.EventMask) { s.markReady(sk) })
	wq.EventRegister(&sk.entry)
	s.socks[sk.h] = sk
	s.m.SetSockets(len(s.socks))
	return sk
}

// fullAddr converts a client address for sk: the unspecified address means
// "any", IPv4 on an IPv6 socket becomes v4-mapped.
func fullAddr(sk *sock, ap netip.AddrPort) (tcpip.FullAddress, syscall.Errno) {
	fa := tcpip.FullAddress{NIC: 0, Port: ap.Port()}
	ip := ap.Addr()
	if ip.IsUnspecified() {
		return fa, 0
	}
	switch {
	case sk.family == socket.IPv4 && ip.Unmap().Is4():
		fa.Addr = tcpip.AddrFromSlice(ip.Unmap().AsSlice())
	case sk.family == socket.IPv6:
		fa.Addr = tcpip.AddrFromSlice(netip.AddrFrom16(ip.As16()).AsSlice())
	default:
		return fa, syscall.EAFNOSUPPORT
	}
	return fa, 0
}

// wire encodes a netstack address for a reply.
func wire(fa tcpip.FullAddress) [socket.AddrSize]byte {
	var b [socket.AddrSize]byte
	ip, _ := netip.AddrFromSlice(fa.Addr.AsSlice())
	if !ip.IsValid() {
		ip = netip.IPv4Unspecified()
	}
	socket.PutAddr(b[:], netip.AddrPortFrom(ip, fa.Port))
	return b
}

// addrs returns sk's local and remote address, encoded.
func addrs(sk *sock) []byte {
	l, _ := sk.ep.GetLocalAddress()
	r, _ := sk.ep.GetRemoteAddress()
	lb, rb := wire(l), wire(r)
	return append(lb[:], rb[:]...)
}

// dispatch serves a request on an existing socket (mu held).
func (s *Session) dispatch(sk *sock, o *op) {
	h := o.hdr
	switch h.Op {
	case socket.OpBind, socket.OpConnect:
		ap, err := socket.DecodeAddr(o.payload)
		if err != nil || h.Len != socket.AddrSize {
			s.answer(o, syscall.EINVAL, sk.h, 0)
			return
		}
		fa, en := fullAddr(sk, ap)
		if en != 0 {
			s.answer(o, en, sk.h, 0)
			return
		}
		if h.Op == socket.OpBind {
			if err := sk.ep.Bind(fa); err != nil {
				s.answer(o, errno(err), sk.h, 0)
				return
			}
			s.answer(o, 0, sk.h, 0, addrs(sk)[:socket.AddrSize])
			return
		}
		o.to = fa
		s.wait(sk, o, &sk.writes)
	case socket.OpListen:
		if sk.kind != socket.Stream || h.Arg < 1 || h.Arg > socket.MaxBacklog || h.Len != 0 {
			s.answer(o, syscall.EINVAL, sk.h, 0)
			return
		}
		s.answer(o, errno(sk.ep.Listen(int(h.Arg))), sk.h, 0)
	case socket.OpAccept:
		if sk.kind != socket.Stream || h.Len != 0 {
			s.answer(o, syscall.EINVAL, sk.h, 0)
			return
		}
		s.wait(sk, o, &sk.reads)
	case socket.OpRecv:
		if h.Arg == 0 || h.Len != 0 {
			s.answer(o, syscall.EINVAL, sk.h, 0)
			return
		}
		s.wait(sk, o, &sk.reads)
	case socket.OpSend:
		s.wait(sk, o, &sk.writes)
	case socket.OpSendTo:
		ap, err := socket.DecodeAddr(o.payload)
		if err != nil || sk.kind != socket.Datagram {
			s.answer(o, syscall.EINVAL, sk.h, 0)
			return
		}
		fa, en := fullAddr(sk, ap)
		if en != 0 {
			s.answer(o, en, sk.h, 0)
			return
		}
		o.to = fa
		o.payload = o.payload[socket.AddrSize:]
		s.wait(sk, o, &sk.writes)
	case socket.OpShutdown:
		var f tcpip.ShutdownFlags
		if h.Arg&socket.ShutRead != 0 {
			f |= tcpip.ShutdownRead
		}
		if h.Arg&socket.ShutWrite != 0 {
			f |= tcpip.ShutdownWrite
		}
		if f == 0 || h.Arg&^3 != 0 {
			s.answer(o, syscall.EINVAL, sk.h, 0)
			return
		}
		s.answer(o, errno(sk.ep.Shutdown(f)), sk.h, 0)
	case socket.OpClose:
		for _, w := range append(sk.reads, sk.writes...) {
			s.answer(w, syscall.ECANCELED, sk.h, uint64(w.sent))
		}
		sk.reads, sk.writes = nil, nil
		sk.wq.EventUnregister(&sk.entry)
		sk.ep.Close()
		delete(s.socks, sk.h)
		s.m.SetSockets(len(s.socks))
		s.answer(o, 0, sk.h, 0)
	case socket.OpSetOpt:
		s.answer(o, s.setOpt(sk, h.Arg), sk.h, 0)
	case socket.OpAddr:
		s.answer(o, 0, sk.h, 0, addrs(sk))
	default:
		s.answer(o, syscall.EINVAL, sk.h, 0)
	}
}

func (s *Session) setOpt(sk *sock, arg uint64) syscall.Errno {
	opt, v := socket.DecodeOptArg(arg)
	so := sk.ep.SocketOptions()
	switch opt {
	case socket.OptNoDelay:
		so.SetDelayOption(v == 0)
	case socket.OptSendBuf:
		so.SetSendBufferSize(int64(v), true)
	case socket.OptRecvBuf:
		so.SetReceiveBufferSize(int64(v), true)
	case socket.OptKeepAlive:
		so.SetKeepAlive(v != 0)
	case socket.OptReuseAddr:
		so.SetReuseAddress(v != 0)
	default:
		return syscall.ENOPROTOOPT
	}
	return 0
}

// wait tries o now if nothing waits ahead of it in q, and queues it
// otherwise or if it cannot complete yet.
func (s *Session) wait(sk *sock, o *op, q *[]*op) {
	if len(*q) == 0 && s.try(sk, o) {
		return
	}
	*q = append(*q, o)
}

// try attempts a waiting request; it reports whether o was answered.
func (s *Session) try(sk *sock, o *op) bool {
	switch o.hdr.Op {
	case socket.OpAccept:
		var peer tcpip.FullAddress
		nep, nwq, err := sk.ep.Accept(&peer)
		if _, ok := err.(*tcpip.ErrWouldBlock); ok {
			return false
		}
		if err != nil {
			s.answer(o, errno(err), sk.h, 0)
			return true
		}
		if len(s.socks) >= socket.MaxSockets {
			nep.Close()
			s.answer(o, syscall.EMFILE, sk.h, 0)
			return true
		}
		n := s.add(socket.Stream, sk.family, nep, nwq)
		s.answer(o, 0, n.h, 0, addrs(n))
		return true
	case socket.OpConnect:
		if !o.started {
			err := sk.ep.Connect(o.to)
			if _, ok := err.(*tcpip.ErrConnectStarted); ok {
				o.started = true
				return false
			}
			s.answer(o, errno(err), sk.h, 0, addrs(sk))
			return true
		}
		if sk.ep.Readiness(waiter.EventOut|waiter.EventErr|waiter.EventHUp) == 0 {
			return false
		}
		s.answer(o, errno(sk.ep.LastError()), sk.h, 0, addrs(sk))
		return true
	case socket.OpSend, socket.OpSendTo:
		return s.trySend(sk, o)
	case socket.OpRecv:
		return s.tryRecv(sk, o)
	}
	s.answer(o, syscall.EINVAL, sk.h, 0)
	return true
}

func (s *Session) trySend(sk *sock, o *op) bool {
	opts := tcpip.WriteOptions{}
	if o.hdr.Op == socket.OpSendTo {
		opts.To = &o.to
	}
	for {
		n, err := sk.ep.Write(bytes.NewReader(o.payload[o.sent:]), opts)
		o.sent += int(n)
		if _, ok := err.(*tcpip.ErrWouldBlock); ok {
			return false
		}
		if err != nil {
			s.answer(o, errno(err), sk.h, uint64(o.sent))
			return true
		}
		if sk.kind == socket.Datagram || o.sent >= len(o.payload) {
			s.answer(o, 0, sk.h, uint64(o.sent))
			return true
		}
		if n == 0 {
			return false
		}
	}
}

func (s *Session) tryRecv(sk *sock, o *op) bool {
	return s.answerFill(o, func(p []byte) (int, syscall.Errno, uint32, uint64, bool) {
		off := 0
		if sk.kind == socket.Datagram {
			off = socket.AddrSize
		}
		max := min(int(min(o.hdr.Arg, uint64(socket.MaxPayload))), len(p)-off)
		w := tcpip.SliceWriter(p[off : off+max])
		res, err := sk.ep.Read(&w, tcpip.ReadOptions{NeedRemoteAddr: sk.kind == socket.Datagram})
		switch err.(type) {
		case nil:
		case *tcpip.ErrWouldBlock:
			return 0, 0, 0, 0, false
		case *tcpip.ErrClosedForReceive:
			return 0, 0, sk.h, 0, true // end of stream
		default:
			return 0, errno(err), sk.h, 0, true
		}
		if sk.kind == socket.Datagram {
			a := wire(res.RemoteAddr)
			copy(p, a[:])
			return off + res.Count, 0, sk.h, uint64(res.Total), true
		}
		return res.Count, 0, sk.h, uint64(res.Count), true
	})
}
