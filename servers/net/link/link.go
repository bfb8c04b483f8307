// Package link is the net server's link endpoint: a stack.LinkEndpoint for
// gVisor's netstack over a NIC session (servers/nic/session), written as
// gVisor writes one package per link endpoint.
//
// Receive: one goroutine drains the session's receive ring in batches of up
// to rxBatch frames (the first waits, the rest are taken while they are
// there) and hands each to the stack with DeliverNetworkPacket, in order.
// Transmit: WritePackets runs on the caller's goroutine (netstack's), copies
// each packet's views into one frame and queues it with Send — no goroutine
// hand-off per packet. Frames are Ethernet II; this package adds and parses
// the header itself (like fdbased), so no ethernet wrapper is needed.
//
// The NIC behind the endpoint can be replaced (SetNIC) when the NIC server
// restarts: the stack, its routes and its TCP connections stay; frames in
// the gap are lost and retransmitted by TCP. The receiver waits on the
// NIC at most idleCheck at a time, so it follows a SetNIC within that.
// (Replaying each connection's last ACK three times after a restart, to
// start the peer's fast retransmit, was tried and made stalls longer —
// likely because the connection negotiates SACK, where duplicate ACKs
// without SACK blocks do not count; the stall is the restart plus the
// peer's retransmission timer.)
//
// Lock order: txMu, then nothing. mu (dispatcher) is a leaf.
package link

import (
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"gvisor.dev/gvisor/pkg/buffer"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/header"
	"gvisor.dev/gvisor/pkg/tcpip/stack"

	"grailos/servers/nic/session"
)

// NIC is what the endpoint needs of a NIC session (*session.Client).
type NIC interface {
	Send(frame []byte, deadline time.Time) error
	Recv(buf []byte, deadline time.Time) (int, error)
	Status() (session.Status, error)
}

const (
	rxBatch   = 64
	sendWait  = 200 * time.Millisecond
	idleCheck = 25 * time.Millisecond // also how soon the receiver follows SetNIC
)

var _ stack.LinkEndpoint = (*Endpoint)(nil)

// Stats counts frames; read with the atomic loads.
type Stats struct {
	RxFrames, TxFrames, TxDropped, RxDropped atomic.Uint64
}

type nicBox struct{ NIC }

// Endpoint is a link endpoint over a NIC session.
type Endpoint struct {
	nic  atomic.Pointer[nicBox]
	mac  tcpip.LinkAddress
	mtu  atomic.Uint32
	swap chan struct{} // a new NIC was set: the receiver switches

	txMu  sync.Mutex
	frame []byte

	mu         sync.RWMutex
	dispatcher stack.NetworkDispatcher
	onClose    func()

	stop chan struct{} // closed to stop the current receiver (mu)
	wg   sync.WaitGroup

	// Stats are the endpoint's counters.
	Stats Stats
	// OnLink, if set, is called from the receiver when the NIC's link
	// state changes.
	OnLink func(up bool)
	// Announce, if set before SetNIC, lists our IPv4 addresses: once a new
	// NIC reports its link up, a gratuitous ARP for each tells the peers
	// where we are (as Linux's netdev_notify_peers does after a failover).
	Announce []netip.Addr
}

// New returns an endpoint over nic with the NIC's MAC and an IP MTU of mtu.
func New(nic NIC, mac [6]byte, mtu uint32) *Endpoint {
	e := &Endpoint{mac: tcpip.LinkAddress(mac[:]), frame: make([]byte, session.MaxFrame), swap: make(chan struct{}, 1)}
	e.nic.Store(&nicBox{nic})
	e.mtu.Store(mtu)
	return e
}

// SetNIC replaces the NIC session (after the NIC server restarted).
func (e *Endpoint) SetNIC(nic NIC) {
	e.txMu.Lock()
	e.nic.Store(&nicBox{nic})
	e.txMu.Unlock()
	if len(e.Announce) > 0 {
		go e.announce(nic)
	}
	select {
	case e.swap <- struct{}{}:
	default:
	}
}

// MTU implements stack.LinkEndpoint.MTU.
func (e *Endpoint) MTU() uint32 { return e.mtu.Load() }

// SetMTU implements stack.LinkEndpoint.SetMTU.
func (e *Endpoint) SetMTU(mtu uint32) { e.mtu.Store(mtu) }

