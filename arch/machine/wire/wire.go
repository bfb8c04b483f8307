package wire

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"regexp"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// Config describes the wire and its peer.
type Config struct {
	// Netns names the network namespace to create; it must not exist
	// yet. It is bind-mounted at /run/netns/<Netns>, as iproute2 does, so
	// `ip netns exec <Netns> …` runs in the peer.
	Netns string
	// TAP is the interface name inside the namespace; "" means DefaultTAP.
	TAP string
	// Addrs are the peer's addresses on the TAP; nil means
	// DefaultAddr. IPv6 addresses are added without duplicate address
	// detection, so they are usable at once.
	Addrs []netip.Prefix
	// MTU of the TAP; 0 means 1500.
	MTU int
	// MAC of the peer's interface; nil lets the kernel pick one.
	MAC net.HardwareAddr
}

// Defaults.
const (
	DefaultTAP = "tap0"
	DefaultMTU = 1500
)

// DefaultAddr is the peer's address when Config.Addrs is empty: the
// first host of TEST-NET-1, so nothing on the wire can be mistaken for a
// real host.
var DefaultAddr = netip.MustParsePrefix("192.0.2.1/24")

// maxFrame bounds a frame read from the TAP: the largest the MTU allows
// plus Ethernet and VLAN headers, with room to spare.
const maxFrame = 65536

var validName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)

// Stats count frames through the wire.
type Stats struct {
	FramesIn, BytesIn   uint64 // from the peer (read from the TAP)
	FramesOut, BytesOut uint64 // to the peer (written to the TAP)
	SendErrors          uint64
}

// Wire is the machine's end of a TAP device whose other end is the
// ordinary network stack of a namespace created for it.
type Wire struct {
	cfg     Config
	tap     *os.File
	closeMu sync.Mutex
	closed  bool

	framesIn, bytesIn, framesOut, bytesOut, sendErrors atomic.Uint64
}

// Open creates the namespace and the TAP inside it, configures the peer
// side (MTU, MAC, addresses, link up, loopback up) through netlink, and
// returns the wire. On failure nothing is left behind.
func Open(cfg Config) (*Wire, error) {
	if cfg.TAP == "" {
		cfg.TAP = DefaultTAP
	}
	if cfg.MTU == 0 {
		cfg.MTU = DefaultMTU
	}
	if len(cfg.Addrs) == 0 {
		cfg.Addrs = []netip.Prefix{DefaultAddr}
	}
	switch {
	case !validName.MatchString(cfg.Netns):
		return nil, fmt.Errorf("wire: namespace name %q", cfg.Netns)
	case len(cfg.TAP) >= unix.IFNAMSIZ || !validName.MatchString(cfg.TAP):
		return nil, fmt.Errorf("wire: interface name %q", cfg.TAP)
	case cfg.MTU < 68 || cfg.MTU > 65521:
		return nil, fmt.Errorf("wire: MTU %d", cfg.MTU)
	case cfg.MAC != nil && (len(cfg.MAC) != 6 || cfg.MAC[0]&1 != 0):
		return nil, fmt.Errorf("wire: peer MAC %v is not a unicast Ethernet address", cfg.MAC)
	}
	for _, a := range cfg.Addrs {
		if !a.IsValid() {
			return nil, fmt.Errorf("wire: address %v", a)
		}
	}
	tap, ns, err := createInNetns(cfg.Netns, cfg.TAP)
	if err != nil {
		return nil, err
	}
	w := &Wire{cfg: cfg, tap: tap}
	err = configure(ns, cfg)
	ns.Close()
	if err != nil {
		w.Close()
		return nil, err
	}
	return w, nil
}

