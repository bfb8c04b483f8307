package system

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"

	"grailos/cmd/grail/internal/testbin"
	"grailos/kernel"
	"grailos/kernel/sandbox"
)

var binDir string

func TestMain(m *testing.M) {
	sandbox.Stage1()
	os.Exit(run(m))
}

func run(m *testing.M) int {
	dir, cleanup, err := testbin.Dir("./servers/init", "./servers/echo", "./servers/pinger", "./servers/probe",
		"./servers/nicprobe", "./servers/net", "./servers/net/nettest", "./personalities/native/programs/fetch",
		"./personalities/native/programs/httpd", "./arch/machine/cmd/machine")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer cleanup()
	binDir = dir
	return m.Run()
}

// lockedBuffer collects task output.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// boot starts a system for a test and stops it when the test ends.
func boot(t *testing.T, toml string) *System {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: tasks get their own namespaces and cgroups")
	}
	out := &lockedBuffer{}
	s, err := Boot(Options{Default: []byte(toml), BinDir: binDir, RunRoot: t.TempDir(), Output: out})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Stop(); err != nil {
			t.Errorf("stop: %v", err)
		}
		if t.Failed() {
			t.Logf("task output:\n%s", out.String())
			for _, e := range s.Kernel.Events().Snapshot() {
				t.Logf("event: %v", e)
			}
		}
	})
	return s
}

const wait = 20 * time.Second

// checks waits for the probe to finish and returns its outcomes.
func checks(t *testing.T, s *System) map[string]string {
	t.Helper()
	// The probe prints DONE last; its output arrives through a pipe, apart
	// from its events, so wait for the line itself.
	if err := s.Kernel.WaitOutput("probe", "DONE", 1, wait); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	done := false
	for _, l := range s.Kernel.Logs("probe") {
		if rest, ok := strings.CutPrefix(l, "CHECK "); ok {
			k, v, _ := strings.Cut(rest, " ")
			got[k] = v
		}
		done = done || l == "DONE"
	}
	if !done {
		t.Fatalf("probe did not finish: %v", s.Kernel.Logs("probe"))
	}
	return got
}

func probeSystem(name, role, mode string) string {
	return fmt.Sprintf(`
name = %q
[supervisor]
heartbeat = "0s"
[[server]]
name = "echo"
provides = ["echo"]
[[server]]
name = "probe"
role = %q
uses = ["echo"]
args = [%q]
restart = "temporary"
`, name, role, mode)
}

// A task reaches nothing of the host even when seccomp lets it try: the
// empty root, its namespaces and its dropped credentials refuse.
func TestConfinementBelowSeccomp(t *testing.T) {
	s := boot(t, probeSystem("t-confine-probe", "probe", "confinement"))
	got := checks(t, s)
	uid, err := strconv.Atoi(got["uid"])
	if err != nil || uid < 2000000 {
		t.Errorf("task uid %q, want an unprivileged uid >= 2000000", got["uid"])
	}
	delete(got, "uid")
	want := map[string]string{
		"open-host-file":       "ENOENT",
		"open-proc":            "ENOENT",
		"list-root":            "probe",
		"pid":                  "1",
		"kill-host-process":    "ESRCH",
		"socket":               "ok",
		"connect-host-network": "ENETUNREACH",
		"ptrace":               "ESRCH",
		"mount":                "EPERM",
		"setuid-root":          "EPERM",
		"chroot":               "EPERM",
		"exec":                 "EPERM",
		"fork":                 "EPERM",
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("outcomes (-want +got):\n%s", d)
	}
}

// With an ordinary server's seccomp allow-list, the same attempts are
// refused before they reach the kernel's other checks.
func TestConfinementSeccomp(t *testing.T) {
	s := boot(t, probeSystem("t-confine-server", "server", "confinement"))
	got := checks(t, s)
	delete(got, "uid")
	want := map[string]string{
		"open-host-file":       "EPERM",
		"open-proc":            "EPERM",
		"list-root":            "EPERM",
		"pid":                  "1",
		"kill-host-process":    "EPERM",
		"socket":               "EPERM",
		"connect-host-network": "EPERM",
		"ptrace":               "EPERM",
		"mount":                "EPERM",
		"setuid-root":          "EPERM",
		"chroot":               "EPERM",
		"exec":                 "EPERM",
		"fork":                 "EPERM",
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("outcomes (-want +got):\n%s", d)
	}
}

