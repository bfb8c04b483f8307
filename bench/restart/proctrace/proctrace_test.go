package proctrace

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"
)

const childEnv = "PROCTRACE_TEST_CHILD"

// TestMain doubles as the multi-threaded child of TestExitLeaderOnly.
func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "threads" {
		threadedChild()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// threadedChild runs on several OS threads at once, prints the Threads:
// line of its /proc status, then exits.
func threadedChild() {
	const threads = 8
	var started, release sync.WaitGroup
	started.Add(threads)
	release.Add(1)
	for range threads {
		go func() {
			runtime.LockOSThread() // never unlocked: the thread lives until the process exits
			started.Done()
			release.Wait()
		}()
	}
	started.Wait()
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		panic(err)
	}
	for line := range strings.Lines(string(status)) {
		if strings.HasPrefix(line, "Threads:") {
			os.Stdout.WriteString(line)
		}
	}
}

// mustStart starts a Tracer with a ring of size bytes, skipping the test
// only if the host lacks the capability.
func mustStart(t *testing.T, size uint32) *Tracer {
	t.Helper()
	tr, err := start(size)
	if errors.Is(err, ErrUnavailable) {
		t.Skipf("skipping: %v", err)
	}
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { tr.Close() })
	return tr
}

func mono(t *testing.T) int64 {
	t.Helper()
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		t.Fatal(err)
	}
	return ts.Nano()
}

// run runs cmd and returns its pid and the CLOCK_MONOTONIC window around
// the run.
func run(t *testing.T, cmd *exec.Cmd) (pid int, before, after int64) {
	t.Helper()
	before = mono(t)
	if err := cmd.Run(); err != nil {
		t.Fatalf("%v: %v", cmd, err)
	}
	return cmd.Process.Pid, before, mono(t)
}

// checkLife checks that Events has exactly one exec and one exit of pid,
// in that order, inside [before, after], both with comm.
func checkLife(t *testing.T, tr *Tracer, pid int, before, after int64, comm string) {
	t.Helper()
	// The reader goroutine may not have caught up yet.
	if _, _, err := tr.WaitFor(0, "exit", pid, 5*time.Second); err != nil {
		t.Fatalf("pid %d: %v", pid, err)
	}
	var got []Event
	for _, e := range tr.Events() {
		if e.Pid == pid {
			got = append(got, e)
		}
	}
	if len(got) != 2 || got[0].Kind != "exec" || got[1].Kind != "exit" {
		t.Fatalf("pid %d: events %+v, want one exec then one exit", pid, got)
	}
	for _, e := range got {
		if e.Comm != comm {
			t.Errorf("pid %d %s: comm %q, want %q", pid, e.Kind, e.Comm, comm)
		}
		if e.Mono < before || e.Mono > after {
			t.Errorf("pid %d %s: mono %d outside the run's window [%d, %d]", pid, e.Kind, e.Mono, before, after)
		}
	}
	if got[0].Mono > got[1].Mono {
		t.Errorf("pid %d: exec at %d after exit at %d", pid, got[0].Mono, got[1].Mono)
	}
}

func TestExecExit(t *testing.T) {
	tr := mustStart(t, ringSize)
	for range 5 {
		pid, before, after := run(t, exec.Command("/bin/true"))
		checkLife(t, tr, pid, before, after, "true")
	}
	if n := tr.Lost(); n != 0 {
		t.Errorf("Lost = %d, want 0", n)
	}
}

// TestExitLeaderOnly runs a child with 9+ threads: its exit must be
// reported once, for the leader, not once per thread.
func TestExitLeaderOnly(t *testing.T) {
	tr := mustStart(t, ringSize)
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	cmd := exec.Command(self)
	cmd.Env = append(os.Environ(), childEnv+"=threads")
	cmd.Stdout = &out
	pid, before, after := run(t, cmd)
	var threads int
	if _, err := fmt.Sscanf(out.String(), "Threads: %d", &threads); err != nil || threads < 9 {
		t.Fatalf("child printed %q (%v), want Threads: ≥ 9", out.String(), err)
	}
	comm := filepath.Base(self)
	if len(comm) > commSize-1 {
		comm = comm[:commSize-1]
	}
	checkLife(t, tr, pid, before, after, comm)
}

// TestLost stalls the reader on a one-page ring (≈ 100 records) while 100
// processes start and stop (200 records, plus the rest of the host's):
// records must be dropped and counted, and those that got through must be
// whole.
func TestLost(t *testing.T) {
	tr := mustStart(t, uint32(os.Getpagesize()))
	const n = 100
	pids := make(map[int]bool, n)
	tr.mu.Lock() // the reader blocks on its next record
	before := mono(t)
	for range n {
		cmd := exec.Command("/bin/true")
		if err := cmd.Run(); err != nil {
			tr.mu.Unlock()
			t.Fatal(err)
		}
		pids[cmd.Process.Pid] = true
	}
	after := mono(t)
	tr.mu.Unlock()
	lost := tr.Lost()
	if lost == 0 {
		t.Fatalf("Lost = 0 after %d records into a %d-byte ring with the reader stalled", 2*n, os.Getpagesize())
	}
	if err := tr.Close(); err != nil { // drains the ring
		t.Fatal(err)
	}
	seen := map[Event]int{}
	var ours int
	for _, e := range tr.Events() {
		if !pids[e.Pid] {
			continue
		}
		ours++
		seen[e]++
		if seen[e] > 1 || e.Comm != "true" || e.Mono < before || e.Mono > after {
			t.Errorf("bad or repeated event %+v", e)
		}
	}
	if uint64(ours)+lost < 2*n {
		t.Errorf("%d of our %d records seen and %d lost in all: some vanished uncounted", ours, 2*n, lost)
	}
	if got := tr.Lost(); got != lost {
		t.Errorf("Lost after Close = %d, before %d", got, lost)
	}
	t.Logf("%d of our %d records seen; %d lost host-wide", ours, 2*n, lost)
}