// configure sets the peer side up inside ns.
func configure(ns netns.NsHandle, cfg Config) error {
	h, err := netlink.NewHandleAt(ns, unix.NETLINK_ROUTE)
	if err != nil {
		return fmt.Errorf("wire: netlink in %s: %w", cfg.Netns, err)
	}
	defer h.Close()
	link, err := h.LinkByName(cfg.TAP)
	if err != nil {
		return fmt.Errorf("wire: %s in %s: %w", cfg.TAP, cfg.Netns, err)
	}
	if err := h.LinkSetMTU(link, cfg.MTU); err != nil {
		return fmt.Errorf("wire: MTU %d: %w", cfg.MTU, err)
	}
	if cfg.MAC != nil {
		if err := h.LinkSetHardwareAddr(link, cfg.MAC); err != nil {
			return fmt.Errorf("wire: MAC %v: %w", cfg.MAC, err)
		}
	}
	for _, a := range cfg.Addrs {
		addr := &netlink.Addr{IPNet: &net.IPNet{IP: a.Addr().AsSlice(), Mask: net.CIDRMask(a.Bits(), a.Addr().BitLen())}}
		if a.Addr().Is6() {
			addr.Flags = unix.IFA_F_NODAD
		}
		if err := h.AddrAdd(link, addr); err != nil {
			return fmt.Errorf("wire: address %v: %w", a, err)
		}
	}
	if err := h.LinkSetUp(link); err != nil {
		return fmt.Errorf("wire: %s up: %w", cfg.TAP, err)
	}
	lo, err := h.LinkByName("lo")
	if err == nil {
		err = h.LinkSetUp(lo)
	}
	if err != nil {
		return fmt.Errorf("wire: lo up: %w", err)
	}
	return nil
}

// Netns returns the peer namespace's name.
func (w *Wire) Netns() string { return w.cfg.Netns }

// TAP returns the interface name inside the namespace.
func (w *Wire) TAP() string { return w.cfg.TAP }

// Addrs returns the peer's addresses.
func (w *Wire) Addrs() []netip.Prefix { return append([]netip.Prefix(nil), w.cfg.Addrs...) }

// Send writes one Ethernet frame (no FCS) to the peer. It implements
// e1000.Wire.Send.
func (w *Wire) Send(frame []byte) error {
	if _, err := w.tap.Write(frame); err != nil {
		w.sendErrors.Add(1)
		return fmt.Errorf("wire: send %d bytes: %w", len(frame), err)
	}
	w.framesOut.Add(1)
	w.bytesOut.Add(uint64(len(frame)))
	return nil
}

// Receive reads one frame from the peer into buf, waiting in Go's poller
// (no thread is held). After Close it returns an error satisfying
// errors.Is(err, os.ErrClosed).
func (w *Wire) Receive(buf []byte) (int, error) {
	n, err := w.tap.Read(buf)
	if err != nil {
		return 0, err
	}
	w.framesIn.Add(1)
	w.bytesIn.Add(uint64(n))
	return n, nil
}

// SetReceiveDeadline bounds Receive: at t it returns an error satisfying
// errors.Is(err, os.ErrDeadlineExceeded). The zero time waits without
// limit.
func (w *Wire) SetReceiveDeadline(t time.Time) error { return w.tap.SetReadDeadline(t) }

// Run delivers every frame from the peer to deliver until Close, then
// returns nil. deliver must not keep the slice.
func (w *Wire) Run(deliver func(frame []byte)) error {
	buf := make([]byte, maxFrame)
	for {
		n, err := w.Receive(buf)
		if errors.Is(err, os.ErrClosed) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("wire: receive: %w", err)
		}
		deliver(buf[:n])
	}
}

// Stats returns the frame counters.
func (w *Wire) Stats() Stats {
	return Stats{
		FramesIn: w.framesIn.Load(), BytesIn: w.bytesIn.Load(),
		FramesOut: w.framesOut.Load(), BytesOut: w.bytesOut.Load(),
		SendErrors: w.sendErrors.Load(),
	}
}

// Close closes the TAP (the kernel deletes a non-persistent TAP with its
// last descriptor) and removes the namespace. It is idempotent; a Run in
// progress returns.
func (w *Wire) Close() error {
	w.closeMu.Lock()
	defer w.closeMu.Unlock()
	if w.closed {
		return nil
	}
	w.closed = true
	err := w.tap.Close()
	if derr := deleteNetns(w.cfg.Netns); derr != nil {
		err = errors.Join(err, derr)
	}
	return err
}
