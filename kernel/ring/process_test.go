package ring

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"grailos/kernel/shm"
)

// Cross-process tests: the test binary re-executes itself as side B of a
// session whose memfd it passes as fd 3. helperEnv selects the child's
// behaviour.
const helperEnv = "GRAILOS_RING_TEST_HELPER"

var helperLayout = Layout{Slots: 16, SlotSize: 256}

// TestHelperProcess is the child's entry point; it does nothing in a
// normal test run.
func TestHelperProcess(t *testing.T) {
	mode := os.Getenv(helperEnv)
	if mode == "" {
		t.Skip("helper process for the cross-process tests")
	}
	if err := helper(mode); err != nil {
		fmt.Fprintf(os.Stderr, "helper %s: %v\n", mode, err)
		os.Exit(2)
	}
	os.Exit(0)
}

func helper(mode string) error {
	f := os.NewFile(3, "session")
	r, err := shm.Map(f, true)
	if err != nil {
		return err
	}
	s, err := NewSession(r.Bytes(), helperLayout, SideB, false)
	if err != nil {
		return err
	}
	switch mode {
	case "echo":
		return echo(s, time.Now().Add(time.Minute), func(dst, src []byte) { copy(dst, src) })
	case "garbage":
		// Hand A three descriptors that point outside their slots...
		bad := []Desc{
			{Offset: 1 << 31, Len: 1},
			{Offset: 1, Len: 1},
			{Offset: 0, Len: uint32(helperLayout.SlotSize) + 1},
		}
		if n := s.Tx().Active.Push(bad); n != len(bad) {
			return fmt.Errorf("pushed %d bad descriptors", n)
		}
		// ...then scribble on the indices B owns in A→B: the active
		// queue's consumer index and the free queue's producer index.
		atomic.StoreUint32(s.Rx().Active.head, 0xdeadbeef)
		atomic.StoreUint32(s.Rx().Free.tail, 1000)
		return nil
	}
	return fmt.Errorf("unknown mode %q", mode)
}

// startHelper creates an initialised session, starts a child in mode on
// it and returns side A. The child is killed and reaped at cleanup.
func startHelper(t testing.TB, mode string) (*Session, *exec.Cmd) {
	t.Helper()
	size, err := SessionBytes(helperLayout)
	if err != nil {
		t.Fatal(err)
	}
	f, _ := sharedFile(t, size)
	r, err := shm.Map(f, true)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	s, err := NewSession(r.Bytes(), helperLayout, SideA, true)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), helperEnv+"="+mode)
	cmd.ExtraFiles = []*os.File{f}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	return s, cmd
}

func TestCrossProcessEcho(t *testing.T) {
	s, cmd := startHelper(t, "echo")
	if err := exchange(s, 50000, time.Now().Add(time.Minute), func(dst, src []byte) { copy(dst, src) }); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("child: %v", err)
	}
}

func TestCrossProcessGarbage(t *testing.T) {
	s, cmd := startHelper(t, "garbage")
	if err := cmd.Wait(); err != nil {
		t.Fatalf("child: %v", err)
	}
	// Bad descriptors arrive intact and are refused by Buffer.
	ds := make([]Desc, 8)
	n, err := s.Rx().Active.Pop(ds)
	if n != 3 || err != nil {
		t.Fatalf("Rx Pop = %d, %v; want 3, nil", n, err)
	}
	for _, d := range ds[:n] {
		if buf, err := s.Rx().Buffer(d); !errors.Is(err, ErrBadDesc) || buf != nil {
			t.Errorf("Buffer(%+v) = len %d, %v; want ErrBadDesc", d, len(buf), err)
		}
	}
	// A is the producer of A→B active: the consumer index is garbage.
	tx := s.Tx()
	if f := tx.Active.Free(); f != 0 || !errors.Is(tx.Active.Err(), ErrCorrupt) {
		t.Errorf("Tx active Free = %d, Err = %v; want 0, ErrCorrupt", f, tx.Active.Err())
	}
	if n := tx.Active.Push(ds[:1]); n != 0 {
		t.Errorf("Tx active Push = %d, want 0", n)
	}
	if err := tx.Active.WaitSpace(time.Now().Add(time.Second)); !errors.Is(err, ErrCorrupt) {
		t.Errorf("Tx active WaitSpace = %v, want ErrCorrupt", err)
	}
	// A is the consumer of A→B free: the producer index is garbage.
	if n, err := tx.Free.Pop(ds); n != 0 || !errors.Is(err, ErrCorrupt) {
		t.Errorf("Tx free Pop = %d, %v; want 0, ErrCorrupt", n, err)
	}
	if err := tx.Free.Wait(time.Now().Add(time.Second)); !errors.Is(err, ErrCorrupt) {
		t.Errorf("Tx free Wait = %v, want ErrCorrupt", err)
	}
}

