package netserver

import (
	"fmt"
	"net/netip"
	"sync"

	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/header"
	"gvisor.dev/gvisor/pkg/tcpip/network/arp"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv6"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
	"gvisor.dev/gvisor/pkg/tcpip/transport/icmp"
	"gvisor.dev/gvisor/pkg/tcpip/transport/tcp"
	"gvisor.dev/gvisor/pkg/tcpip/transport/udp"

	"grailos/servers/net/socket"
)

// NICID is the id of the one NIC.
const NICID tcpip.NICID = 1

// MaxSessions bounds the open sessions; opening one more closes the oldest
// (a client that died never says goodbye).
const MaxSessions = 8

// Config is the server's addressing.
type Config struct {
	Addrs    []netip.Prefix // IPv4 and IPv6 addresses with their on-link prefixes
	Gateways []netip.Addr   // default gateways (one per family at most)
}

// Server is the network stack and its socket sessions.
type Server struct {
	Stack *stack.Stack

	mu       sync.Mutex
	sessions []*Session
}

// New builds a stack with IPv4, IPv6, ARP, TCP, UDP and ICMP on ep.
func New(ep stack.LinkEndpoint, cfg Config) (*Server, error) {
	s := stack.New(stack.Options{
		NetworkProtocols:   []stack.NetworkProtocolFactory{ipv4.NewProtocol, ipv6.NewProtocol, arp.NewProtocol},
		TransportProtocols: []stack.TransportProtocolFactory{tcp.NewProtocol, udp.NewProtocol, icmp.NewProtocol4, icmp.NewProtocol6},
		HandleLocal:        true,
	})
	// Bulk transfers want windows larger than the defaults.
	sack := tcpip.TCPSACKEnabled(true)
	s.SetTransportProtocolOption(tcp.ProtocolNumber, &sack)
	rcv := tcpip.TCPReceiveBufferSizeRangeOption{Min: 4 << 10, Default: 1 << 20, Max: 4 << 20}
	s.SetTransportProtocolOption(tcp.ProtocolNumber, &rcv)
	snd := tcpip.TCPSendBufferSizeRangeOption{Min: 4 << 10, Default: 1 << 20, Max: 4 << 20}
	s.SetTransportProtocolOption(tcp.ProtocolNumber, &snd)
	if err := s.CreateNIC(NICID, ep); err != nil {
		return nil, fmt.Errorf("creating the NIC: %v", err)
	}
	var routes []tcpip.Route
	for _, p := range cfg.Addrs {
		proto := ipv4.ProtocolNumber
		if p.Addr().Is6() {
			proto = ipv6.ProtocolNumber
		}
		pa := tcpip.ProtocolAddress{Protocol: proto, AddressWithPrefix: tcpip.AddressWithPrefix{
			Address: tcpip.AddrFromSlice(p.Addr().AsSlice()), PrefixLen: p.Bits()}}
		if err := s.AddProtocolAddress(NICID, pa, stack.AddressProperties{}); err != nil {
			return nil, fmt.Errorf("adding %v: %v", p, err)
		}
		routes = append(routes, tcpip.Route{Destination: pa.AddressWithPrefix.Subnet(), NIC: NICID})
	}
	for _, g := range cfg.Gateways {
		dst := header.IPv4EmptySubnet
		if g.Is6() {
			dst = header.IPv6EmptySubnet
		}
		routes = append(routes, tcpip.Route{Destination: dst, Gateway: tcpip.AddrFromSlice(g.AsSlice()), NIC: NICID})
	}
	s.SetRouteTable(routes)
	return &Server{Stack: s}, nil
}

// OpenSession starts serving a session laid out in mem (a Memory object of
// socket.Bytes() the caller created and will hand to the client).
func (s *Server) OpenSession(mem []byte) (*Session, error) {
	sm, err := socket.NewServerMem(mem)
	if err != nil {
		return nil, err
	}
	ss := newSession(s.Stack, sm)
	s.mu.Lock()
	var evict *Session
	live := s.sessions[:0]
	for _, o := range s.sessions {
		if !o.Closed() {
			live = append(live, o)
		}
	}
	s.sessions = append(live, ss)
	if len(s.sessions) > MaxSessions {
		evict, s.sessions = s.sessions[0], s.sessions[1:]
	}
	s.mu.Unlock()
	if evict != nil {
		evict.Close()
	}
	go ss.serve()
	return ss, nil
}

// LinkGone is called when the NIC is gone for good (init gave up on the
// NIC server): the interface is disabled, so new connections and
// datagrams fail at once (network unreachable), and every transport
// endpoint is aborted, so a client blocked in a read or write gets an
// error (connection aborted) instead of waiting for TCP to time out.
func (s *Server) LinkGone() {
	s.Stack.DisableNIC(NICID)
	for _, ep := range s.Stack.RegisteredEndpoints() {
		ep.Abort()
	}
}

// LinkBack re-enables the interface after LinkGone (a NIC server came
// back).
func (s *Server) LinkBack() { s.Stack.EnableNIC(NICID) }
