package system

import (
	"crypto/sha256"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// recoverySystem is e1000 (taking fault notes) + net + fetch downloading
// from the peer, with a fast heartbeat so a hung driver is found quickly.
func recoverySystem(name, fetchArgs string) string {
	return fmt.Sprintf(`name = %q
[supervisor]
heartbeat = "200ms"
hang_timeout = "1s"
intensity = 20
period = "30s"
[[server]]
name = "e1000"
binary = "nic-e1000"
role = "driver"
args = ["-virtual-time", "-inject"]
devices = ["nic0"]
provides = ["nic"]
[[server]]
name = "net"
uses = ["nic"]
provides = ["net"]
args = ["-addr", "192.0.2.2/24", "-addr6", "2001:db8::2/64", "-gw", "192.0.2.1"]
hang_timeout = "10s" # the fast heartbeat is for the driver
[[server]]
name = "fetch"
uses = ["net"]
restart = "temporary"
args = [%s]
`, name, fetchArgs)
}

// servePeerStream serves size bytes of the ChaCha8 stream of seed at
// http://192.0.2.1:8080/ in the peer namespace and counts the requests
// (a connection that broke would show up as a second one: net/http does
// not resume a body).
func servePeerStream(t *testing.T, ns, seed string, size int) *int {
	requests := new(int)
	var srv *http.Server
	err := inNetns(ns, func() error {
		ln, err := net.Listen("tcp", "192.0.2.1:8080")
		if err != nil {
			return err
		}
		srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			*requests++
			w.Header().Set("Content-Length", strconv.Itoa(size))
			io.CopyN(w, chacha(seed), int64(size))
		})}
		go srv.Serve(ln)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return requests
}

// The driver server dies in every way the recovery path must handle —
// SIGKILL, a segfault inside the donor's transmit code, a hang inside it
// (caught by the heartbeat: the NIC server answers only once the driver's
// loop has taken a turn), and an exit — in the middle of one TCP download.
// Each time init restarts it, the net server re-attaches and replays the
// receive filter, and the download completes intact on its one connection.
func TestDriverRecoveryEveryKind(t *testing.T) {
	needNetBinaries(t, "fetch")
	const size = 40 << 20
	h := sha256.New()
	io.CopyN(h, chacha("recovery"), size)
	want := fmt.Sprintf("%x", h.Sum(nil))

	s := boot(t, recoverySystem("t-recover", `"-url", "http://192.0.2.1:8080/", "-every", "20ms", "-wait", "30s"`))
	requests := servePeerStream(t, PeerNetns("t-recover", "nic0"), "recovery", size)
	k := s.Kernel

	kinds := []string{"kill", "segv", "hang", "exit"}
	var exits, detected []string
	for i, kind := range kinds {
		at := int64(size) * int64(i+1) / int64(len(kinds)+1)
		awaitProgress(t, s, 1, at, fmt.Sprintf("fault %d (%s)", i+1, kind))
		mark := k.Events().Len()
		var err error
		if kind == "kill" {
			err = k.Kill("e1000")
		} else {
			err = k.Note("e1000", []byte("inject "+kind))
		}
		if err != nil {
			t.Fatal(err)
		}
		ev, _, err := k.Events().WaitFor(mark, "e1000", "exited", 30*time.Second)
		if err != nil {
			t.Fatalf("%s: %v", kind, err)
		}
		exits = append(exits, ev.Detail)
		if ev, _, err := k.Events().WaitFor(mark, "e1000", "crash-detected", 5*time.Second); err == nil {
			detected = append(detected, ev.Detail)
		}
		if _, _, err := k.Events().WaitFor(mark, "e1000", "ready", 30*time.Second); err != nil {
			t.Fatalf("%s: %v", kind, err)
		}
		// The new instance gets the net server's receive filter again.
		if ev, _, err := k.Events().WaitFor(mark, "e1000", "rx-mode", 30*time.Second); err != nil || ev.Detail != "promisc=false allmulti=true" {
			t.Fatalf("%s: receive filter not replayed: %v %v", kind, ev, err)
		}
	}
	if err := k.WaitOutput("fetch", "DONE", 1, 3*time.Minute); err != nil {
		t.Fatalf("%v: %v", err, k.Logs("fetch"))
	}
	_, res, e := fetchState(k.Logs("fetch"), 1)
	if e != "" {
		t.Fatal(e)
	}
	if len(res) < 5 || res[0] != strconv.Itoa(size) || res[1] != want || res[4] != "1" {
		t.Fatalf("fetch result %v, want %d bytes, SHA-256 %s, one connection", res, size, want)
	}
	if *requests != 1 {
		t.Errorf("the peer answered %d requests, want 1", *requests)
	}
	// Each fault ended the driver the way it should have: SIGKILL; the Go
	// runtime's exit after an unexpected SIGSEGV in C code (status 2); the
	// kill after the missed heartbeat; exit status 3.
	wantExits := []string{"killed by signal 9", "exit status 2", "killed by signal 9", "exit status 3"}
	if d := cmp.Diff(wantExits, exits); d != "" {
		t.Errorf("how the driver ended (-want +got):\n%s", d)
	}
	var hangs int
	for _, ev := range k.Events().Snapshot() {
		if ev.Subject == "e1000" && ev.Kind == "hang-detected" {
			hangs++
		}
	}
	if hangs != 1 {
		t.Errorf("%d hangs detected, want 1 (the injected one)", hangs)
	}
	if !strings.Contains(strings.Join(k.Logs("e1000"), "\n"), "injected: segv (fires on the next transmit)") {
		t.Errorf("the driver did not confirm the segv fault: %v", k.Logs("e1000"))
	}
	if testing.Verbose() {
		for _, l := range k.Logs("e1000") {
			if strings.Contains(l, "SIG") || strings.Contains(l, "inject") {
				t.Log(l)
			}
		}
	}
	t.Logf("exits %v, crash detections %v; download %s s, longest stall %s ms", exits, detected, res[2], res[3])
}

