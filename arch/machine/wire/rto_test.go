package wire

import (
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// SetMinRTO changes the peer's connected routes only, locked (Linux
// ignores an unlocked rto_min); it refuses a timeout under 1 ms and a
// namespace that does not exist.
func TestSetMinRTO(t *testing.T) {
	w := openWire(t, Config{})
	if err := SetMinRTO(w.Netns(), 500*time.Microsecond); err == nil {
		t.Error("rto_min 500µs accepted")
	}
	if err := SetMinRTO(w.Netns(), 5*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	ns, err := netns.GetFromName(w.Netns())
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Close()
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	routes, err := h.RouteList(nil, netlink.FAMILY_ALL)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range routes {
		if r.Dst != nil && r.Gw == nil && r.LinkIndex != 0 && !r.Dst.IP.IsLinkLocalUnicast() {
			if r.RtoMin != 5 || !r.RtoMinLock {
				t.Errorf("route %v: rto_min %d lock %v", r.Dst, r.RtoMin, r.RtoMinLock)
			}
			got = append(got, r.Dst.String())
		}
	}
	if strings.Join(got, " ") != "192.0.2.0/24" {
		t.Errorf("connected routes %v", got)
	}

	if err := SetMinRTO(uniqueName(), 5*time.Millisecond); err == nil || !strings.Contains(err.Error(), "namespace") {
		t.Errorf("a namespace that does not exist: %v", err)
	}
}
