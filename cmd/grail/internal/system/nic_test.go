package system

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The unmodified Linux e1000 driver, in its confined server, drives the
// machine's 82540EM; a NIC-session client ARPs and pings the peer
// namespace's Linux stack, and the peer's ping reaches the client.
func TestE1000EndToEnd(t *testing.T) {
	s := bootE1000(t, "t-e1000")
	if err := s.Kernel.WaitOutput("nicprobe", "DONE", 1, wait); err != nil {
		t.Fatalf("%v: %v", err, s.Kernel.Logs("nicprobe"))
	}
	var checks []string
	for _, l := range s.Kernel.Logs("nicprobe") {
		if strings.HasPrefix(l, "CHECK ") {
			checks = append(checks, l)
		}
	}
	want := regexp.MustCompile(`^CHECK link up 525400123456\nCHECK arp-reply [0-9a-f]{12}\nCHECK icmp-reply 1\nCHECK icmp-reply 2\nCHECK icmp-reply 3$`)
	if got := strings.Join(checks, "\n"); !want.MatchString(got) {
		t.Errorf("nicprobe:\n%s", got)
	}
	logs := strings.Join(s.Kernel.Logs("e1000"), "\n")
	for _, l := range []string{"e1000: Intel(R) PRO/1000 Network Driver", "eth0: (PCI:33MHz:32-bit) 52:54:00:12:34:56",
		"e1000: eth0 NIC Link is Up 1000 Mbps Full Duplex"} {
		if !strings.Contains(logs, l) {
			t.Errorf("the driver did not log %q:\n%s", l, logs)
		}
	}
	out, err := exec.Command("ip", "netns", "exec", PeerNetns("t-e1000", "nic0"), "ping", "-c", "3", "-W", "2", "192.0.2.2").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "3 packets transmitted, 3 received") {
		t.Errorf("ping from the peer namespace: %v\n%s", err, out)
	}
	if err := s.Kernel.WaitOutput("nicprobe", "RESPONDED icmp 3", 1, wait); err != nil {
		t.Error(err)
	}
}

// Killing the driver server: init restarts it, the new instance attaches to
// the same device (the machine resets it), the client re-opens its session,
// and the peer's ping works again.
func TestE1000Restart(t *testing.T) {
	s := bootE1000(t, "t-e1000r")
	if err := s.Kernel.WaitOutput("nicprobe", "DONE", 1, wait); err != nil {
		t.Fatal(err)
	}
	from := s.Kernel.Events().Len()
	if err := s.Kernel.Kill("e1000"); err != nil {
		t.Fatal(err)
	}
	expect(t, s, from, "e1000", "exited", "crash-detected", "restarting", "ready")
	if err := s.Kernel.WaitOutput("nicprobe", "NIC session re-opened", 1, wait); err != nil {
		t.Fatal(err)
	}
	if err := s.Kernel.WaitOutput("e1000", "link up", 2, wait); err != nil {
		t.Fatal(err)
	}
	ns := PeerNetns("t-e1000r", "nic0")
	// The peer's ARP cache still holds our MAC; the first ping may race the
	// link coming up, so ask for 3 and require at least 2.
	out, _ := exec.Command("ip", "netns", "exec", ns, "ping", "-c", "3", "-i", "0.2", "-W", "2", "192.0.2.2").CombinedOutput()
	if !regexp.MustCompile(`3 packets transmitted, [23] received`).Match(out) {
		t.Errorf("ping after the driver restart:\n%s", out)
	}
	if ti := task(t, s, "nicprobe"); ti.Restarts != 0 {
		t.Errorf("nicprobe restarted %d times", ti.Restarts)
	}
}

// bootE1000 boots the e1000 driver server on the machine's 82540EM and a
// NIC-session client, or skips when the donor-built server or ping is absent.
func bootE1000(t *testing.T, name string) *System {
	t.Helper()
	if _, err := os.Stat(filepath.Join(binDir, "nic-e1000")); err != nil {
		t.Skip("no nic-e1000 binary: it is built from the Debian donor by `make build` (scripts/build-nic.sh e1000)")
	}
	if _, err := exec.LookPath("ping"); err != nil {
		t.Skip("no ping command (Debian iputils-ping; `make` installs it)")
	}
	return boot(t, fmt.Sprintf(`name = %q
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
name = "nicprobe"
uses = ["nic"]
`, name))
}