// TestCrossProcessPeerKilled kills the echo child with SIGKILL while
// messages are in flight. Side A must keep working on what it has, and
// every wait must end at its deadline.
func TestCrossProcessPeerKilled(t *testing.T) {
	s, cmd := startHelper(t, "echo")
	tx, rx := s.Tx(), s.Rx()
	ds := make([]Desc, helperLayout.Slots)
	seq := uint64(0)
	send := func() int {
		n, err := tx.Free.Pop(ds)
		if err != nil {
			t.Fatal(err)
		}
		for i := range n {
			p := payload(seq, helperLayout.SlotSize)
			ds[i].Len, ds[i].Cookie = uint32(len(p)), seq
			buf, err := tx.Buffer(ds[i])
			if err != nil {
				t.Fatal(err)
			}
			copy(buf, p)
			seq++
		}
		if pushed := tx.Active.Push(ds[:n]); pushed != n {
			t.Fatalf("pushed %d of %d", pushed, n)
		}
		return n
	}
	var recv uint64
	receive := func(deadline time.Time) error {
		if err := rx.Active.Wait(deadline); err != nil {
			return err
		}
		n, err := rx.Active.Pop(ds)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range ds[:n] {
			buf, err := rx.Buffer(d)
			if err != nil {
				t.Fatal(err)
			}
			if d.Cookie != recv || string(buf) != string(payload(recv, helperLayout.SlotSize)) {
				t.Fatalf("echo %d (cookie %d) corrupted", recv, d.Cookie)
			}
			recv++
		}
		rx.Free.Push(ds[:n])
		return nil
	}
	// Stream until the child has echoed a good number of messages, then
	// put a full window in flight and kill it.
	deadline := time.Now().Add(time.Minute)
	for recv < 1000 {
		if send() > 0 {
			continue
		}
		wait := receive
		if recv == seq { // nothing in flight: wait for returned buffers
			wait = tx.Free.Wait
		}
		if err := wait(deadline); err != nil {
			t.Fatal(err)
		}
	}
	send()
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err == nil {
		t.Fatal("child exited cleanly after SIGKILL")
	}
	// Drain what the child managed to echo; then the wait times out.
	var err error
	for err == nil {
		err = receive(time.Now().Add(100 * time.Millisecond))
	}
	if err != ErrTimeout {
		t.Fatalf("receive after kill: %v, want ErrTimeout", err)
	}
	if recv > seq {
		t.Fatalf("received %d of %d sent", recv, seq)
	}
	// Take back whatever free buffers the child returned, then waiting
	// for more times out.
	for tx.Free.Wait(time.Now().Add(100*time.Millisecond)) == nil {
		tx.Free.Pop(ds)
	}
	// Fill the active queue nobody drains; waiting for space times out.
	for tx.Active.Push(ds[:1]) == 1 {
	}
	if err := tx.Active.WaitSpace(time.Now().Add(100 * time.Millisecond)); err != ErrTimeout {
		t.Fatalf("WaitSpace after kill: %v, want ErrTimeout", err)
	}
}