func TestCapabilityRules(t *testing.T) {
	s := boot(t, probeSystem("t-caps", "server", "caps"))
	got := checks(t, s)
	want := map[string]string{
		"boot-cap-not-granted":         "true",
		"echo-inspect":                 "endpoint call ok",
		"call-granted":                 "ok",
		"listen-without-receive":       "insufficient rights",
		"call-forged-index":            "invalid capability",
		"call-forged-generation":       "invalid capability",
		"call-null-handle":             "invalid capability",
		"new-endpoint":                 "ok",
		"mint-call-only":               "call ok",
		"mint-cannot-add-rights":       "call ok",
		"listen-call-only":             "insufficient rights",
		"transfer-without-grant":       "insufficient rights",
		"transfer-more-than-held":      "insufficient rights",
		"signal-an-endpoint":           "wrong object type",
		"delete":                       "ok",
		"call-deleted":                 "stale capability",
		"revoke":                       "3 ok",
		"inspect-revoked-grandchild":   "stale capability",
		"revoke-keeps-original":        "ok",
		"new-memory":                   "ok",
		"map-rw":                       "ok",
		"map-read-only":                "ok",
		"read-only-sees-write":         "42",
		"read-only-writable":           "false",
		"memory-too-large":             "bad request",
		"memory-over-quota":            "quota exhausted",
		"new-notification":             "ok",
		"notification-fd":              "ok",
		"notification-signalled":       "1 ok",
		"notification-fd-without-wait": "insufficient rights",
		"raw-kernel-only-op":           "bad request",
		"spawn-without-spawner":        "wrong object type",
		"kill-with-endpoint":           "wrong object type",
		"trace-other-subject":          "ok",
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("outcomes (-want +got):\n%s", d)
	}
	// The probe's event about echo was recorded about the probe.
	var forged []string
	for _, e := range s.Kernel.Events().Snapshot() {
		if e.Kind == "gave-up" {
			forged = append(forged, e.Subject+" "+e.Detail)
		}
	}
	if d := cmp.Diff([]string{"probe forged by probe"}, forged); d != "" {
		t.Errorf("gave-up events (-want +got):\n%s", d)
	}
}

func alive(pid int) bool { return unix.Kill(pid, 0) == nil }

// Stop leaves no process, cgroup or run folder behind.
func TestStopLeavesNothing(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	s, err := Boot(Options{Default: []byte(probeSystem("t-stop", "server", "caps")), BinDir: binDir, RunRoot: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Kernel.Events().WaitFor(0, "probe", "ready", wait); err != nil {
		s.Stop()
		t.Fatal(err)
	}
	var pids []int
	for _, ti := range s.Kernel.Tasks() {
		if ti.Name != "kernel" {
			pids = append(pids, ti.Pid)
		}
	}
	cgDirs := s.cg.Dirs()
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	if len(pids) != 3 {
		t.Fatalf("tasks %v, want init, echo, probe", pids)
	}
	for _, p := range pids {
		if alive(p) {
			t.Errorf("pid %d still alive after Stop", p)
		}
	}
	if _, err := os.Stat(s.RunDir); !os.IsNotExist(err) {
		t.Errorf("run folder left: %v", err)
	}
	if len(cgDirs) == 0 {
		t.Error("the system had no cgroup folders")
	}
	for _, d := range cgDirs {
		if _, err := os.Stat(d); !os.IsNotExist(err) {
			t.Errorf("cgroup %s left: %v", d, err)
		}
	}
}

var _ = kernel.Monotonic

// A machine device reaches exactly the server the system file grants it to.
func TestDeviceCapability(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	ch, err := os.CreateTemp(t.TempDir(), "chan")
	if err != nil {
		t.Fatal(err)
	}
	efd, err := unix.Eventfd(0, unix.EFD_CLOEXEC)
	if err != nil {
		t.Fatal(err)
	}
	irq := os.NewFile(uintptr(efd), "irq")
	defer irq.Close()
	out := &lockedBuffer{}
	s, err := Boot(Options{Default: []byte(`name = "t-device"
[supervisor]
heartbeat = "0s"
[[server]]
name = "probe"
role = "server"
args = ["device"]
devices = ["nic0"]
restart = "temporary"
`), BinDir: binDir, RunRoot: t.TempDir(), Output: out,
		Devices: []kernel.Device{{Name: "nic0", Info: []byte("8086:100e"), Files: []*os.File{ch, ch}, IRQ: irq}}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Stop()
	got := checks(t, s)
	want := map[string]string{
		"device-open":           `"8086:100e" 2 ok`,
		"device-open-read-only": "insufficient rights",
		"irq-fd":                "ok",
		"call-a-device":         "wrong object type",
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("outcomes (-want +got):\n%s\noutput:\n%s", d, out.String())
	}
}

// A device named in the system file starts a machine process; its peer
// namespace exists while the system runs and is gone after Stop.
func TestMachineDevice(t *testing.T) {
	if _, err := os.Stat("/dev/net/tun"); err != nil {
		t.Skip("no /dev/net/tun: the machine's wire needs TAP devices")
	}
	s := boot(t, `name = "t-machine"
[supervisor]
heartbeat = "0s"
[[server]]
name = "probe"
args = ["device"]
devices = ["nic0"]
restart = "temporary"
`)
	got := checks(t, s)
	if !strings.HasPrefix(got["device-open"], `"{\"name\":\"nic0\",\"model\":\"82540EM\",\"vendor_id\":32902,\"device_id\":4110,`) ||
		!strings.HasSuffix(got["device-open"], `" 2 ok`) {
		t.Errorf("device-open: %s", got["device-open"])
	}
	ns := "/run/netns/" + PeerNetns("t-machine", "nic0")
	if _, err := os.Stat(ns); err != nil {
		t.Errorf("peer namespace: %v", err)
	}
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(ns); !os.IsNotExist(err) {
		t.Errorf("peer namespace left after Stop: %v", err)
	}
}
