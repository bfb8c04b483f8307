package host

import (
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"grailos/arch/machine/devchan"
	"grailos/arch/machine/hw"
	"grailos/arch/machine/pci"
)

// ctlPair returns both ends of a SOCK_SEQPACKET socket pair.
func ctlPair(t *testing.T) (mine, theirs *net.UnixConn) {
	t.Helper()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	conn := func(fd int) *net.UnixConn {
		f := os.NewFile(uintptr(fd), "ctl")
		defer f.Close()
		c, err := net.FileConn(f)
		if err != nil {
			t.Fatal(err)
		}
		return c.(*net.UnixConn)
	}
	return conn(fds[0]), conn(fds[1])
}

func readMsg(t *testing.T, c *net.UnixConn) hw.Message {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 2048)
	n, err := c.Read(buf)
	if err != nil {
		t.Fatalf("control reply: %v", err)
	}
	m, err := hw.ParseMessage(buf[:n])
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// The control socket after the handoff: malformed requests are refused
// with a reason and change nothing; a fault is armed, fires when the
// driver's accesses meet it and ends, each reported in order with the
// machine's clock; a second fault waits for the first to end; closing
// the socket ends ServeControl.
func TestServeControl(t *testing.T) {
	m, err := New(Config{Name: "ctl-test"})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	mine, theirs := ctlPair(t)
	defer mine.Close()
	served := make(chan struct{})
	go func() { m.ServeControl(theirs); theirs.Close(); close(served) }()
	send := func(s string) {
		if _, err := mine.Write([]byte(s)); err != nil {
			t.Fatal(err)
		}
	}
	for _, bad := range []struct{ msg, want string }{
		{"hello", "unknown request"},
		{"fault {nope", "invalid character"},
		{`fault {"id":"f","c":"device","s":"irq-sideways","k":1}`, "unknown device fault"},
		{`fault {"id":"f","c":"device","s":"irq-lost","k":0}`, "events 0"},
		{strings.Repeat("x", 4000), "at most"},
	} {
		send(bad.msg)
		if r := readMsg(t, mine); r.State != hw.MessageError || !strings.Contains(r.Detail, bad.want) {
			t.Errorf("%.20q: reply %+v, want an error with %q", bad.msg, r, bad.want)
		}
	}

	// irq-stuck on the 1st ICR read, for 2: read ICR 3 times through the
	// function as a driver would.
	fn := m.Function()
	fn.ConfigWrite(0x04, 2, uint32(pci.CmdMemory)) // the command register
	t0 := monotonic()
	send(`fault {"id":"s1","c":"device","s":"irq-stuck","k":1,"x":2}`)
	if r := readMsg(t, mine); r.State != hw.FaultArmed || r.ID != "s1" || r.T < t0 || r.Detail != "irq-stuck: events 1 to 2" {
		t.Fatalf("reply %+v, want armed", r)
	}
	send(`fault {"id":"s2","c":"device","s":"dma-dup","k":1}`)
	if r := readMsg(t, mine); r.State != hw.MessageError || !strings.Contains(r.Detail, "another device fault is armed (s1)") {
		t.Errorf("second fault: %+v", r)
	}
	for range 3 {
		if _, st := fn.MMIORead(0, 0xC0, 4); st != devchan.StatusOK {
			t.Fatal(st)
		}
	}
	fired, done := readMsg(t, mine), readMsg(t, mine)
	if fired.State != hw.FaultFired || fired.ID != "s1" || fired.Detail != "irq-stuck: ICR read 1" {
		t.Errorf("fired: %+v", fired)
	}
	if done.State != hw.FaultDone || done.ID != "s1" || done.T < fired.T || done.Detail != "irq-stuck: ICR read 3 behaved after 2 faulty" {
		t.Errorf("done: %+v", done)
	}
	if e := m.Stats().IRQEdges; e != 2 {
		t.Errorf("%d interrupt edges, want 2 (one per stuck read)", e)
	}
	// The next fault may come now.
	send(`fault {"id":"s2","c":"device","s":"dma-dup","k":1}`)
	if r := readMsg(t, mine); r.State != hw.FaultArmed || r.ID != "s2" {
		t.Errorf("after the first ended: %+v", r)
	}
	mine.Close()
	select {
	case <-served:
	case <-time.After(5 * time.Second):
		t.Fatal("ServeControl did not return when the socket closed")
	}
}
