package devchan

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"reflect"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"grailos/kernel/shm"
)

// Cross-process tests: the test binary re-executes itself as the driver,
// with the channel memfd as fd 3 and the IRQ eventfd as fd 4. helperEnv
// selects what the child does.
const helperEnv = "GRAILOS_DEVCHAN_TEST_HELPER"

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

// driverScript is what the "driver" child does, and the accesses the
// handler must see, in order.
var driverScript = []access{
	{OpConfigWrite, 0, 0x04, 2, 0x0006},
	{OpConfigRead, 0, 0x04, 2, 0},
	{OpMMIOWrite, 0, 0x40, 4, 0xCAFEF00D},
	{OpMMIOWrite, 0, 0x44, 2, 0xBEEF},
	{OpMMIORead, 0, 0x40, 8, 0},
	{OpIOWrite, 1, 0, 4, 0x7},
	{OpIORead, 1, 0, 1, 0},
	{OpMMIOWrite, 0, irqReg, 4, 1},
	{OpMMIOWrite, 0, irqReg, 4, 0},
	{OpMMIORead, 0, 0x40, 4, 0},
}

func helper(mode string) error {
	r, err := shm.Map(os.NewFile(3, "channel"), true)
	if err != nil {
		return err
	}
	if mode == "sleepy" {
		return sleepyDriver(r)
	}
	cl, err := Attach(r)
	if err != nil {
		return err
	}
	switch mode {
	case "driver":
		return runDriverScript(cl)
	case "stream":
		fmt.Printf("gen %d\n", cl.Generation())
		for i := uint64(0); ; i++ {
			off := uint32(i%32) * 8
			if err := cl.MMIOWrite(0, off, 8, i); err != nil {
				return err
			}
			if i%4 == 3 {
				if v, err := cl.MMIORead(0, off, 8); err != nil || v != i {
					return fmt.Errorf("read %d: %d, %v", i, v, err)
				}
			}
		}
	case "garbage":
		// Scribble on the producer index of the request queue (the
		// driver owns it), then ring: the machine must notice, stop
		// serving this channel and wait for a new attach.
		reqOff, _, _ := queueOffsets(DefaultQueueCap)
		atomic.StoreUint32(word32(r.Bytes(), reqOff), 0xdeadbeef)
		cl.h.ring()
		return nil
	}
	return fmt.Errorf("unknown mode %q", mode)
}

func runDriverScript(cl *Client) error {
	q, err := OpenIRQ(os.NewFile(4, "irq"))
	if err != nil {
		return err
	}
	check := func(what string, got, want uint64, err error) error {
		if err != nil || got != want {
			return fmt.Errorf("%s: %#x, %v; want %#x", what, got, err, want)
		}
		return nil
	}
	if err := cl.ConfigWrite(0x04, 2, 6); err != nil {
		return err
	}
	v, err := cl.ConfigRead(0x04, 2)
	if err := check("config", uint64(v), 6, err); err != nil {
		return err
	}
	cl.MMIOWrite(0, 0x40, 4, 0xCAFEF00D)
	cl.MMIOWrite(0, 0x44, 2, 0xBEEF)
	v64, err := cl.MMIORead(0, 0x40, 8)
	if err := check("mmio", v64, 0xBEEFCAFEF00D, err); err != nil {
		return err
	}
	if err := cl.IOWrite(1, 0, 4, 7); err != nil {
		return err
	}
	v, err = cl.IORead(1, 0, 1)
	if err := check("io", uint64(v), 7, err); err != nil {
		return err
	}
	// The interrupt: raise it through a posted write, wait for the edge
	// on the eventfd (no limit: the test binary's timeout is the bound).
	cl.MMIOWrite(0, irqReg, 4, 1)
	n, err := q.Wait(time.Time{})
	if err := check("irq edges", n, 1, err); err != nil {
		return err
	}
	if !cl.IRQLevel() {
		return fmt.Errorf("line low after the edge")
	}
	cl.MMIOWrite(0, irqReg, 4, 0)
	v64, err = cl.MMIORead(0, 0x40, 4)
	if err := check("final read", v64, 0xCAFEF00D, err); err != nil {
		return err
	}
	if cl.IRQLevel() {
		return fmt.Errorf("line high after lowering it")
	}
	return cl.Sync()
}