// When the driver keeps crashing past its restart intensity, init gives up
// on it cleanly: the net server reports link down and aborts what waits on
// the network, so the client's download ends with an error instead of
// hanging, its next connection fails at once, and ps says why the driver
// is down.
func TestDriverGiveUpLinkDown(t *testing.T) {
	needNetBinaries(t, "fetch")
	sys := strings.Replace(recoverySystem("t-giveup", `"-url", "http://192.0.2.1:8080/", "-rounds", "2", "-every", "20ms", "-wait", "30s"`),
		"intensity = 20", "intensity = 1\non_exhausted = \"give_up\"", 1)
	s := boot(t, sys)
	servePeerStream(t, PeerNetns("t-giveup", "nic0"), "giveup", 1<<30)
	k := s.Kernel
	awaitProgress(t, s, 1, 1<<20, "the first kill")
	mark := k.Events().Len()
	if err := k.Kill("e1000"); err != nil { // restart 1: within the intensity
		t.Fatal(err)
	}
	if _, _, err := k.Events().WaitFor(mark, "e1000", "ready", 30*time.Second); err != nil {
		t.Fatal(err)
	}
	mark = k.Events().Len()
	if err := k.Note("e1000", []byte("inject segv")); err != nil { // restart 2: past it
		t.Fatal(err)
	}
	if _, _, err := k.Events().WaitFor(mark, "e1000", "gave-up", 30*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := k.WaitOutput("net", "net: link down: e1000 is down for good; connections aborted, new ones fail", 1, 30*time.Second); err != nil {
		t.Fatalf("%v: %v", err, k.Logs("net"))
	}
	if err := k.WaitOutput("fetch", "DONE", 1, time.Minute); err != nil {
		t.Fatalf("%v: %v", err, k.Logs("fetch"))
	}
	_, res1, err1 := fetchState(k.Logs("fetch"), 1)
	_, res2, err2 := fetchState(k.Logs("fetch"), 2)
	if res1 != nil || !strings.Contains(err1, "software caused connection abort") {
		t.Errorf("download 1: result %v, error %q; want ECONNABORTED", res1, err1)
	}
	if res2 != nil || !strings.Contains(err2, "network is unreachable") {
		t.Errorf("download 2: result %v, error %q; want network unreachable", res2, err2)
	}
	var state string
	for _, ti := range k.Tasks() {
		if ti.Name == "e1000" {
			state = ti.State
		}
	}
	if !strings.HasPrefix(state, "gave-up: ") {
		t.Errorf("ps shows e1000 as %q, want gave-up and the reason", state)
	}
	t.Logf("e1000: %s; fetch: %q, %q", state, err1, err2)
}

// With spare = true the kernel keeps the driver's next instance started,
// placed in its cgroup and confined, waiting in its hello: a restart
// promotes it (no process start on the restart path), and a new spare is
// prepared once the new instance is ready. The download stays intact.
func TestDriverRestartFromWarmSpare(t *testing.T) {
	needNetBinaries(t, "fetch")
	const size = 24 << 20
	h := sha256.New()
	io.CopyN(h, chacha("spare"), size)
	want := fmt.Sprintf("%x", h.Sum(nil))
	sys := strings.Replace(recoverySystem("t-spare", `"-url", "http://192.0.2.1:8080/", "-every", "20ms", "-wait", "30s"`),
		`provides = ["nic"]`, "provides = [\"nic\"]\nspare = true", 1)
	s := boot(t, sys)
	servePeerStream(t, PeerNetns("t-spare", "nic0"), "spare", size)
	k := s.Kernel
	from := 0
	for i := 1; i <= 2; i++ {
		// The spare for this kill: prepared once the previous instance
		// was ready.
		spareEv, _, err := k.Events().WaitFor(from, "e1000", "spare-ready", 30*time.Second)
		if err != nil {
			t.Fatalf("kill %d: no spare: %v", i, err)
		}
		awaitProgress(t, s, 1, int64(size)*int64(i)/3, fmt.Sprintf("kill %d", i))
		mark := k.Events().Len()
		from = mark
		if err := k.Kill("e1000"); err != nil {
			t.Fatal(err)
		}
		used, _, err := k.Events().WaitFor(mark, "e1000", "spare-used", 30*time.Second)
		if err != nil {
			t.Fatalf("kill %d: the spare was not used: %v", i, err)
		}
		if used.Detail != spareEv.Detail {
			t.Errorf("kill %d: used %q, but the spare was %q", i, used.Detail, spareEv.Detail)
		}
		conf, _, err := k.Events().WaitFor(mark, "e1000", "confined", 30*time.Second)
		if err != nil || !strings.HasSuffix(conf.Detail, "(warm spare)") {
			t.Fatalf("kill %d: confined %v %v", i, conf, err)
		}
		if _, _, err := k.Events().WaitFor(mark, "e1000", "ready", 30*time.Second); err != nil {
			t.Fatal(err)
		}
	}
	if err := k.WaitOutput("fetch", "DONE", 1, 3*time.Minute); err != nil {
		t.Fatalf("%v: %v", err, k.Logs("fetch"))
	}
	if _, res, e := fetchState(k.Logs("fetch"), 1); e != "" || len(res) < 5 || res[1] != want || res[4] != "1" {
		t.Fatalf("fetch: %v %v, want SHA-256 %s on one connection", res, e, want)
	}
}
