package host

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"grailos/arch/machine/devchan"
	"grailos/arch/machine/internal/frames"
	"grailos/arch/machine/pci"
	"grailos/arch/machine/wire"
)

var (
	ourIP   = netip.MustParseAddr("192.0.2.2")
	peerIP  = netip.MustParseAddr("192.0.2.1")
	peerMAC = [6]byte{0x02, 0x00, 0x00, 0x00, 0x02, 0x01}
	nsSeq   atomic.Int32 // keeps namespace names unique within a run
)

// The test binary re-executes itself as the machine process (machineEnv
// holds its arguments as JSON) and as a driver process (driverEnv holds
// the mode; fds 3, 4, 5 are the channel, the pool and the eventfd).
const (
	machineEnv = "GRAILOS_HOST_TEST_MACHINE"
	driverEnv  = "GRAILOS_HOST_TEST_DRIVER"
)

func TestMain(m *testing.M) {
	if args := os.Getenv(machineEnv); args != "" {
		var a []string
		if err := json.Unmarshal([]byte(args), &a); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		os.Exit(Main(a, os.Stderr))
	}
	if mode := os.Getenv(driverEnv); mode != "" {
		if err := driverChild(mode); err != nil {
			fmt.Fprintln(os.Stderr, "driver child:", err)
			os.Exit(2)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// driverChild is a driver process. "stream" enables the function and
// then reads and writes registers forever, reporting once that it runs,
// to be killed mid-stream.
func driverChild(mode string) error {
	d, _, err := attachDriver(os.NewFile(3, "channel"), os.NewFile(4, "pool"), os.NewFile(5, "irq"), DefaultBusBase)
	if err != nil {
		return err
	}
	if mode != "stream" {
		return fmt.Errorf("unknown mode %q", mode)
	}
	if err := d.enable(); err != nil {
		return err
	}
	for i := uint32(0); ; i++ {
		d.w32(rRDTR, i&0xFFFF)
		if got := d.r32(rRDTR); got != i&0xFFFF {
			return fmt.Errorf("RDTR %#x, want %#x", got, i&0xFFFF)
		}
		if i == 1000 {
			fmt.Printf("streaming generation %d\n", d.cl.Generation())
		}
	}
}

// logLines collects a process's log lines and lets a test wait for one.
type logLines struct {
	mu      sync.Mutex
	lines   []string
	waiters map[string]chan string
	done    chan struct{}
}

func watchLog(r *os.File) *logLines {
	l := &logLines{waiters: map[string]chan string{}, done: make(chan struct{})}
	go func() {
		defer close(l.done)
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			line := sc.Text()
			fmt.Fprintln(os.Stderr, line)
			l.mu.Lock()
			l.lines = append(l.lines, line)
			for sub, ch := range l.waiters {
				if strings.Contains(line, sub) {
					ch <- line
					delete(l.waiters, sub)
				}
			}
			l.mu.Unlock()
		}
	}()
	return l
}

// wait returns a channel that receives the first line containing sub.
func (l *logLines) wait(sub string) <-chan string {
	l.mu.Lock()
	defer l.mu.Unlock()
	ch := make(chan string, 1)
	for _, line := range l.lines {
		if strings.Contains(line, sub) {
			ch <- line
			return ch
		}
	}
	l.waiters[sub] = ch
	return ch
}

func (l *logLines) all() string {
	<-l.done
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

// machineProc is a machine process started from the test binary.
type machineProc struct {
	cmd  *exec.Cmd
	ctl  *net.UnixConn
	log  *logLines
	ns   string
	hand *devchan.Handoff
}

func startMachine(t *testing.T, args ...string) *machineProc {
	t.Helper()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	mine, theirs := os.NewFile(uintptr(fds[0]), "ctl"), os.NewFile(uintptr(fds[1]), "machine-ctl")
	ns := fmt.Sprintf("grail-ht-%d-%d", os.Getpid(), nsSeq.Add(1))
	args = append([]string{"-netns", ns}, args...)
	js, _ := json.Marshal(args)
	p := &machineProc{cmd: exec.Command(os.Args[0]), ns: ns}
	p.cmd.Env = append(os.Environ(), machineEnv+"="+string(js))
	p.cmd.Stdin = theirs
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	p.cmd.Stderr = pw
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	theirs.Close()
	pw.Close()
	p.log = watchLog(pr)
	t.Cleanup(func() {
		if p.cmd.ProcessState == nil {
			p.cmd.Process.Signal(syscall.SIGTERM)
			p.cmd.Wait()
		}
		if p.hand != nil {
			p.hand.Close()
		}
		if err := wire.RemoveNetns(ns); err != nil { // only if the machine died without cleaning up
			t.Error(err)
		}
	})
	c, err := net.FileConn(mine)
	mine.Close()
	if err != nil {
		t.Fatal(err)
	}
	p.ctl = c.(*net.UnixConn)
	if p.hand, err = devchan.ReceiveHandoff(p.ctl); err != nil {
		t.Fatalf("handoff: %v\n%s", err, p.log.all())
	}
	return p
}

// stop closes the control socket (the machine's stdin EOF) and waits for
// a clean exit.
func (p *machineProc) stop(t *testing.T) string {
	t.Helper()
	p.ctl.Close()
	if err := p.cmd.Wait(); err != nil {
		t.Errorf("machine exit: %v", err)
	}
	return p.log.all()
}

func needNet(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to create network namespaces and TAP devices")
	}
	if _, err := os.Stat("/dev/net/tun"); err != nil {
		t.Skipf("no /dev/net/tun: %v", err)
	}
}

var statsRE = regexp.MustCompile(`stats: mmio (\d+) io (\d+) config (\d+) refused (\d+) dma-refused (\d+) frames-in (\d+) \(to ring (\d+)\) frames-out (\d+) attaches (\d+) irq-edges (\d+)`)

func parseStats(t *testing.T, log string) Stats {
	t.Helper()
	m := statsRE.FindStringSubmatch(log)
	if m == nil {
		t.Fatalf("no stats line in the log:\n%s", log)
	}
	n := make([]uint64, len(m))
	for i := 1; i < len(m); i++ {
		n[i], _ = strconv.ParseUint(m[i], 10, 64)
	}
	return Stats{MMIO: n[1], IO: n[2], Config: n[3], Refused: n[4], DMARefused: n[5], FramesIn: n[6],
		RxFrames: n[7], FramesOut: n[8], Attaches: n[9], IRQEdges: n[10]}
}

// TestMachineProcess runs the machine as its own process with a wire: a
// first driver process is killed mid-stream, a second driver (this test)
// attaches, brings the NIC up through the channel, exchanges ARP and
// ICMP with the peer namespace's kernel through the model, and answers a
// ping run inside the namespace. Closing the control socket shuts the
// machine down, and the namespace is gone.
func TestMachineProcess(t *testing.T) {
	needNet(t)
	p := startMachine(t)
	h := p.hand
	if h.Name != "e1000-0" || h.VendorID != 0x8086 || h.DeviceID != 0x100E || h.MAC != "52:54:00:12:34:56" ||
		h.PoolSize != DefaultPoolSize || h.BusBase != DefaultBusBase || h.Netns != p.ns ||
		strings.Join(h.PeerAddrs, ",") != "192.0.2.1/24" || h.BARs[0] != (devchan.BAR{Size: 128 << 10}) {
		t.Fatalf("description %+v", h.Description)
	}
	if _, err := os.Stat(wire.NetnsPath(p.ns)); err != nil {
		t.Fatalf("peer namespace: %v", err)
	}

	// Driver 1, another process, killed while streaming accesses.
	child := exec.Command(os.Args[0])
	child.Env = append(os.Environ(), driverEnv+"=stream")
	child.ExtraFiles = []*os.File{h.Channel, h.Pool, h.IRQ}
	child.Stderr = os.Stderr
	out, err := child.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || line != "streaming generation 1\n" {
		child.Process.Kill()
		child.Wait()
		t.Fatalf("driver 1 said %q, %v", line, err)
	}
	child.Process.Kill()
	if err := child.Wait(); err == nil || !strings.Contains(err.Error(), "killed") {
		t.Fatalf("driver 1: %v", err)
	}

	// Driver 2: this process.
	d, release, err := attachDriver(h.Channel, h.Pool, h.IRQ, h.BusBase)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	if d.cl.Generation() != 2 {
		t.Errorf("generation %d, want 2", d.cl.Generation())
	}
	<-p.log.wait("driver attached (generation 2): function reset")
	if cmd, err := d.cl.ConfigRead(pci.OffCommand, 2); err != nil || cmd != 0 {
		t.Errorf("command register after the new attach: %#x, %v (want the reset value 0)", cmd, err)
	}
	if err := d.bringUp(); err != nil {
		t.Fatal(err)
	}
	if d.mac != DefaultMAC {
		t.Fatalf("MAC %x", d.mac)
	}
	me := frames.Responder{MAC: d.mac, IP: ourIP}
	answer := func(f []byte) {
		if r, ok := me.Answer(f); ok {
			if err := d.send(r); err != nil {
				t.Error(err)
			}
		}
	}

	// Our side asks the peer: ARP, then ICMP echo.
	if err := d.send(frames.WhoHas(d.mac, ourIP, peerIP)); err != nil {
		t.Fatal(err)
	}
	var arp frames.ARP
	if err := d.poll(func(f []byte) bool {
		a, ok := frames.ParseARP(f)
		if ok && a.Op == frames.ARPReply {
			arp = a
			return true
		}
		answer(f)
		return false
	}); err != nil {
		t.Fatal(err)
	}
	if arp.SenderIP != peerIP || arp.TargetIP != ourIP || arp.TargetMAC != d.mac || arp.Dst != d.mac || arp.SenderMAC != arp.Src {
		t.Fatalf("ARP reply %+v", arp)
	}
	payload := []byte("through the 82540EM model")
	if err := d.send(frames.Echo{Dst: arp.SenderMAC, Src: d.mac, SrcIP: ourIP, DstIP: peerIP,
		Type: frames.EchoRequest, ID: 0x6772, Seq: 1, Payload: payload}.Frame()); err != nil {
		t.Fatal(err)
	}
	var echo frames.Echo
	if err := d.poll(func(f []byte) bool {
		e, ok := frames.ParseEcho(f)
		if ok && e.Type == frames.EchoReply {
			echo = e
			return true
		}
		answer(f)
		return false
	}); err != nil {
		t.Fatal(err)
	}
	if echo.SrcIP != peerIP || echo.DstIP != ourIP || echo.ID != 0x6772 || echo.Seq != 1 || !bytes.Equal(echo.Payload, payload) {
		t.Fatalf("echo reply %+v", echo)
	}

	// The peer pings us: our driver answers through the model.
	ping, err := exec.LookPath("ping")
	if err != nil {
		t.Skip("needs ping (iputils-ping) for the peer's side")
	}
	type result struct {
		out []byte
		err error
	}
	pinged := make(chan result, 1)
	go func() {
		out, err := exec.Command("ip", "netns", "exec", p.ns, ping, "-c1", "-W2", ourIP.String()).CombinedOutput()
		pinged <- result{out, err}
	}()
	if err := d.poll(func(f []byte) bool {
		e, ok := frames.ParseEcho(f)
		answer(f)
		return ok && e.Type == frames.EchoRequest && e.DstIP == ourIP
	}); err != nil {
		t.Fatal(err)
	}
	res := <-pinged
	if res.err != nil || !strings.Contains(string(res.out), "1 packets transmitted, 1 received") {
		t.Fatalf("ping from the peer: %v\n%s", res.err, res.out)
	}
	t.Logf("peer's ping:\n%s", res.out)

	// Shut down: stdin EOF. The namespace must be gone.
	log := p.stop(t)
	if !strings.Contains(log, "control socket closed: shutting down") {
		t.Errorf("no shutdown line:\n%s", log)
	}
	if _, err := os.Stat(wire.NetnsPath(p.ns)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("namespace after shutdown: %v", err)
	}
	st := parseStats(t, log)
	if st.Attaches != 2 || st.Refused != 0 || st.DMARefused != 0 || st.FramesOut != uint64(d.sent) ||
		st.RxFrames < uint64(d.received) || st.FramesIn < st.RxFrames || st.IO != 2 || st.IRQEdges == 0 || st.MMIO < 2000 {
		t.Errorf("stats %+v (driver sent %d, received %d)", st, d.sent, d.received)
	}
}

// TestMachineSIGTERM: SIGTERM shuts the machine down cleanly too,
// removing its namespace; a machine without a wire needs no privileges.
func TestMachineSIGTERM(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		wire bool
	}{
		{"no wire", []string{"-no-wire"}, false},
		{"wire", nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.wire {
				needNet(t)
			}
			p := startMachine(t, tc.args...)
			if tc.wire != (p.hand.Netns == p.ns) {
				t.Errorf("description names netns %q", p.hand.Netns)
			}
			if _, err := os.Stat(wire.NetnsPath(p.ns)); tc.wire != (err == nil) {
				t.Errorf("namespace while running: %v", err)
			}
			p.cmd.Process.Signal(syscall.SIGTERM)
			if err := p.cmd.Wait(); err != nil {
				t.Errorf("exit after SIGTERM: %v", err)
			}
			log := p.log.all()
			if !strings.Contains(log, "signal: shutting down") {
				t.Errorf("log:\n%s", log)
			}
			if st := parseStats(t, log); st != (Stats{}) {
				t.Errorf("stats of an unused machine %+v", st)
			}
			if _, err := os.Stat(wire.NetnsPath(p.ns)); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("namespace after SIGTERM: %v", err)
			}
		})
	}
}

func TestMainRejectsFlags(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"-mac", "01:00:00:00:00:01", "-no-wire"}, "is a group address"},
		{[]string{"-mac", "nonsense"}, "-mac \"nonsense\": not a 48-bit MAC address"},
		{[]string{"-addr", "192.0.2.1"}, "-addr: netip.ParsePrefix(\"192.0.2.1\"): no '/'"},
		{[]string{"extra"}, "unexpected arguments [\"extra\"]"},
		{[]string{"-model", "ne2000", "-no-wire"}, `-model: unknown device model "ne2000" (have e1000, rtl8139)`},
		{[]string{"-ctl-fd", "1", "-no-wire"}, "control socket fd 1"},
	}
	for _, tc := range tests {
		var out bytes.Buffer
		if code := Main(tc.args, &out); code == 0 || !strings.Contains(out.String(), tc.want) {
			t.Errorf("Main(%q) = %d:\n%s\nwant %q", tc.args, code, out.String(), tc.want)
		}
	}
}
