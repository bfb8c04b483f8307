package wire

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"grailos/arch/machine/internal/frames"
)

var (
	ourMAC  = [6]byte{0x52, 0x54, 0x00, 0x12, 0x34, 0x56}
	ourIP   = netip.MustParseAddr("192.0.2.2")
	peerIP  = netip.MustParseAddr("192.0.2.1")
	peerMAC = net.HardwareAddr{0x02, 0x00, 0x00, 0x00, 0x02, 0x01}
	nameSeq atomic.Int32
)

// needTAP skips the test, saying why, unless it can create namespaces
// and TAP devices.
func needTAP(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to create network namespaces and TAP devices")
	}
	if _, err := os.Stat("/dev/net/tun"); err != nil {
		t.Skipf("no /dev/net/tun: %v", err)
	}
}

// uniqueName is a namespace name no other test (or test run) uses.
func uniqueName() string {
	return fmt.Sprintf("grail-wt-%d-%d", os.Getpid(), nameSeq.Add(1))
}

// openWire opens a wire in a fresh namespace; the wire is closed and
// the namespace removed at cleanup, whatever the test's outcome.
func openWire(t *testing.T, cfg Config) *Wire {
	t.Helper()
	needTAP(t)
	if cfg.Netns == "" {
		cfg.Netns = uniqueName()
	}
	w, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		w.Close()
		if err := RemoveNetns(cfg.Netns); err != nil {
			t.Error(err)
		}
	})
	return w
}

func TestOpenAndClose(t *testing.T) {
	v6 := netip.MustParsePrefix("2001:db8::1/64")
	w := openWire(t, Config{MAC: peerMAC, MTU: 1400, Addrs: []netip.Prefix{DefaultAddr, v6}})
	if _, err := os.Stat(NetnsPath(w.Netns())); err != nil {
		t.Fatalf("namespace not mounted: %v", err)
	}
	ns, err := netns.GetFromName(w.Netns())
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Close() // keeps the namespace alive to look inside after Close
	h, err := netlink.NewHandleAt(ns, unix.NETLINK_ROUTE)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	link, err := h.LinkByName(DefaultTAP)
	if err != nil {
		t.Fatal(err)
	}
	a := link.Attrs()
	if a.MTU != 1400 || !bytes.Equal(a.HardwareAddr, peerMAC) || a.Flags&net.FlagUp == 0 || link.Type() != "tuntap" {
		t.Errorf("tap: type %s MTU %d MAC %v flags %v", link.Type(), a.MTU, a.HardwareAddr, a.Flags)
	}
	addrs, err := h.AddrList(link, netlink.FAMILY_ALL)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, ad := range addrs {
		if !ad.IP.IsLinkLocalUnicast() {
			got = append(got, ad.IPNet.String())
		}
	}
	if want := []string{"192.0.2.1/24", "2001:db8::1/64"}; strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("addresses %v, want %v", got, want)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(NetnsPath(w.Netns())); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("namespace file after Close: %v", err)
	}
	var nf netlink.LinkNotFoundError
	if _, err := h.LinkByName(DefaultTAP); !errors.As(err, &nf) {
		t.Errorf("TAP after Close: %v, want link not found", err)
	}
	if err := w.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestOpenRejects(t *testing.T) {
	needTAP(t)
	w := openWire(t, Config{})
	tests := []struct {
		name string
		cfg  Config
	}{
		{"existing namespace", Config{Netns: w.Netns()}},
		{"empty name", Config{}},
		{"slash in name", Config{Netns: "a/b"}},
		{"long TAP name", Config{Netns: uniqueName(), TAP: "a-very-long-ifname"}},
		{"group MAC", Config{Netns: uniqueName(), MAC: net.HardwareAddr{1, 0, 0, 0, 0, 1}}},
		{"tiny MTU", Config{Netns: uniqueName(), MTU: 10}},
	}
	for _, tc := range tests {
		if w2, err := Open(tc.cfg); err == nil {
			w2.Close()
			t.Errorf("%s: Open succeeded", tc.name)
		}
		if _, err := os.Stat(NetnsPath(w.Netns())); err != nil {
			t.Fatalf("%s: the existing namespace was disturbed: %v", tc.name, err)
		}
		if tc.cfg.Netns != "" && tc.cfg.Netns != w.Netns() {
			if _, err := os.Stat(NetnsPath(tc.cfg.Netns)); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("%s: left %s behind", tc.name, NetnsPath(tc.cfg.Netns))
			}
		}
	}
}

