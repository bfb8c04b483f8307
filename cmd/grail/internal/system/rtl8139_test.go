package system

import (
	"crypto/sha256"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"grailos/arch/machine/host"
	"grailos/arch/machine/wire"
	"grailos/servers/init/sysfile"
)

// rtl8139System is the second port under the net server: the unmodified
// Linux 8139too driver in its confined server drives the machine's
// RTL8139 (chosen in the system file: "nic0:rtl8139"), and the native
// program fetch downloads url twice (a pause between the rounds).
func rtl8139System(name, url string) string {
	return fmt.Sprintf(`name = %q
[supervisor]
heartbeat = "500ms"
hang_timeout = "3s"
intensity = 20
[[server]]
name = "rtl8139"
binary = "nic-rtl8139"
role = "driver"
args = ["-virtual-time", "-inject"]
devices = ["nic0:rtl8139"]
provides = ["nic"]
[[server]]
name = "net"
uses = ["nic"]
provides = ["net"]
args = ["-addr", "192.0.2.2/24", "-gw", "192.0.2.1"]
[[server]]
name = "fetch"
uses = ["net"]
restart = "temporary"
args = ["-url", %q, "-rounds", "2", "-pause", "2s", "-every", "20ms", "-wait", "30s"]
`, name, url)
}

