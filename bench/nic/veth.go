package nic

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"runtime"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// Veth is the baseline path: a veth pair between a fresh namespace holding
// the peer address (Linux's own stack answers) and a raw packet socket on
// the other end, which sends and receives the same frames the GrailOS path
// does.
type Veth struct {
	fd      int
	peerNS  netns.NsHandle
	link    netlink.Link
	MAC     [6]byte
	name    string
	cleanup []func()
}

// NewVeth creates the pair: our end stays in the caller's namespace (no
// address: we speak raw frames), the other end moves into a new namespace
// with peer as its address.
func NewVeth(tag string, peer netip.Prefix) (v *Veth, err error) {
	v = &Veth{name: fmt.Sprintf("gb%s%d", tag, os.Getpid()%100000)}
	defer func() {
		if err != nil {
			v.Close()
		}
	}()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	orig, err := netns.Get()
	if err != nil {
		return nil, err
	}
	defer orig.Close()
	if v.peerNS, err = netns.New(); err != nil {
		return nil, err
	}
	v.cleanup = append(v.cleanup, func() { v.peerNS.Close() })
	if err := netns.Set(orig); err != nil {
		return nil, err
	}
	la := netlink.NewLinkAttrs()
	la.Name = v.name + "a"
	veth := &netlink.Veth{LinkAttrs: la, PeerName: v.name + "b"}
	if err := netlink.LinkAdd(veth); err != nil {
		return nil, fmt.Errorf("veth: %w", err)
	}
	v.cleanup = append(v.cleanup, func() { netlink.LinkDel(veth) })
	peerLink, err := netlink.LinkByName(v.name + "b")
	if err != nil {
		return nil, err
	}
	if err := netlink.LinkSetNsFd(peerLink, int(v.peerNS)); err != nil {
		return nil, err
	}
	h, err := netlink.NewHandleAt(v.peerNS)
	if err != nil {
		return nil, err
	}
	defer h.Close()
	pl, err := h.LinkByName(v.name + "b")
	if err != nil {
		return nil, err
	}
	addr := &netlink.Addr{IPNet: &net.IPNet{IP: peer.Addr().AsSlice(), Mask: net.CIDRMask(peer.Bits(), 32)}}
	if err := h.AddrAdd(pl, addr); err != nil {
		return nil, err
	}
	if err := h.LinkSetUp(pl); err != nil {
		return nil, err
	}
	if lo, err := h.LinkByName("lo"); err == nil {
		h.LinkSetUp(lo)
	}
	if v.link, err = netlink.LinkByName(v.name + "a"); err != nil {
		return nil, err
	}
	if err := netlink.LinkSetUp(v.link); err != nil {
		return nil, err
	}
	copy(v.MAC[:], v.link.Attrs().HardwareAddr)
	if v.fd, err = unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, int(htons(unix.ETH_P_ALL))); err != nil {
		return nil, err
	}
	v.cleanup = append(v.cleanup, func() { unix.Close(v.fd) })
	sa := &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ALL), Ifindex: v.link.Attrs().Index}
	if err := unix.Bind(v.fd, sa); err != nil {
		return nil, err
	}
	// Give the link a moment to report carrier; frames before that are lost.
	for i := 0; i < 100; i++ {
		l, err := netlink.LinkByIndex(v.link.Attrs().Index)
		if err == nil && l.Attrs().OperState == netlink.OperUp {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	return v, nil
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// Send implements Link.Send.
func (v *Veth) Send(frame []byte) error {
	_, err := unix.Write(v.fd, frame)
	return err
}

// Recv implements Link.Recv: frames we sent ourselves are skipped.
func (v *Veth) Recv(buf []byte, deadline time.Time) (int, error) {
	for {
		d := time.Until(deadline)
		if d <= 0 {
			return 0, os.ErrDeadlineExceeded
		}
		tv := unix.NsecToTimeval(d.Nanoseconds())
		unix.SetsockoptTimeval(v.fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv)
		n, from, err := unix.Recvfrom(v.fd, buf, 0)
		if err != nil {
			if err == unix.EAGAIN || err == unix.EINTR {
				continue
			}
			return 0, err
		}
		if ll, ok := from.(*unix.SockaddrLinklayer); ok && ll.Pkttype == unix.PACKET_OUTGOING {
			continue
		}
		return n, nil
	}
}

// Close removes the pair and the namespace.
func (v *Veth) Close() {
	for i := len(v.cleanup) - 1; i >= 0; i-- {
		v.cleanup[i]()
	}
	v.cleanup = nil
}