// startChild starts the test binary as a driver in mode on c.
func startChild(t *testing.T, c *channel, mode string) (*exec.Cmd, *bufio.Reader) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$")
	cmd.Env = append(os.Environ(), helperEnv+"="+mode)
	cmd.ExtraFiles = []*os.File{c.file, c.irq}
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	return cmd, bufio.NewReader(out)
}

func runChild(t *testing.T, c *channel, mode string) {
	t.Helper()
	cmd, _ := startChild(t, c, mode)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("%s child: %v", mode, err)
	}
}

func TestCrossProcess(t *testing.T) {
	c := newChannel(t, 0)
	runChild(t, c, "driver")
	log, gens := c.fn.snapshot()
	if !reflect.DeepEqual(log, driverScript) {
		t.Errorf("handler saw\n%+v\nwant\n%+v", log, driverScript)
	}
	if !reflect.DeepEqual(gens, []uint32{1}) {
		t.Errorf("attaches %v", gens)
	}
	if st := c.srv.Stats(); st.IRQEdges != 1 || st.Refused != 0 || st.Corrupt != 0 {
		t.Errorf("stats %+v", st)
	}
}

// TestDriverKilledMidStream kills a driver while it streams accesses;
// the machine keeps serving, and the next driver (another process)
// attaches as generation 2 and runs its script on a reset function.
func TestDriverKilledMidStream(t *testing.T) {
	c := newChannel(t, 0)
	cmd, out := startChild(t, c, "stream")
	line, err := out.ReadString('\n')
	if err != nil || line != "gen 1\n" {
		t.Fatalf("stream child said %q, %v", line, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	select {
	case <-c.fn.waitAccesses(20000):
	case err := <-exited:
		t.Fatalf("stream child exited early: %v", err)
	}
	cmd.Process.Signal(syscall.SIGKILL)
	if err := <-exited; err == nil || !strings.Contains(err.Error(), "killed") {
		t.Fatalf("stream child: %v, want killed", err)
	}
	runChild(t, c, "driver")
	log, gens := c.fn.snapshot()
	if !reflect.DeepEqual(gens, []uint32{1, 2}) {
		t.Errorf("attaches %v, want [1 2]", gens)
	}
	if !reflect.DeepEqual(log, driverScript) {
		t.Errorf("second driver's accesses\n%+v\nwant\n%+v", log, driverScript)
	}
	if st := c.srv.Stats(); st.Attaches != 2 || st.Corrupt != 0 || st.Refused != 0 {
		t.Errorf("stats %+v", st)
	}
}

// TestCorruptQueueRecovers: a driver that scribbles on its queue index
// stops the channel (reported, no crash); the next attach restores it.
func TestCorruptQueueRecovers(t *testing.T) {
	c := newChannel(t, 0)
	runChild(t, c, "garbage")
	err := <-c.corrupt
	if want := "ring: queue corrupt: producer index 3735928559, consumer index 0, capacity 256"; err.Error() != want {
		t.Errorf("corruption reported as %q, want %q", err, want)
	}
	cl := c.attach(t)
	if cl.Generation() != 2 {
		t.Errorf("generation %d", cl.Generation())
	}
	if err := cl.MMIOWrite(0, 8, 4, 5); err != nil {
		t.Fatal(err)
	}
	if v, err := cl.MMIORead(0, 8, 4); err != nil || v != 5 {
		t.Errorf("after recovery: %d, %v", v, err)
	}
	if st := c.srv.Stats(); st.Corrupt != 1 || st.Attaches != 2 {
		t.Errorf("stats %+v", st)
	}
}
