package net

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// Pair is the baseline: two named Linux network namespaces joined by a
// veth pair, the client side at ClientAddr and the server at ServerAddr.
type Pair struct {
	Client, Server         string // namespace names
	ClientAddr, ServerAddr string
}

const pairPrefix = "grail-bn-"

// NewPair creates the namespaces and the veth pair. Pairs left by dead
// runs are removed first.
func NewPair() (p *Pair, err error) {
	sweepPairs()
	id := os.Getpid()
	p = &Pair{Client: fmt.Sprintf("%s%d-c", pairPrefix, id), Server: fmt.Sprintf("%s%d-s", pairPrefix, id),
		ClientAddr: "198.51.100.2", ServerAddr: "198.51.100.1"}
	defer func() {
		if err != nil {
			p.Close()
			p = nil
		}
	}()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	orig, err := netns.Get()
	if err != nil {
		return nil, err
	}
	defer orig.Close()
	handles := map[string]netns.NsHandle{}
	for _, name := range []string{p.Client, p.Server} {
		h, err := netns.NewNamed(name) // also moves this thread into it
		if err != nil {
			netns.Set(orig)
			return nil, fmt.Errorf("namespace %s: %w", name, err)
		}
		defer h.Close()
		handles[name] = h
	}
	if err := netns.Set(orig); err != nil {
		return nil, err
	}
	ifname := fmt.Sprintf("gbn%d", id%1000000)
	veth := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: ifname + "c", Namespace: netlink.NsFd(handles[p.Client])},
		PeerName: ifname + "s", PeerNamespace: netlink.NsFd(handles[p.Server])}
	if err := netlink.LinkAdd(veth); err != nil {
		return nil, fmt.Errorf("veth pair: %w", err)
	}
	for name, side := range map[string][2]string{p.Client: {ifname + "c", p.ClientAddr}, p.Server: {ifname + "s", p.ServerAddr}} {
		h, err := netlink.NewHandleAt(handles[name])
		if err != nil {
			return nil, err
		}
		defer h.Close()
		l, err := h.LinkByName(side[0])
		if err != nil {
			return nil, err
		}
		if err := h.AddrAdd(l, &netlink.Addr{IPNet: &net.IPNet{IP: net.ParseIP(side[1]), Mask: net.CIDRMask(24, 32)}}); err != nil {
			return nil, err
		}
		if err := h.LinkSetUp(l); err != nil {
			return nil, err
		}
		if lo, err := h.LinkByName("lo"); err == nil {
			h.LinkSetUp(lo)
		}
	}
	return p, nil
}

// Close removes both namespaces (and with them the veth pair).
func (p *Pair) Close() {
	for _, n := range []string{p.Client, p.Server} {
		netns.DeleteNamed(n)
	}
}

// sweepPairs removes the namespaces of runs whose process is gone.
func sweepPairs() {
	ents, _ := os.ReadDir("/run/netns")
	for _, e := range ents {
		rest, ok := strings.CutPrefix(e.Name(), pairPrefix)
		if !ok {
			continue
		}
		pid, err := strconv.Atoi(strings.TrimRight(rest, "-cs"))
		if err != nil {
			continue
		}
		if syscall.Kill(pid, 0) == syscall.ESRCH {
			netns.DeleteNamed(filepath.Base(e.Name()))
		}
	}
}