func TestClose(t *testing.T) {
	tr := mustStart(t, ringSize)
	pid, before, after := run(t, exec.Command("/bin/true"))
	checkLife(t, tr, pid, before, after, "true")
	if err := tr.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	snap := tr.Events()
	if err := tr.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	run(t, exec.Command("/bin/true")) // not seen: detached
	if got := tr.Events(); len(got) != len(snap) {
		t.Fatalf("Events after Close grew from %d to %d", len(snap), len(got))
	}
	checkLife(t, tr, pid, before, after, "true") // the snapshot still holds the first run
	if _, _, err := tr.WaitFor(len(snap), "", 0, time.Minute); !errors.Is(err, ErrClosed) {
		t.Errorf("WaitFor after Close: %v, want ErrClosed", err)
	}
	if n := tr.Lost(); n != 0 {
		t.Errorf("Lost after Close = %d, want 0", n)
	}
}

func TestAvailable(t *testing.T) {
	err := Available()
	if errors.Is(err, ErrUnavailable) {
		t.Skipf("skipping: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
}

// TestAttachMissing checks the kernel's answer to a tracepoint it lacks is
// reported as unavailable, not as a failure.
func TestAttachMissing(t *testing.T) {
	tr := mustStart(t, ringSize)
	l, err := attach("proctrace_no_such_tracepoint", tr.progs[0])
	if err == nil {
		l.Close()
		t.Fatal("attached to a tracepoint that does not exist")
	}
	if !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "no such tracepoint") {
		t.Errorf("attach: %v, want ErrUnavailable: no such tracepoint", err)
	}
}

func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		err         error
		unavailable bool
		says        string
	}{
		{fmt.Errorf("load program: %w", unix.EPERM), true, "no permission"},
		{fmt.Errorf("map create: %w", unix.EACCES), true, "no permission"},
		{&ebpf.VerifierError{Cause: unix.EPERM}, true, "no permission"}, // refused before verification
		{unix.ENOSYS, true, "no bpf(2) system call"},
		{fmt.Errorf("ring buffer: %w", ebpf.ErrNotSupported), true, "too old"},
		{&ebpf.VerifierError{Cause: unix.EACCES, Log: []string{"invalid read from stack"}}, false, "invalid read"},
		{unix.EINVAL, false, "invalid argument"},
	} {
		err := classify("test", tc.err)
		if errors.Is(err, ErrUnavailable) != tc.unavailable || !strings.Contains(err.Error(), tc.says) || !errors.Is(err, tc.err) {
			t.Errorf("classify(%v) = %v; want unavailable %v, saying %q, wrapping the cause", tc.err, err, tc.unavailable, tc.says)
		}
	}
}

func record(kind, tgid uint32, ns uint64, comm string) []byte {
	b := make([]byte, recordSize)
	binary.NativeEndian.PutUint32(b[0:], kind)
	binary.NativeEndian.PutUint32(b[4:], tgid)
	binary.NativeEndian.PutUint64(b[8:], ns)
	copy(b[16:], comm)
	return b
}

func TestDecode(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   []byte
		want Event
		err  bool
	}{
		{"exec", record(kindExec, 42, 7, "true"), Event{Kind: "exec", Pid: 42, Comm: "true", Mono: 7}, false},
		{"exit", record(kindExit, 1, 1<<62, "init"), Event{Kind: "exit", Pid: 1, Comm: "init", Mono: 1 << 62}, false},
		{"comm without NUL", record(kindExit, 9, 0, "0123456789abcdef"), Event{Kind: "exit", Pid: 9, Comm: "0123456789abcdef"}, false},
		{"unknown kind", record(3, 1, 1, "x"), Event{}, true},
		{"short", record(kindExec, 1, 1, "x")[:recordSize-1], Event{}, true},
		{"long", append(record(kindExec, 1, 1, "x"), 0), Event{}, true},
	} {
		got, err := decode(tc.in)
		if (err != nil) != tc.err || got != tc.want {
			t.Errorf("%s: decode = %+v, %v; want %+v, error %v", tc.name, got, err, tc.want, tc.err)
		}
	}
}

func FuzzDecode(f *testing.F) {
	f.Add(record(kindExec, 42, 7, "true"))
	f.Add(record(kindExit, 1, 1, "0123456789abcdef"))
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := decode(b)
		if err != nil {
			return
		}
		if len(b) != recordSize || (e.Kind != "exec" && e.Kind != "exit") || len(e.Comm) > commSize {
			t.Fatalf("decode(%x) = %+v", b, e)
		}
	})
}

func BenchmarkDecode(b *testing.B) {
	rec := record(kindExec, 42, 7, "true")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := decode(rec); err != nil {
			b.Fatal(err)
		}
	}
}
