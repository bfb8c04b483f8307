package devchan

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"grailos/kernel/shm"
)

// futexWaiter reports whether a thread of this process is blocked in
// futex(2) on addr: /proc/self/task/*/syscall names a blocked thread's
// system call and its arguments. It is how a test knows, without a
// timing assumption, that the server sleeps in the kernel on its doorbell.
func futexWaiter(addr *uint32) (bool, error) {
	tasks, err := filepath.Glob("/proc/self/task/*/syscall")
	if err != nil {
		return false, err
	}
	want := fmt.Sprintf("%d %#x ", unix.SYS_FUTEX, uintptr(unsafe.Pointer(addr)))
	for _, p := range tasks {
		b, err := os.ReadFile(p)
		if err != nil {
			continue // the thread exited
		}
		if strings.HasPrefix(string(b), want) {
			return true, nil
		}
	}
	return false, nil
}

// waitAsleep waits until the server of c sleeps in the kernel on its
// doorbell (the test binary's timeout bounds it).
func waitAsleep(t *testing.T, c *channel) {
	t.Helper()
	bell := c.srv.h.doorbell
	for {
		if atomic.LoadUint32(bell) == 1 {
			ok, err := futexWaiter(bell)
			if err != nil {
				t.Fatal(err)
			}
			if ok {
				return
			}
		}
		time.Sleep(time.Millisecond)
	}
}

// TestAttachAfterDriverDiedMidRing is issue 5's wedge, made
// deterministic: a driver rings the sleeping machine (it takes the
// doorbell word, 1 → 0) and is killed before its futex wake-up. The
// machine sleeps on, with the doorbell reading 0 ("awake"), so a later
// ring skips the wake-up. The next driver's attach must still be
// answered: before the fix it timed out, and so did every later one.
func TestAttachAfterDriverDiedMidRing(t *testing.T) {
	c := newChannel(t, 0)
	first := c.attach(t)
	if err := first.MMIOWrite(0, 8, 4, 1); err != nil {
		t.Fatal(err)
	}
	if _, err := first.MMIORead(0, 8, 4); err != nil {
		t.Fatal(err)
	}
	waitAsleep(t, c)
	// The dying driver's half of ring(): the swap, and no wake-up.
	if old := atomic.SwapUint32(first.h.doorbell, 0); old != 1 {
		t.Fatalf("doorbell %d, want 1 (the machine sleeps)", old)
	}
	// A rising interrupt edge from the wire side does not wake it
	// either (SetIRQ rings the same doorbell): the line is no help.
	c.srv.SetIRQ(true)
	c.srv.SetIRQ(false)

	r := c.mapRegion(t)
	cl, err := AttachTimeout(r, 5*time.Second) // a failure detector: a live machine answers in microseconds
	if err != nil {
		t.Fatalf("attach after a driver died mid-ring: %v", err)
	}
	if cl.Generation() != 2 {
		t.Errorf("generation %d, want 2", cl.Generation())
	}
	if err := cl.MMIOWrite(0, 16, 4, 0x5a); err != nil {
		t.Fatal(err)
	}
	if v, err := cl.MMIORead(0, 16, 4); err != nil || v != 0x5a {
		t.Errorf("read after the attach: %#x, %v", v, err)
	}
	// Answered because the attach woke the machine, not because its
	// sleep ran out (MaxSleep, the second line of defence).
	if st := c.srv.Stats(); st.Attaches != 2 || st.Corrupt != 0 || st.Overslept != 0 {
		t.Errorf("stats %+v", st)
	}
}

// TestLostWakeUpBounded: whatever loses a wake-up, the sleeping machine
// finds the work after MaxSleep and counts it. Here a driver's request
// finds the doorbell reading "awake" while the machine sleeps (the state
// a driver killed mid-ring leaves), so the driver does not wake it.
func TestLostWakeUpBounded(t *testing.T) {
	c := newChannel(t, 0)
	cl := c.attach(t)
	if err := cl.MMIOWrite(0, 8, 4, 7); err != nil {
		t.Fatal(err)
	}
	if _, err := cl.MMIORead(0, 8, 4); err != nil {
		t.Fatal(err)
	}
	waitAsleep(t, c)
	atomic.StoreUint32(cl.h.doorbell, 0) // the wake-up that never comes
	if v, err := cl.MMIORead(0, 8, 4); err != nil || v != 7 {
		t.Fatalf("read with the wake-up lost: %#x, %v", v, err)
	}
	if st := c.srv.Stats(); st.Overslept != 1 || st.Attaches != 1 {
		t.Errorf("stats %+v, want Overslept 1", st)
	}
}

