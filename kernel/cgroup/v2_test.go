package cgroup

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The v2 code path runs against whatever cgroup2 mount the host has: the
// whole hierarchy on a v2 host, the unified mount of a hybrid one (which may
// carry no controller at all; then the test checks the structure — create,
// add, count, delete — and that no limit file is written).

func unifiedOrSkip(t *testing.T) unified {
	t.Helper()
	u, err := findUnified()
	if err != nil {
		t.Skipf("no cgroup2 mount to test the v2 code path on: %v", err)
	}
	return u
}

func TestV2OnUnifiedMount(t *testing.T) {
	u := unifiedOrSkip(t)
	run := runName("v2")
	ownDir := filepath.Join(u.mount, u.own)
	avail, err := readFields(filepath.Join(ownDir, "cgroup.controllers"))
	if err != nil {
		t.Fatal(err)
	}
	be, notes, err := openV2(v2Config{unified: u, want: wantV2, self: os.Getpid()}, "grail-"+run)
	if notWritable(err) {
		t.Skipf("the cgroup2 mount is not writable: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	m := &Manager{mode: "v2", notes: notes, be: be}
	t.Cleanup(func() { m.Close() })
	t.Logf("cgroup2 at %s, own group %s, controllers %v, notes %q", u.mount, u.own, m.Controllers(), notes)

	var wantNotes []string
	for _, c := range wantV2 {
		if !slices.Contains(avail, c) {
			wantNotes = append(wantNotes, fmt.Sprintf("%s: not available in %s (not delegated to this group); its limits are not enforced", c, ownDir))
		}
	}
	var gotAbsent []string
	for _, n := range notes {
		if strings.Contains(n, ": not available in ") {
			gotAbsent = append(gotAbsent, n)
		}
	}
	if diff := cmp.Diff(wantNotes, gotAbsent); diff != "" {
		t.Errorf("notes on absent controllers (-want +got):\n%s", diff)
	}
	for _, c := range m.Controllers() {
		if !slices.Contains(avail, c) {
			t.Errorf("controller %s enabled although %s lacks it", c, ownDir)
		}
	}
	if got, want := m.Dirs(), []string{filepath.Join(ownDir, "grail-"+run)}; !slices.Equal(got, want) {
		t.Errorf("Dirs() = %q, want %q", got, want)
	}

	g, err := m.NewGroup("echo", Limits{MemoryBytes: 64 << 20, Pids: 16, CPU: 0.5})
	if err != nil {
		t.Fatal(err)
	}
	checkGroup(t, m, g, "v2", map[string]string{"": path.Join(u.own, "grail-"+run, "echo")})
}

// TestDelegate checks the no-internal-processes handling on two scratch
// groups, with a child standing in for the calling process. It needs a
// controller that the scratch groups can have: one already enabled in the
// own group's subtree_control, or — only if GRAIL_CGROUP_TOUCH_ROOT=1, since
// that changes host-wide state — one the test may enable there itself and
// disables afterwards.
func TestDelegate(t *testing.T) {
	u := unifiedOrSkip(t)
	base := filepath.Join(u.mount, u.own)
	sub, err := readFields(filepath.Join(base, subtreeControl))
	if err != nil {
		t.Fatal(err)
	}
	var ctrl string
	if len(sub) > 0 {
		ctrl = sub[0]
	} else {
		avail, err := readFields(filepath.Join(base, "cgroup.controllers"))
		if err != nil {
			t.Fatal(err)
		}
		if len(avail) == 0 || os.Getenv("GRAIL_CGROUP_TOUCH_ROOT") != "1" {
			t.Skipf("%s passes no controller to its children (subtree_control is empty, available: %v); "+
				"set GRAIL_CGROUP_TOUCH_ROOT=1 to let the test enable one there for its duration", base, avail)
		}
		ctrl = avail[0]
		if err := writeSubtree(base, ctrl); err != nil {
			t.Skipf("cannot enable %s in %s: %v", ctrl, base, err)
		}
		t.Cleanup(func() {
			if err := writeFile(filepath.Join(base, subtreeControl), "-"+ctrl); err != nil {
				t.Errorf("restoring %s: %v", base, err)
			}
		})
	}
	t.Logf("using controller %s from %s", ctrl, base)

	// A group whose only process is "self": self moves into the leaf.
	x := filepath.Join(base, "grail-"+runName("deleg"))
	mkdirs(t, x)
	t.Cleanup(func() { removeTree(x) })
	self := startSleep(t)
	pid := self.Process.Pid
	if err := writeFile(filepath.Join(x, "cgroup.procs"), strconv.Itoa(pid)); err != nil {
		t.Fatal(err)
	}
	enabled, notes, err := delegate(x, []string{ctrl}, pid)
	if err != nil {
		t.Fatal(err)
	}
	leaf := filepath.Join(x, leafName)
	if diff := cmp.Diff([]string{ctrl}, enabled); diff != "" {
		t.Errorf("enabled (-want +got):\n%s", diff)
	}
	wantNotes := []string{fmt.Sprintf("moved pid %d into %s: a group holding processes cannot pass controllers on", pid, leaf)}
	if diff := cmp.Diff(wantNotes, notes); diff != "" {
		t.Errorf("notes (-want +got):\n%s", diff)
	}
	if got := readFile(t, filepath.Join(x, subtreeControl)); got != ctrl+"\n" {
		t.Errorf("subtree_control = %q, want %q", got, ctrl+"\n")
	}
	_, v2 := cgroupOf(t, strconv.Itoa(pid))
	xGroup := path.Join(u.own, filepath.Base(x))
	if want := path.Join(xGroup, leafName); v2 != want {
		t.Errorf("the moved process is in %q, want %q", v2, want)
	}
	if got := ownGroup(v2); got != xGroup {
		t.Errorf("ownGroup(%q) = %q, want %q", v2, got, xGroup)
	}
	// Once enabled, nothing more happens.
	if enabled, notes, err := delegate(x, []string{ctrl}, pid); err != nil || !slices.Equal(enabled, []string{ctrl}) || notes != nil {
		t.Errorf("second delegate = %v, %q, %v", enabled, notes, err)
	}
	stop(self)

	// A group that holds another process too: nobody moves.
	y := filepath.Join(base, "grail-"+runName("shared"))
	mkdirs(t, y)
	t.Cleanup(func() { removeTree(y) })
	a, b := startSleep(t), startSleep(t)
	for _, c := range []int{a.Process.Pid, b.Process.Pid} {
		if err := writeFile(filepath.Join(y, "cgroup.procs"), strconv.Itoa(c)); err != nil {
			t.Fatal(err)
		}
	}
	enabled, notes, err = delegate(y, []string{ctrl}, a.Process.Pid)
	if err != nil || enabled != nil {
		t.Errorf("delegate in a shared group = %v, %v, want nothing enabled", enabled, err)
	}
	wantNotes = []string{fmt.Sprintf("%s: cannot be enabled in %s: it holds processes [%d] besides this one (no-internal-processes rule); their limits are not enforced",
		ctrl, y, b.Process.Pid)}
	if diff := cmp.Diff(wantNotes, notes); diff != "" {
		t.Errorf("notes (-want +got):\n%s", diff)
	}
	if got := readFile(t, filepath.Join(y, subtreeControl)); strings.TrimSpace(got) != "" {
		t.Errorf("subtree_control = %q, want empty", got)
	}
	stop(a)
	stop(b)
}
