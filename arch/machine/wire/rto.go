package wire

import (
	"fmt"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// SetMinRTO sets the minimum TCP retransmission timeout of the peer's
// connected routes (every route of the named namespace with a link and no
// gateway, IPv4 and IPv6): what `ip route change ... rto_min D` does. Linux
// defaults to 200 ms, and each lost retransmission doubles the wait, so a
// link that is gone for half a second costs a TCP sender up to another
// second; a fault-injection campaign, which takes the driver away several
// times a second, lowers it to keep every fault's recovery short. It is a
// property of the peer only; the system under test is not changed.
func SetMinRTO(name string, d time.Duration) error {
	if d < time.Millisecond {
		return fmt.Errorf("wire: rto_min %v: at least 1ms", d)
	}
	ns, err := netns.GetFromName(name)
	if err != nil {
		return fmt.Errorf("wire: namespace %s: %w", name, err)
	}
	defer ns.Close()
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		return fmt.Errorf("wire: netlink in %s: %w", name, err)
	}
	defer h.Close()
	changed := 0
	for _, family := range []int{netlink.FAMILY_V4, netlink.FAMILY_V6} {
		routes, err := h.RouteList(nil, family)
		if err != nil {
			return fmt.Errorf("wire: routes of %s: %w", name, err)
		}
		for _, r := range routes {
			if r.LinkIndex == 0 || r.Gw != nil || r.Dst == nil || r.Dst.IP.IsLinkLocalUnicast() {
				continue
			}
			r.RtoMin, r.RtoMinLock = int(d/time.Millisecond), true // Linux honours it only locked
			if err := h.RouteReplace(&r); err != nil {
				return fmt.Errorf("wire: rto_min on %v in %s: %w", r.Dst, name, err)
			}
			changed++
		}
	}
	if changed == 0 {
		return fmt.Errorf("wire: no connected route in %s", name)
	}
	return nil
}