// mapRegion maps the channel once more, as a new driver process would.
func (c *channel) mapRegion(t testing.TB) *shm.Region {
	t.Helper()
	r, err := shm.Map(c.file, true)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// sleepyDriver is the "sleepy" child of TestDriverKilledAtRandom: it
// attaches, says so, then accesses registers forever, sometimes pausing.
// The machine it talks to sleeps as soon as it is idle, so that most
// accesses ring the doorbell and wake it — the path a kill must not
// break. Its pauses come from the seed in stressSeedEnv.
func sleepyDriver(r *shm.Region) error {
	seed, err := strconv.ParseUint(os.Getenv(stressSeedEnv), 10, 64)
	if err != nil {
		return err
	}
	cl, err := AttachTimeout(r, stressAttachTimeout)
	if err != nil {
		return err
	}
	fmt.Printf("gen %d\n", cl.Generation())
	rng := rand.New(rand.NewPCG(seed, 1))
	for i := uint64(0); ; i++ {
		if rng.IntN(64) == 0 {
			time.Sleep(time.Duration(rng.IntN(200)) * time.Microsecond)
		}
		off := uint32(i%16) * 8
		if err := cl.MMIOWrite(0, off, 8, i); err != nil {
			return err
		}
		if rng.IntN(2) == 0 {
			if v, err := cl.MMIORead(0, off, 8); err != nil || v != i {
				return fmt.Errorf("read %d: %d, %v", i, v, err)
			}
		}
	}
}

const (
	stressSeedEnv = "GRAILOS_DEVCHAN_STRESS_SEED"
	// stressAttachTimeout is the sleepy child's failure detector: a live
	// machine answers an attach in microseconds.
	stressAttachTimeout = 5 * time.Second
)

// TestDriverKilledAtRandom is the restart benchmark without the OS:
// driver processes attach one after another, each accesses registers for
// a while (interrupts rising and falling meanwhile, as frames from the
// wire raise them) and is SIGKILLed at a random point; every attach must
// be answered. The machine sleeps whenever it is idle, so that most
// accesses wake it and a kill often lands in a wake-up (issue 5). GRAILOS_DEVCHAN_STRESS sets the number of kills (default 20);
// the seeds are fixed, the points where the kills land are not.
func TestDriverKilledAtRandom(t *testing.T) {
	n := 20
	if s := os.Getenv("GRAILOS_DEVCHAN_STRESS"); s != "" {
		var err error
		if n, err = strconv.Atoi(s); err != nil {
			t.Fatal(err)
		}
	}
	c := newChannelSpin(t, 0, -1) // sleeps whenever idle: most accesses wake it
	stop := make(chan struct{})
	wireDone := make(chan struct{})
	go func() { // the wire side: the line rises and falls
		defer close(wireDone)
		rng := rand.New(rand.NewPCG(5, 5))
		for level := false; ; level = !level {
			select {
			case <-stop:
				return
			default:
			}
			c.srv.SetIRQ(level)
			time.Sleep(time.Duration(rng.IntN(300)) * time.Microsecond)
		}
	}()
	defer func() { close(stop); <-wireDone }()
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 1; i <= n; i++ {
		cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$")
		cmd.Env = append(os.Environ(), helperEnv+"=sleepy", fmt.Sprintf("%s=%d", stressSeedEnv, i))
		cmd.ExtraFiles = []*os.File{c.file, c.irq}
		var errOut strings.Builder
		cmd.Stderr = &errOut
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		line, err := bufio.NewReader(out).ReadString('\n')
		if want := fmt.Sprintf("gen %d\n", i); err != nil || line != want {
			cmd.Process.Kill()
			werr := cmd.Wait()
			t.Fatalf("kill %d: driver %d said %q (%v), want %q; exit %v: %s\nserver %+v, doorbell %d",
				i-1, i, line, err, want, werr, errOut.String(), c.srv.Stats(), atomic.LoadUint32(c.srv.h.doorbell))
		}
		time.Sleep(time.Duration(rng.IntN(20000)) * time.Microsecond)
		cmd.Process.Signal(syscall.SIGKILL)
		if err := cmd.Wait(); err == nil || !strings.Contains(err.Error(), "killed") {
			t.Fatalf("driver %d: %v, want killed: %s", i, err, errOut.String())
		}
	}
	st := c.srv.Stats()
	if st.Attaches != uint64(n) || st.Corrupt != 0 || st.Refused != 0 {
		t.Errorf("stats %+v, want %d attaches", st, n)
	}
	t.Logf("%d kills; server %+v", n, st)
}