// await sends f (if any) and reads frames until match accepts one,
// answering the peer's ARP and echo requests for ourIP meanwhile. The
// deadline is a failure detector only.
func await(t *testing.T, w *Wire, f []byte, match func([]byte) bool) []byte {
	t.Helper()
	if f != nil {
		if err := w.Send(f); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.SetReceiveDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	me := frames.Responder{MAC: ourMAC, IP: ourIP}
	buf := make([]byte, maxFrame)
	for {
		n, err := w.Receive(buf)
		if err != nil {
			t.Fatalf("waiting for a reply: %v", err)
		}
		if match(buf[:n]) {
			return append([]byte(nil), buf[:n]...)
		}
		if r, ok := me.Answer(buf[:n]); ok {
			w.Send(r)
		}
	}
}

// TestARPAndEcho: the peer's kernel answers our ARP request for its
// address and our ICMP echo request.
func TestARPAndEcho(t *testing.T) {
	w := openWire(t, Config{MAC: peerMAC})
	var pm [6]byte
	copy(pm[:], peerMAC)
	reply := await(t, w, frames.WhoHas(ourMAC, ourIP, peerIP), func(f []byte) bool {
		a, ok := frames.ParseARP(f)
		return ok && a.Op == frames.ARPReply
	})
	want := frames.ARP{Dst: ourMAC, Src: pm, Op: frames.ARPReply, SenderMAC: pm, SenderIP: peerIP,
		TargetMAC: ourMAC, TargetIP: ourIP}.Frame()
	if !bytes.Equal(reply, want) {
		t.Fatalf("ARP reply\n%x\nwant\n%x", reply, want)
	}
	payload := []byte("GrailOS wire test payload")
	req := frames.Echo{Dst: pm, Src: ourMAC, SrcIP: ourIP, DstIP: peerIP, Type: frames.EchoRequest, ID: 0x4242, Seq: 1, Payload: payload}
	got := await(t, w, req.Frame(), func(f []byte) bool {
		e, ok := frames.ParseEcho(f)
		return ok && e.Type == frames.EchoReply
	})
	e, _ := frames.ParseEcho(got)
	if e.Src != pm || e.Dst != ourMAC || e.SrcIP != peerIP || e.DstIP != ourIP || e.ID != 0x4242 || e.Seq != 1 ||
		!bytes.Equal(e.Payload, payload) {
		t.Errorf("echo reply %+v", e)
	}
	if s := w.Stats(); s.FramesOut != 2 || s.BytesOut != uint64(42+len(req.Frame())) || s.SendErrors != 0 {
		t.Errorf("stats %+v", s)
	}
}

// TestPeerPings: `ip netns exec <ns> ping` reaches our side, which
// answers ARP and ICMP for 192.0.2.2.
func TestPeerPings(t *testing.T) {
	w := openWire(t, Config{})
	ping, err := exec.LookPath("ping")
	if err != nil {
		t.Skip("needs ping (iputils-ping)")
	}
	var echoes atomic.Int32
	done := make(chan error, 1)
	go func() {
		me := frames.Responder{MAC: ourMAC, IP: ourIP}
		done <- w.Run(func(f []byte) {
			if r, ok := me.Answer(f); ok {
				if e, ok := frames.ParseEcho(r); ok && e.Type == frames.EchoReply {
					echoes.Add(1)
				}
				w.Send(r)
			}
		})
	}()
	out, err := exec.Command("ip", "netns", "exec", w.Netns(), ping, "-c1", "-W2", ourIP.String()).CombinedOutput()
	if err != nil {
		t.Fatalf("ping: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "1 packets transmitted, 1 received") {
		t.Errorf("ping output:\n%s", out)
	}
	w.Close()
	if err := <-done; err != nil {
		t.Errorf("Run: %v", err)
	}
	if echoes.Load() != 1 {
		t.Errorf("answered %d echo requests, want 1", echoes.Load())
	}
	t.Logf("%s", out)
}
