package link

import (
	"context"
	"io"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/adapters/gonet"
	"gvisor.dev/gvisor/pkg/tcpip/header"
	"gvisor.dev/gvisor/pkg/tcpip/network/arp"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv6"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
	"gvisor.dev/gvisor/pkg/tcpip/transport/tcp"

	"grailos/kernel/ring"
	"grailos/servers/nic/session"
)

// wire is one direction of a fake NIC pair: frames copied through a channel.
type wire chan []byte

// fakeNIC is a NIC session stand-in: what it sends arrives at its peer.
type fakeNIC struct {
	in, out wire
	sent    atomic.Int64
	// idle, if set, gets a token whenever the receiver waits on an empty
	// wire at the top of its loop, i.e. after delivering what it took.
	idle chan struct{}
}

func (f *fakeNIC) Send(frame []byte, deadline time.Time) error {
	f.sent.Add(1)
	select {
	case f.out <- append([]byte(nil), frame...):
		return nil
	case <-time.After(time.Until(deadline)):
		return ring.ErrTimeout
	}
}

func (f *fakeNIC) Recv(buf []byte, deadline time.Time) (int, error) {
	select {
	case fr := <-f.in:
		return copy(buf, fr), nil
	default:
	}
	if f.idle != nil && time.Until(deadline) > idleCheck/2 {
		select {
		case f.idle <- struct{}{}:
		default:
		}
	}
	select {
	case fr := <-f.in:
		return copy(buf, fr), nil
	case <-time.After(time.Until(deadline)):
		return 0, ring.ErrTimeout
	}
}

func (f *fakeNIC) Status() (session.Status, error) { return session.Status{Link: true, MTU: 1500}, nil }

func newStack(t *testing.T, nic NIC, mac byte, addr string) (*stack.Stack, *Endpoint) {
	ep := New(nic, [6]byte{0x52, 0x54, 0, 0, 0, mac}, 1500)
	s := stack.New(stack.Options{
		NetworkProtocols:   []stack.NetworkProtocolFactory{ipv4.NewProtocol, ipv6.NewProtocol, arp.NewProtocol},
		TransportProtocols: []stack.TransportProtocolFactory{tcp.NewProtocol},
	})
	if err := s.CreateNIC(1, ep); err != nil {
		t.Fatal(err)
	}
	p := netip.MustParsePrefix(addr)
	pa := tcpip.ProtocolAddress{Protocol: ipv4.ProtocolNumber, AddressWithPrefix: tcpip.AddressWithPrefix{
		Address: tcpip.AddrFromSlice(p.Addr().AsSlice()), PrefixLen: p.Bits()}}
	if err := s.AddProtocolAddress(1, pa, stack.AddressProperties{}); err != nil {
		t.Fatal(err)
	}
	s.SetRouteTable([]tcpip.Route{{Destination: pa.AddressWithPrefix.Subnet(), NIC: 1}})
	t.Cleanup(func() { s.Close(); s.Wait() })
	return s, ep
}

// Two stacks joined by two endpoints resolve each other with ARP and move
// a TCP stream; the frame counters match what crossed.
func TestTwoStacks(t *testing.T) {
	ab, ba := make(wire, 512), make(wire, 512)
	na, nb := &fakeNIC{in: ba, out: ab}, &fakeNIC{in: ab, out: ba}
	sa, ea := newStack(t, na, 1, "192.0.2.1/24")
	sb, _ := newStack(t, nb, 2, "192.0.2.2/24")
	ln, err := gonet.ListenTCP(sb, tcpip.FullAddress{NIC: 1, Addr: tcpip.AddrFrom4([4]byte{192, 0, 2, 2}), Port: 80}, ipv4.ProtocolNumber)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	data := make([]byte, 1<<20)
	for i := range data {
		data[i] = byte(i * 7)
	}
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		c.Write(data)
		c.Close()
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := gonet.DialContextTCP(ctx, sa, tcpip.FullAddress{NIC: 1, Addr: tcpip.AddrFrom4([4]byte{192, 0, 2, 2}), Port: 80}, ipv4.ProtocolNumber)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(c)
	c.Close()
	if err != nil || string(got) != string(data) {
		t.Fatalf("read %d bytes (%v), want %d", len(got), err, len(data))
	}
	if rx, tx := ea.Stats.RxFrames.Load(), ea.Stats.TxFrames.Load(); rx < 1<<20/1460 || tx != uint64(na.sent.Load()) {
		t.Errorf("endpoint A: %d frames in, %d out (%d sent)", rx, tx, na.sent.Load())
	}
	if d := ea.Stats.TxDropped.Load(); d != 0 {
		t.Errorf("%d frames dropped", d)
	}
}

// Frames for another MAC, and runts, are dropped and counted.
func TestDeliverFilters(t *testing.T) {
	in := make(wire, 4)
	nic := &fakeNIC{in: in, out: make(wire, 4), idle: make(chan struct{})}
	_, ep := newStack(t, nic, 1, "192.0.2.1/24")
	<-nic.idle
	other := make([]byte, 60)
	copy(other, []byte{0x52, 0x54, 0, 0, 0, 9})
	in <- other
	in <- []byte{1, 2, 3}
	<-nic.idle // both taken and handled
	if n := ep.Stats.RxDropped.Load(); n != 2 {
		t.Errorf("dropped %d, want 2", n)
	}
	if n := ep.Stats.RxFrames.Load(); n != 0 {
		t.Errorf("%d frames delivered, want 0", n)
	}
}

// After SetNIC, once the new NIC's link is up, each announced IPv4 address
// goes out as a gratuitous ARP (sender = target = the address, broadcast).
func TestSetNICAnnounces(t *testing.T) {
	old := &fakeNIC{in: make(wire, 16), out: make(wire, 16)}
	mac := [6]byte{2, 0, 0, 0, 0, 1}
	e := New(old, mac, 1500)
	e.Announce = []netip.Addr{netip.MustParseAddr("192.0.2.2"), netip.MustParseAddr("198.51.100.7")}
	fresh := &fakeNIC{in: make(wire, 16), out: make(wire, 16)}
	e.SetNIC(fresh)
	for _, want := range e.Announce {
		var f []byte
		select {
		case f = <-fresh.out:
		case <-time.After(10 * time.Second):
			t.Fatalf("no gratuitous ARP for %v", want)
		}
		eth := header.Ethernet(f)
		a := header.ARP(f[header.EthernetMinimumSize:])
		ip := want.As4()
		if eth.Type() != header.ARPProtocolNumber || eth.DestinationAddress() != header.EthernetBroadcastAddress ||
			!a.IsValid() || a.Op() != header.ARPRequest || string(a.HardwareAddressSender()) != string(mac[:]) ||
			string(a.ProtocolAddressSender()) != string(ip[:]) || string(a.ProtocolAddressTarget()) != string(ip[:]) {
			t.Errorf("announcement for %v: %x", want, f)
		}
	}
	if _, ok := GratuitousARP(tcpip.LinkAddress(mac[:]), netip.MustParseAddr("2001:db8::2")); ok {
		t.Error("a gratuitous ARP for an IPv6 address")
	}
}
