package system

import (
	"crypto/sha256"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"grailos/arch/machine/wire"
)

// inNetns runs fn inside the named network namespace.
var inNetns = wire.InNetns

// udpEcho answers every datagram on pc with itself until pc is closed.
func udpEcho(pc net.PacketConn) {
	buf := make([]byte, 2048)
	for {
		n, a, err := pc.ReadFrom(buf)
		if err != nil {
			return
		}
		pc.WriteTo(buf[:n], a)
	}
}

// The network stack server (gVisor's netstack) runs on the e1000 driver
// server; a client task on the native personality downloads a file with
// net/http from a Go HTTP server in the peer namespace, makes UDP round
// trips over IPv4 and IPv6, and sends the socket session bad input.
func TestNetStack(t *testing.T) {
	for _, b := range []string{"nic-e1000", "net", "nettest"} {
		if _, err := os.Stat(filepath.Join(binDir, b)); err != nil {
			t.Skipf("no %s binary: nic-e1000 is built from the Debian donor by `make build` (run with GRAIL_BIN=build/bin)", b)
		}
	}
	if _, err := exec.LookPath("ping"); err != nil {
		t.Skip("no ping command (Debian iputils-ping; `make` installs it)")
	}
	blob := make([]byte, 4<<20)
	rng := rand.NewChaCha8([32]byte{'g', 'r', 'a', 'i', 'l'})
	rng.Read(blob)
	want := sha256.Sum256(blob)

	s := boot(t, `name = "t-net"
[supervisor]
heartbeat = "500ms"
hang_timeout = "3s"
[[server]]
name = "e1000"
binary = "nic-e1000"
role = "driver"
args = ["-virtual-time"]
devices = ["nic0"]
provides = ["nic"]
[[server]]
name = "net"
uses = ["nic"]
provides = ["net"]
args = ["-addr", "192.0.2.2/24", "-addr6", "2001:db8::2/64", "-gw", "192.0.2.1"]
[[server]]
name = "nettest"
uses = ["net"]
restart = "temporary"
args = ["-peer", "192.0.2.1:8080", "-udp", "192.0.2.1:7007", "-udp6", "[2001:db8::1]:7007",
        "-http", "http://192.0.2.1:8080/blob", "-bad"]
`)
	ns := PeerNetns("t-net", "nic0")
	if out, err := exec.Command("ip", "netns", "exec", ns, "ip", "addr", "add", "2001:db8::1/64", "dev", "tap0", "nodad").CombinedOutput(); err != nil {
		t.Fatalf("adding the peer's IPv6 address: %v\n%s", err, out)
	}
	var closers []func() error
	t.Cleanup(func() {
		for _, c := range closers {
			c()
		}
	})
	err := inNetns(ns, func() error {
		ln, err := net.Listen("tcp", "192.0.2.1:8080")
		if err != nil {
			return err
		}
		srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != "/blob" {
				http.NotFound(w, r)
				return
			}
			w.Header().Set("Content-Length", fmt.Sprint(len(blob)))
			w.Write(blob)
		})}
		go srv.Serve(ln)
		closers = append(closers, srv.Close)
		for _, a := range []string{"192.0.2.1:7007", "[2001:db8::1]:7007"} {
			pc, err := net.ListenPacket("udp", a)
			if err != nil {
				return err
			}
			go udpEcho(pc)
			closers = append(closers, pc.Close)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("starting the peer's servers: %v", err)
	}

	if err := s.Kernel.WaitOutput("nettest", "DONE", 1, 2*time.Minute); err != nil {
		t.Fatalf("%v: %v", err, s.Kernel.Logs("nettest"))
	}
	var got []string
	for _, l := range s.Kernel.Logs("nettest") {
		if rest, ok := strings.CutPrefix(l, "CHECK "); ok {
			got = append(got, rest)
		}
	}
	wantChecks := []string{
		"peer ok",
		"udp ok",
		"udp-deadline ok",
		"udp6 ok",
		fmt.Sprintf("http %d %x", len(blob), want),
		"socket ok",
		"bogus-handle EBADF",
		"bad-kind EINVAL",
		"unknown-op EINVAL",
		"bad-address EINVAL",
		"short-address EINVAL",
		"bad-option ENOPROTOOPT",
		"bad-backlog EINVAL",
		"recv-zero EINVAL",
		"recv-unconnected ENOTCONN",
		"sendto-on-stream EINVAL",
		"length-mismatch EINVAL",
		"close ok",
		"send-closed EBADF",
		"close-closed EBADF",
		"alive ok",
		"close-alive ok",
		"refused 2 <nil>",
	}
	if d := cmp.Diff(wantChecks, got); d != "" {
		t.Errorf("nettest checks (-want +got):\n%s", d)
	}
	// netstack answers the peer's pings, IPv4 and IPv6 (ARP and NDP).
	for _, a := range []string{"192.0.2.2", "2001:db8::2"} {
		out, err := exec.Command("ip", "netns", "exec", ns, "ping", "-c", "3", "-W", "2", a).CombinedOutput()
		if err != nil || !strings.Contains(string(out), "3 packets transmitted, 3 received") {
			t.Errorf("ping %s from the peer namespace: %v\n%s", a, err, out)
		}
	}
}