// The 8139too port end to end: the peer pings the net server through
// the driver (3 of 3), a download of 8 MiB arrives with its checksum on
// one connection, and a second one of 24 MiB keeps its one connection
// and every byte while the rtl8139 server is killed (a third of the way
// in) and crashes on a segfault planted in the donor's transmit code (at
// two thirds): each time init restarts it, the machine resets the
// RTL8139 for the new instance, the net server re-attaches and replays
// its receive filter, and TCP retransmits what the gap lost.
func TestRTL8139NetStack(t *testing.T) {
	for _, b := range []string{"nic-rtl8139", "net", "fetch", "machine"} {
		if _, err := os.Stat(filepath.Join(binDir, b)); err != nil {
			t.Skipf("no %s binary: nic-rtl8139 is built from the Debian donor by scripts/build-nic.sh rtl8139 (run with GRAIL_BIN=build/bin)", b)
		}
	}
	if _, err := exec.LookPath("ping"); err != nil {
		t.Skip("no ping command (Debian iputils-ping; `make` installs it)")
	}
	sizes := [2]int64{8 << 20, 24 << 20}
	var want [2]string
	for i, n := range sizes {
		h := sha256.New()
		io.CopyN(h, chacha("rtl8139"), n)
		want[i] = fmt.Sprintf("%x", h.Sum(nil))
	}

	const name = "t-rtl8139"
	ns := PeerNetns(name, "nic0")
	t.Cleanup(func() {
		// Registered before boot's, so it runs after the system stopped
		// (cleanups run last-in first-out): the machine must have removed
		// the peer namespace, whatever the test's outcome.
		if _, err := os.Stat(wire.NetnsPath(ns)); err == nil {
			t.Errorf("peer namespace %s left behind", ns)
			wire.RemoveNetns(ns)
		}
	})
	s := boot(t, rtl8139System(name, "http://192.0.2.1:8080/blob"))
	var requests atomic.Int64
	var mu sync.Mutex
	var remotes []string // the connection of each request
	var srv *http.Server
	err := inNetns(ns, func() error {
		ln, err := net.Listen("tcp", "192.0.2.1:8080")
		if err != nil {
			return err
		}
		srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			remotes = append(remotes, r.RemoteAddr)
			mu.Unlock()
			n := sizes[min(requests.Add(1), 2)-1]
			w.Header().Set("Content-Length", strconv.FormatInt(n, 10))
			io.CopyN(w, chacha("rtl8139"), n)
		})}
		go srv.Serve(ln)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })

	// Round 1: the whole download, checksummed.
	waitResult := func(round int) []string {
		t.Helper()
		deadline := time.Now().Add(2 * time.Minute)
		for {
			_, res, e := fetchState(s.Kernel.Logs("fetch"), round)
			if e != "" {
				t.Fatalf("round %d: %s", round, e)
			}
			if res != nil {
				return res
			}
			if time.Now().After(deadline) {
				t.Fatalf("round %d: no result after 2 minutes: %v", round, s.Kernel.Logs("fetch"))
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	res := waitResult(1)
	if len(res) != 5 || res[0] != strconv.FormatInt(sizes[0], 10) || res[1] != want[0] || res[4] != "1" {
		t.Fatalf("round 1: %v, want %d bytes with SHA-256 %s on 1 connection", res, sizes[0], want[0])
	}
	t.Logf("8 MiB through the rtl8139 server: %s s", res[2])

	// The peer's pings, in the pause between the rounds.
	out, err := exec.Command("ip", "netns", "exec", ns, "ping", "-c", "3", "-i", "0.2", "-W", "2", "192.0.2.2").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "3 packets transmitted, 3 received") {
		t.Errorf("ping 192.0.2.2 from the peer namespace: %v\n%s", err, out)
	}

	// Round 2: the driver server killed a third of the way in, and at two
	// thirds a segfault planted in 8139too's own transmit code.
	var exits []string
	for i, fault := range []string{"kill", "segv"} {
		at := sizes[1] * int64(i+1) / 3
		awaitProgress(t, s, 2, at, "the "+fault)
		mark := s.Kernel.Events().Len()
		var err error
		if fault == "kill" {
			err = s.Kernel.Kill("rtl8139")
		} else {
			err = s.Kernel.Note("rtl8139", []byte("inject "+fault))
		}
		if err != nil {
			t.Fatal(err)
		}
		ev, _, err := s.Kernel.Events().WaitFor(mark, "rtl8139", "exited", 30*time.Second)
		if err != nil {
			t.Fatalf("%s: %v", fault, err)
		}
		exits = append(exits, ev.Detail)
		if _, _, err := s.Kernel.Events().WaitFor(mark, "rtl8139", "ready", 30*time.Second); err != nil {
			t.Fatalf("%s: %v", fault, err)
		}
		if err := s.Kernel.WaitOutput("net", "net: re-attached to rtl8139", i+1, 30*time.Second); err != nil {
			t.Fatal(err)
		}
		// The new instance gets the net server's receive filter again.
		if ev, _, err := s.Kernel.Events().WaitFor(mark, "rtl8139", "rx-mode", 30*time.Second); err != nil || ev.Detail != "promisc=false allmulti=true" {
			t.Fatalf("%s: receive filter not replayed: %v %v", fault, ev, err)
		}
	}
	res = waitResult(2)
	if len(res) != 5 || res[0] != strconv.FormatInt(sizes[1], 10) || res[1] != want[1] || res[4] != "1" {
		t.Fatalf("round 2: %v, want %d bytes with SHA-256 %s on 1 connection", res, sizes[1], want[1])
	}
	mu.Lock()
	if len(remotes) != 2 || remotes[0] == remotes[1] {
		t.Errorf("the peer served requests from %v, want 2 from two connections (one per round, the second across the restart)", remotes)
	}
	mu.Unlock()
	if ti := task(t, s, "rtl8139"); ti.Restarts != 2 {
		t.Errorf("rtl8139 restarted %d times, want 2", ti.Restarts)
	}
	// SIGKILL; the Go runtime's exit after a SIGSEGV in C code.
	if want := []string{"killed by signal 9", "exit status 2"}; !slices.Equal(exits, want) {
		t.Errorf("how the driver ended: %q, want %q", exits, want)
	}
	logs := strings.Join(s.Kernel.Logs("rtl8139"), "\n")
	for _, l := range []string{"8139too: 8139too Fast Ethernet driver 0.9.28",
		"eth0: RealTek RTL8139 at 0x", ", 52:54:00:12:34:56, IRQ 11", "eth0: link up, 100Mbps, full-duplex"} {
		if c := strings.Count(logs, l); c != 3 {
			t.Errorf("the driver logged %q %d times, want 3 (once per instance):\n%s", l, c, logs)
		}
	}
	if !strings.Contains(logs, "injected: segv (fires on the next transmit)") {
		t.Errorf("the driver did not confirm the segv fault:\n%s", logs)
	}
	t.Logf("24 MiB across a kill and a segfault of the rtl8139 server: %s s, longest stall %s ms", res[2], res[3])
}

// The models a system file may name are the models the machine hosts
// (init must not link the machine, so sysfile keeps its own list).
func TestSystemFileModelsAreMachineModels(t *testing.T) {
	if got, want := sysfile.Models(), host.ModelNames(); !slices.Equal(got, want) {
		t.Errorf("sysfile.Models() = %v, host.ModelNames() = %v", got, want)
	}
	if sysfile.DefaultModel != host.DefaultModel {
		t.Errorf("default model: system file %q, machine %q", sysfile.DefaultModel, host.DefaultModel)
	}
}