// MaxHeaderLength implements stack.LinkEndpoint.MaxHeaderLength.
func (e *Endpoint) MaxHeaderLength() uint16 { return header.EthernetMinimumSize }

// LinkAddress implements stack.LinkEndpoint.LinkAddress.
func (e *Endpoint) LinkAddress() tcpip.LinkAddress { return e.mac }

// SetLinkAddress implements stack.LinkEndpoint.SetLinkAddress. The MAC is
// the NIC's; it cannot be changed from here.
func (e *Endpoint) SetLinkAddress(tcpip.LinkAddress) {}

// Capabilities implements stack.LinkEndpoint.Capabilities.
func (e *Endpoint) Capabilities() stack.LinkEndpointCapabilities {
	return stack.CapabilityResolutionRequired
}

// ARPHardwareType implements stack.LinkEndpoint.ARPHardwareType.
func (e *Endpoint) ARPHardwareType() header.ARPHardwareType { return header.ARPHardwareEther }

// AddHeader implements stack.LinkEndpoint.AddHeader.
func (e *Endpoint) AddHeader(pkt *stack.PacketBuffer) {
	eth := header.Ethernet(pkt.LinkHeader().Push(header.EthernetMinimumSize))
	eth.Encode(&header.EthernetFields{
		SrcAddr: pkt.EgressRoute.LocalLinkAddress,
		DstAddr: pkt.EgressRoute.RemoteLinkAddress,
		Type:    pkt.NetworkProtocolNumber,
	})
}

// ParseHeader implements stack.LinkEndpoint.ParseHeader.
func (e *Endpoint) ParseHeader(pkt *stack.PacketBuffer) bool {
	hdr, ok := pkt.LinkHeader().Consume(header.EthernetMinimumSize)
	if !ok {
		return false
	}
	pkt.NetworkProtocolNumber = header.Ethernet(hdr).Type()
	return true
}

// Attach implements stack.LinkEndpoint.Attach: it starts the receiver on
// attach and stops it when the NIC is removed (nil); Wait waits for that.
func (e *Endpoint) Attach(d stack.NetworkDispatcher) {
	e.mu.Lock()
	defer e.mu.Unlock()
	was := e.dispatcher
	e.dispatcher = d
	switch {
	case was == nil && d != nil:
		e.stop = make(chan struct{})
		e.wg.Add(1)
		go e.receive(e.stop)
	case was != nil && d == nil:
		close(e.stop)
	}
}

// IsAttached implements stack.LinkEndpoint.IsAttached.
func (e *Endpoint) IsAttached() bool {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return e.dispatcher != nil
}

// Wait implements stack.LinkEndpoint.Wait.
func (e *Endpoint) Wait() { e.wg.Wait() }

// Close implements stack.LinkEndpoint.Close: it stops the receiver.
func (e *Endpoint) Close() {
	e.mu.Lock()
	f := e.onClose
	e.onClose = nil
	e.mu.Unlock()
	if f != nil {
		f()
	}
	e.Attach(nil)
	e.wg.Wait()
}

// SetOnCloseAction implements stack.LinkEndpoint.SetOnCloseAction.
func (e *Endpoint) SetOnCloseAction(f func()) {
	e.mu.Lock()
	e.onClose = f
	e.mu.Unlock()
}

// WritePackets implements stack.LinkWriter.WritePackets. It runs on the
// caller's goroutine: each packet is copied into one frame and queued on
// the NIC session. A packet that finds no free buffer within sendWait is
// dropped (counted), as a full hardware queue would drop it.
func (e *Endpoint) WritePackets(pkts stack.PacketBufferList) (int, tcpip.Error) {
	e.txMu.Lock()
	defer e.txMu.Unlock()
	nic := e.nic.Load()
	sent := 0
	for _, pkt := range pkts.AsSlice() {
		n := 0
		for _, v := range pkt.AsSlices() {
			if n+len(v) > len(e.frame) {
				n = -1
				break
			}
			n += copy(e.frame[n:], v)
		}
		if n < header.EthernetMinimumSize {
			e.Stats.TxDropped.Add(1)
			continue
		}
		if err := nic.Send(e.frame[:n], time.Now().Add(sendWait)); err != nil {
			e.Stats.TxDropped.Add(1)
			continue
		}
		e.Stats.TxFrames.Add(1)
		sent++
	}
	if sent == 0 && pkts.Len() > 0 {
		return 0, &tcpip.ErrWouldBlock{}
	}
	return sent, nil
}

