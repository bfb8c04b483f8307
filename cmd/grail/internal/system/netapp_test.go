package system

import (
	"crypto/sha256"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// netSystem is e1000 + net + one native program (temporary) with args.
func netSystem(name, program, args string) string {
	return fmt.Sprintf(`name = %q
[supervisor]
heartbeat = "500ms"
hang_timeout = "3s"
intensity = 20
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
name = %q
uses = ["net"]
restart = "temporary"
args = [%s]
`, name, program, args)
}

func needNetBinaries(t *testing.T, extra ...string) {
	t.Helper()
	for _, b := range append([]string{"nic-e1000", "net"}, extra...) {
		if _, err := os.Stat(filepath.Join(binDir, b)); err != nil {
			t.Skipf("no %s binary: nic-e1000 is built from the Debian donor by `make build` (run with GRAIL_BIN=build/bin)", b)
		}
	}
}

// chacha is the byte stream of a seed, as the httpd program serves it.
func chacha(seed string) io.Reader {
	var key [32]byte
	copy(key[:], seed)
	return rand.NewChaCha8(key)
}

// fetchState reads fetch's lines: the bytes of the last PROGRESS line of
// round r, its RESULT fields, and any ERROR line.
func fetchState(lines []string, r int) (progress int64, result []string, errLine string) {
	rs := strconv.Itoa(r)
	for _, l := range lines {
		f := strings.Fields(l)
		if len(f) < 2 || f[1] != rs {
			continue
		}
		switch f[0] {
		case "PROGRESS":
			if len(f) == 4 {
				progress, _ = strconv.ParseInt(f[2], 10, 64)
			}
		case "RESULT":
			result = f[2:]
		case "ERROR":
			errLine = l
		}
	}
	return
}

// awaitProgress waits until round r of task fetch has downloaded at least
// at bytes; the test fails if the round ends first or stalls for timeout.
func awaitProgress(t *testing.T, s *System, r int, at int64, what string) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		p, res, e := fetchState(s.Kernel.Logs("fetch"), r)
		if e != "" || res != nil {
			t.Fatalf("round %d ended before %s: %v %v", r, what, e, res)
		}
		if p >= at {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("round %d at %d bytes after 2 minutes, waiting for %s", r, p, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// A TCP download keeps its connection while the NIC server under the net
// server is killed twice: the net server re-attaches to each new instance,
// TCP retransmits what was lost in the gap, and every byte arrives intact.
func TestNetConnectionSurvivesNICRestart(t *testing.T) {
	needNetBinaries(t, "fetch")
	const size = 24 << 20
	h := sha256.New()
	io.CopyN(h, chacha("survive"), size)
	want := fmt.Sprintf("%x", h.Sum(nil))

	s := boot(t, netSystem("t-netkeep", "fetch", `"-url", "http://192.0.2.1:8080/blob", "-every", "20ms"`))
	ns := PeerNetns("t-netkeep", "nic0")
	conns := 0
	var srv *http.Server
	err := inNetns(ns, func() error {
		ln, err := net.Listen("tcp", "192.0.2.1:8080")
		if err != nil {
			return err
		}
		srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", strconv.Itoa(size))
			io.CopyN(w, chacha("survive"), size)
		}), ConnState: func(_ net.Conn, st http.ConnState) {
			if st == http.StateNew {
				conns++
			}
		}}
		go srv.Serve(ln)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })

	for i, at := range []int64{size / 4, size / 2} {
		awaitProgress(t, s, 1, at, fmt.Sprintf("kill %d", i+1))
		mark := s.Kernel.Events().Len()
		if err := s.Kernel.Kill("e1000"); err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.Kernel.Events().WaitFor(mark, "e1000", "ready", 30*time.Second); err != nil {
			t.Fatal(err)
		}
		if err := s.Kernel.WaitOutput("net", "net: re-attached to e1000", i+1, 30*time.Second); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Kernel.WaitOutput("fetch", "DONE", 1, 3*time.Minute); err != nil {
		t.Fatalf("%v: %v", err, s.Kernel.Logs("fetch"))
	}
	_, res, e := fetchState(s.Kernel.Logs("fetch"), 1)
	if e != "" {
		t.Fatal(e)
	}
	if len(res) < 2 || res[0] != strconv.Itoa(size) || res[1] != want {
		t.Fatalf("fetch result %v, want %d bytes with SHA-256 %s", res, size, want)
	}
	if conns != 1 {
		t.Errorf("the peer saw %d connections, want 1 (the same connection across both restarts)", conns)
	}
	t.Logf("24 MiB across two NIC-server restarts: %s s, longest stall %s ms", res[2], res[3])
}

// Real clients in the peer namespace — Debian's curl and ab — load a
// net/http server that runs on the native personality.
func TestNetInboundHTTP(t *testing.T) {
	needNetBinaries(t, "httpd")
	for _, c := range []string{"curl", "ab"} {
		if _, err := exec.LookPath(c); err != nil {
			t.Skipf("no %s (Debian curl / apache2-utils; `make` installs them)", c)
		}
	}
	s := boot(t, netSystem("t-netin", "httpd", `"-listen", ":8080"`))
	if err := s.Kernel.WaitOutput("httpd", "LISTENING 0.0.0.0:8080", 1, time.Minute); err != nil {
		t.Fatalf("%v: %v", err, s.Kernel.Logs("httpd"))
	}
	ns := PeerNetns("t-netin", "nic0")
	peer := func(args ...string) (string, error) {
		out, err := exec.Command("ip", append([]string{"netns", "exec", ns}, args...)...).CombinedOutput()
		return string(out), err
	}
	// IPv6 first, started by the peer: its neighbour solicitation goes to
	// our solicited-node multicast group, which the net server's receive
	// filter (all-multicast, set through the driver) lets in.
	if out, err := peer("ip", "addr", "add", "2001:db8::1/64", "dev", "tap0", "nodad"); err != nil {
		t.Fatalf("adding the peer's IPv6 address: %v\n%s", err, out)
	}
	out, err := peer("curl", "-sS", "-g", "--max-time", "30", "http://[2001:db8::2]:8080/hello")
	if err != nil || out != "hello from GrailOS\n" {
		t.Fatalf("curl over IPv6 /hello: %v %q", err, out)
	}
	out, err = peer("curl", "-sS", "--max-time", "30", "http://192.0.2.2:8080/hello")
	if err != nil || out != "hello from GrailOS\n" {
		t.Fatalf("curl /hello: %v %q", err, out)
	}
	const size = 8 << 20
	h := sha256.New()
	io.CopyN(h, chacha("inbound"), size)
	want := fmt.Sprintf("%x", h.Sum(nil))
	out, err = peer("sh", "-c", fmt.Sprintf("curl -sS --max-time 60 'http://192.0.2.2:8080/blob?size=%d&seed=inbound' | sha256sum", size))
	if got, _, _ := strings.Cut(out, " "); err != nil || got != want {
		t.Fatalf("curl /blob: %v %q, want SHA-256 %s", err, out, want)
	}
	out, err = peer("curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "30", "http://192.0.2.2:8080/blob?size=-1")
	if err != nil || out != "400" {
		t.Errorf("curl /blob?size=-1: %v %q, want 400", err, out)
	}
	out, err = peer("ab", "-q", "-n", "500", "-c", "8", "-k", "http://192.0.2.2:8080/hello")
	if err != nil {
		t.Fatalf("ab: %v\n%s", err, out)
	}
	for _, w := range []string{"Complete requests:      500", "Failed requests:        0", "Non-2xx responses", "Keep-Alive requests:    500"} {
		has := strings.Contains(out, w)
		if w == "Non-2xx responses" {
			has = !has
		}
		if !has {
			t.Errorf("ab output lacks %q:\n%s", w, out)
		}
	}
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "Requests per second") {
			t.Log(strings.TrimSpace(l))
		}
	}
}
