package cgroup

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"syscall"
	"testing"

	"github.com/containerd/cgroups/v3"
	"github.com/google/go-cmp/cmp"
)

// These tests write the host's cgroupfs (under the test process's own
// groups, named grail-t<pid>-…), which usually takes root. They skip,
// saying why, only when cgroupfs cannot be written.

func runName(suffix string) string { return fmt.Sprintf("t%d-%s", os.Getpid(), suffix) }

func notWritable(err error) bool {
	return errors.Is(err, fs.ErrPermission) || errors.Is(err, syscall.EROFS)
}

func openOrSkip(t *testing.T, run string) *Manager {
	t.Helper()
	m, err := Open(run)
	if notWritable(err) {
		t.Skipf("cgroupfs is not writable: %v", err)
	}
	if err != nil {
		t.Fatalf("Open(%q): %v", run, err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// startSleep starts a child that lives until stop; cleanup stops it too.
func startSleep(t *testing.T) *exec.Cmd {
	t.Helper()
	bin, err := exec.LookPath("sleep")
	if err != nil {
		t.Skipf("no sleep binary to start a child: %v", err)
	}
	cmd := exec.Command(bin, "3600")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stop(cmd) })
	return cmd
}

// stop kills and reaps cmd; once reaped, it is in no cgroup.
func stop(cmd *exec.Cmd) {
	if cmd.ProcessState == nil {
		cmd.Process.Kill()
		cmd.Wait()
	}
}

func readFile(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// cgroupOf returns pid's v1 group per controller and its v2 group.
func cgroupOf(t *testing.T, pid string) (map[string]string, string) {
	t.Helper()
	v1, v2, err := cgroups.ParseCgroupFileUnified("/proc/" + pid + "/cgroup")
	if err != nil {
		t.Fatal(err)
	}
	return v1, v2
}

func assertGone(t *testing.T, dirs []string) {
	t.Helper()
	for _, d := range dirs {
		if _, err := os.Stat(d); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s still exists (stat: %v)", d, err)
		}
	}
}

// limitFiles is what NewGroup(_, Limits{64 MiB, 16 pids, 0.5 cores}) writes,
// by controller.
func limitFiles(mode string) map[string]map[string]string {
	if mode == "v2" {
		return map[string]map[string]string{
			"memory": {"memory.max": "67108864\n"},
			"pids":   {"pids.max": "16\n"},
			"cpu":    {"cpu.max": "50000 100000\n"},
		}
	}
	return map[string]map[string]string{
		"memory": {"memory.limit_in_bytes": "67108864\n"},
		"pids":   {"pids.max": "16\n"},
		"cpu":    {"cpu.cfs_quota_us": "50000\n", "cpu.cfs_period_us": "100000\n"},
	}
}

// checkGroup runs a child through g: limits, membership, stats, delete.
// wantGroup maps each controller ("" for v2) to the group path the child
// must show in /proc/<pid>/cgroup.
func checkGroup(t *testing.T, m *Manager, g Group, mode string, wantGroup map[string]string) {
	t.Helper()
	ctrls := m.Controllers()
	if len(ctrls) == 0 {
		t.Logf("no controller is usable here; limits are not checked (notes: %q)", m.Notes())
	}
	files := limitFiles(mode)
	for i, c := range ctrls {
		dir := g.Path()
		if mode != "v2" {
			dir = g.Dirs()[i]
		}
		for name, want := range files[c] {
			if got := readFile(t, filepath.Join(dir, name)); got != want {
				t.Errorf("%s/%s = %q, want %q", dir, name, got, want)
			}
		}
	}
	for c, names := range files { // an unusable controller's limits are not written
		if mode == "v2" && !slices.Contains(ctrls, c) {
			for name := range names {
				if _, err := os.Stat(filepath.Join(g.Path(), name)); !errors.Is(err, os.ErrNotExist) {
					t.Errorf("%s/%s exists although %s is not enabled", g.Path(), name, c)
				}
			}
		}
	}

	child := startSleep(t)
	pid := child.Process.Pid
	if err := g.AddProc(pid); err != nil {
		t.Fatal(err)
	}
	v1, v2 := cgroupOf(t, strconv.Itoa(pid))
	for c, want := range wantGroup {
		got := v2
		if c != "" {
			got = v1[c]
		}
		if got != want {
			t.Errorf("/proc/%d/cgroup %q = %q, want %q", pid, c, got, want)
		}
	}
	if got, want := readFile(t, filepath.Join(g.Path(), "cgroup.procs")), fmt.Sprintf("%d\n", pid); got != want {
		t.Errorf("cgroup.procs = %q, want %q", got, want)
	}
	st, err := g.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if st.Pids != 1 {
		t.Errorf("Stats().Pids = %d, want 1", st.Pids)
	}
	if slices.Contains(ctrls, "memory") {
		if st.MemoryBytes < 0 || st.MemoryBytes > 64<<20 {
			t.Errorf("Stats().MemoryBytes = %d, want within [0, 64 MiB]", st.MemoryBytes)
		}
	} else if st.MemoryBytes != -1 {
		t.Errorf("Stats().MemoryBytes = %d without the memory controller, want -1", st.MemoryBytes)
	}

	wantErr := fmt.Sprintf("cgroup: delete group %q (%s): processes remain: [%d]", g.Name(), g.Path(), pid)
	if err := g.Delete(); err == nil || err.Error() != wantErr {
		t.Errorf("Delete with a process = %v, want %s", err, wantErr)
	}
	stop(child)
	if st, err := g.Stats(); err != nil || st.Pids != 0 {
		t.Errorf("Stats() after the child was reaped = %+v, %v, want 0 pids", st, err)
	}
	if err := g.Delete(); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	assertGone(t, g.Dirs())
	if err := g.Delete(); err != nil {
		t.Errorf("second Delete = %v, want nil", err)
	}
	parents := m.Dirs()
	if err := m.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	assertGone(t, parents)
}

func TestGroupLifecycle(t *testing.T) {
	run := runName("life")
	m := openOrSkip(t, run)
	t.Logf("mode %s, controllers %v, notes %q", m.Mode(), m.Controllers(), m.Notes())
	if m.Mode() != Mode() {
		t.Errorf("Manager.Mode() = %q, want %q", m.Mode(), Mode())
	}
	g, err := m.NewGroup("echo", Limits{MemoryBytes: 64 << 20, Pids: 16, CPU: 0.5})
	if err != nil {
		t.Fatal(err)
	}
	if g.Name() != "echo" {
		t.Errorf("Name() = %q", g.Name())
	}
	for i, d := range m.Dirs() {
		if want := filepath.Join(d, "echo"); g.Dirs()[i] != want {
			t.Errorf("Dirs()[%d] = %q, want %q", i, g.Dirs()[i], want)
		}
		if filepath.Base(d) != "grail-"+run {
			t.Errorf("parent %s is not named grail-%s", d, run)
		}
	}
	// The child must land in grail-<run>/echo under this process's own group.
	ownV1, ownV2 := cgroupOf(t, "self")
	want := map[string]string{}
	if m.Mode() == "v2" {
		want[""] = path.Join(ownGroup(ownV2), "grail-"+run, "echo")
	} else {
		for _, c := range m.Controllers() {
			want[c] = path.Join(ownV1[c], "grail-"+run, "echo")
		}
	}
	checkGroup(t, m, g, m.Mode(), want)
}

func TestManagersDoNotCollide(t *testing.T) {
	a := openOrSkip(t, runName("a"))
	b := openOrSkip(t, runName("b"))
	ga, err := a.NewGroup("x", Limits{Pids: 4})
	if err != nil {
		t.Fatal(err)
	}
	gb, err := b.NewGroup("x", Limits{Pids: 4})
	if err != nil {
		t.Fatal(err)
	}
	if ga.Path() == gb.Path() {
		t.Fatalf("both groups are %s", ga.Path())
	}
	if _, err := a.NewGroup("x", Limits{}); err == nil || err.Error() != `cgroup: group "x" exists` {
		t.Errorf("NewGroup twice = %v", err)
	}
	// A run name that is open cannot be opened again, and its empty groups
	// are left alone.
	want := fmt.Sprintf("cgroup: %s belongs to a live run (another manager holds its token)", a.Dirs()[0])
	if _, err := Open(runName("a")); err == nil || err.Error() != want {
		t.Errorf("Open of a live run = %v, want %s", err, want)
	}
	if removed, err := Sweep("grail-" + runName("")); err != nil || removed != nil {
		t.Errorf("Sweep over live runs = %q, %v, want nothing removed", removed, err)
	}
	aDirs := append(a.Dirs(), ga.Dirs()...)
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	assertGone(t, aDirs)
	for _, d := range gb.Dirs() {
		if _, err := os.Stat(d); err != nil {
			t.Errorf("closing a removed b's group: %v", err)
		}
	}
	if _, err := a.NewGroup("y", Limits{}); err == nil || err.Error() != `cgroup: group "y": manager is closed` {
		t.Errorf("NewGroup after Close = %v", err)
	}
	if _, err := b.NewGroup("y", Limits{}); err != nil {
		t.Errorf("b.NewGroup after a.Close: %v", err)
	}
	bDirs := append(b.Dirs(), gb.Dirs()...)
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	assertGone(t, bDirs)
}

// ownDirs returns the directories of this process's own groups, as Open
// sees them (the parents of a manager's directories).
func ownDirs(t *testing.T) []string {
	t.Helper()
	m := openOrSkip(t, runName("probe"))
	var dirs []string
	for _, d := range m.Dirs() {
		dirs = append(dirs, filepath.Dir(d))
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	return dirs
}

func mkdirs(t *testing.T, dirs ...string) {
	t.Helper()
	for _, d := range dirs {
		err := os.MkdirAll(d, 0o755)
		if notWritable(err) {
			t.Skipf("cgroupfs is not writable: %v", err)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

func TestSweep(t *testing.T) {
	own := ownDirs(t)
	prefix := "grail-" + runName("sweep-")
	var stale, busy []string
	for _, d := range own {
		stale = append(stale, filepath.Join(d, prefix+"stale"))
		busy = append(busy, filepath.Join(d, prefix+"busy"))
		mkdirs(t, filepath.Join(d, prefix+"stale", "srv", "sub"), filepath.Join(d, prefix+"busy", "srv"))
	}
	t.Cleanup(func() { sweep(own, prefix) })
	child := startSleep(t)
	procs := filepath.Join(busy[0], "srv", "cgroup.procs")
	if err := writeFile(procs, strconv.Itoa(child.Process.Pid)); err != nil {
		t.Fatal(err)
	}

	if _, err := Sweep("other-"); err == nil || err.Error() != `cgroup: sweep prefix "other-" must start with "grail-"` {
		t.Errorf("Sweep(other-) = %v", err)
	}
	removed, err := Sweep(prefix)
	if err != nil {
		t.Fatal(err)
	}
	// busy is kept where the child is, removed elsewhere.
	want := slices.Concat(busy[1:], stale)
	slices.Sort(want)
	slices.Sort(removed)
	if diff := cmp.Diff(want, removed); diff != "" {
		t.Errorf("Sweep removed (-want +got):\n%s", diff)
	}
	assertGone(t, stale)
	if _, err := os.Stat(procs); err != nil {
		t.Errorf("the populated group is gone: %v", err)
	}

	stop(child)
	removed, err = Sweep(prefix)
	if err != nil || !slices.Equal(removed, busy[:1]) {
		t.Errorf("Sweep after the child exited = %q, %v, want %q", removed, err, busy[:1])
	}
}

func TestOpenClearsLeftover(t *testing.T) {
	own := ownDirs(t)
	run := runName("left")
	var old []string
	for _, d := range own {
		old = append(old, filepath.Join(d, "grail-"+run, "echo"))
	}
	mkdirs(t, old...)
	m := openOrSkip(t, run)
	assertGone(t, old)
	if _, err := m.NewGroup("echo", Limits{Pids: 2}); err != nil {
		t.Fatal(err)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}

	// A leftover that holds a process is refused.
	busy := "grail-" + runName("busy")
	t.Cleanup(func() { sweep(own, busy) })
	mkdirs(t, filepath.Join(own[0], busy, "srv"))
	child := startSleep(t)
	if err := writeFile(filepath.Join(own[0], busy, "srv", "cgroup.procs"), strconv.Itoa(child.Process.Pid)); err != nil {
		t.Fatal(err)
	}
	_, err := Open(runName("busy"))
	want := fmt.Sprintf("cgroup: %s exists and holds processes [%d]: the servers of a dead run outlived it",
		filepath.Join(own[0], busy), child.Process.Pid)
	if err == nil || err.Error() != want {
		t.Errorf("Open over a populated leftover = %v, want %s", err, want)
	}
}

func TestNames(t *testing.T) {
	if _, err := Open("Bad/Name"); err == nil || err.Error() != `cgroup: run name "Bad/Name" must match ^[a-z0-9][a-z0-9._-]{0,63}$` {
		t.Errorf("Open(bad) = %v", err)
	}
	m := openOrSkip(t, runName("names"))
	for _, tt := range []struct {
		name string
		l    Limits
		want string
	}{
		{"..", Limits{}, `cgroup: group name ".." must match ^[a-z0-9][a-z0-9._-]{0,63}$`},
		{"a/b", Limits{}, `cgroup: group name "a/b" must match ^[a-z0-9][a-z0-9._-]{0,63}$`},
		{"neg", Limits{MemoryBytes: -1}, `cgroup: group "neg": negative memory limit -1`},
		{"tiny", Limits{CPU: 0.001}, `cgroup: group "tiny": cpu limit 0.001 cores is below the minimum 0.01`},
	} {
		if _, err := m.NewGroup(tt.name, tt.l); err == nil || err.Error() != tt.want {
			t.Errorf("NewGroup(%q, %+v) = %v, want %s", tt.name, tt.l, err, tt.want)
		}
	}
}