// receive is the receiver goroutine.
func (e *Endpoint) receive(stop chan struct{}) {
	defer e.wg.Done()
	bufs := make([][]byte, rxBatch)
	for i := range bufs {
		bufs[i] = make([]byte, 2048)
	}
	lens := make([]int, rxBatch)
	link := false
	for {
		select {
		case <-stop:
			return
		case <-e.swap:
		default:
		}
		nic := e.nic.Load()
		n, err := nic.Recv(bufs[0], time.Now().Add(idleCheck))
		if err != nil {
			if st, err := nic.Status(); err == nil && st.Link != link {
				link = st.Link
				if e.OnLink != nil {
					e.OnLink(link)
				}
			}
			continue
		}
		lens[0] = n
		k := 1
		for ; k < rxBatch; k++ {
			n, err := nic.Recv(bufs[k], time.Now())
			if err != nil {
				break
			}
			lens[k] = n
		}
		e.mu.RLock()
		d := e.dispatcher
		e.mu.RUnlock()
		for i := range k {
			if d == nil {
				e.Stats.RxDropped.Add(1)
				continue
			}
			e.deliver(d, bufs[i][:lens[i]])
		}
	}
}

// deliver hands one frame to the stack if it is addressed to us (or to a
// group) and long enough to hold an Ethernet header.
func (e *Endpoint) deliver(d stack.NetworkDispatcher, frame []byte) {
	if len(frame) < header.EthernetMinimumSize {
		e.Stats.RxDropped.Add(1)
		return
	}
	dst := header.Ethernet(frame).DestinationAddress()
	if dst != e.mac && dst[0]&1 == 0 {
		e.Stats.RxDropped.Add(1)
		return
	}
	pkt := stack.NewPacketBuffer(stack.PacketBufferOptions{Payload: buffer.MakeWithData(frame)})
	defer pkt.DecRef()
	if !e.ParseHeader(pkt) {
		e.Stats.RxDropped.Add(1)
		return
	}
	switch {
	case dst == header.EthernetBroadcastAddress:
		pkt.PktType = tcpip.PacketBroadcast
	case dst[0]&1 == 1:
		pkt.PktType = tcpip.PacketMulticast
	default:
		pkt.PktType = tcpip.PacketHost
	}
	e.Stats.RxFrames.Add(1)
	d.DeliverNetworkPacket(pkt.NetworkProtocolNumber, pkt)
}

// announce waits (up to 5 s) for nic's link and sends a gratuitous ARP
// for each Announce address, unless another NIC replaced it meanwhile.
func (e *Endpoint) announce(nic NIC) {
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
		if st, err := nic.Status(); err == nil && st.Link {
			break
		}
		if time.Now().After(deadline) {
			return
		}
	}
	e.txMu.Lock()
	defer e.txMu.Unlock()
	if e.nic.Load().NIC != nic {
		return
	}
	for _, a := range e.Announce {
		if f, ok := GratuitousARP(e.mac, a); ok && nic.Send(f, time.Now().Add(sendWait)) == nil {
			e.Stats.TxFrames.Add(1)
		}
	}
}

// GratuitousARP builds an ARP request from mac for its own IPv4 address
// ip, to the broadcast address.
func GratuitousARP(mac tcpip.LinkAddress, ip netip.Addr) ([]byte, bool) {
	if !ip.Is4() || len(mac) != header.EthernetAddressSize {
		return nil, false
	}
	f := make([]byte, header.EthernetMinimumSize+header.ARPSize)
	header.Ethernet(f).Encode(&header.EthernetFields{SrcAddr: mac, DstAddr: header.EthernetBroadcastAddress, Type: header.ARPProtocolNumber})
	a := header.ARP(f[header.EthernetMinimumSize:])
	a.SetIPv4OverEthernet()
	a.SetOp(header.ARPRequest)
	ip4 := ip.As4()
	copy(a.HardwareAddressSender(), mac)
	copy(a.ProtocolAddressSender(), ip4[:])
	copy(a.ProtocolAddressTarget(), ip4[:])
	return f, true
}
