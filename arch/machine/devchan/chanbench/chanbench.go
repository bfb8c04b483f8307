// Package chanbench measures the device channel between two processes:
// MMIO reads (round trips through the request and reply queues) and
// posted MMIO writes (throughput through the request queue), against a
// baseline measured in the same run with the same peer process: a
// 24-byte request/response over a SOCK_SEQPACKET Unix socket, the size of
// one channel request.
//
// The peer is this program re-executed (MaybePeer, called first in main,
// as bench/ipc does). It is the machine side: it lays the channel out and
// serves it with a plain register file, so the figures are the channel's
// cost, not a device model's. The driver side runs in the calling process.
package chanbench

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"sort"
	"time"

	"golang.org/x/sys/unix"

	"grailos/arch/machine/devchan"
	"grailos/kernel/shm"
)

const peerEnv = "GRAIL_BENCH_DEVCHAN_PEER"

// regs is the peer's register file: BAR0, 4 KiB of 32-bit registers.
type regs struct{ r [1024]uint32 }

func (*regs) Attach(uint32) {}
func (*regs) ConfigRead(off uint32, size int) (uint32, devchan.Status) {
	return 0, devchan.StatusOK
}
func (*regs) ConfigWrite(off uint32, size int, v uint32) devchan.Status { return devchan.StatusOK }
func (g *regs) MMIORead(bar int, off uint32, size int) (uint64, devchan.Status) {
	return uint64(g.r[off/4]), devchan.StatusOK
}
func (g *regs) MMIOWrite(bar int, off uint32, size int, v uint64) devchan.Status {
	g.r[off/4] = uint32(v)
	return devchan.StatusOK
}
func (*regs) IORead(bar int, off uint32, size int) (uint32, devchan.Status) {
	return 0, devchan.StatusRefused
}
func (*regs) IOWrite(bar int, off uint32, size int, v uint32) devchan.Status {
	return devchan.StatusRefused
}

// MaybePeer turns this process into the benchmark's machine side if it
// was started as one; it never returns then. Call it first in main.
func MaybePeer() {
	if os.Getenv(peerEnv) == "" {
		return
	}
	if err := peer(); err != nil {
		fmt.Fprintln(os.Stderr, "chanbench peer:", err)
		os.Exit(2)
	}
	os.Exit(0)
}

// peer serves the channel in fd 3 and echoes packets on the socket in
// fd 4 until the socket closes. The first packet it sends says the
// channel is laid out.
func peer() error {
	r, err := shm.Map(os.NewFile(3, "channel"), true)
	if err != nil {
		return err
	}
	srv, err := devchan.NewServer(r, devchan.Config{BARs: [devchan.NumBARs]devchan.BAR{{Size: 4096}}}, &regs{})
	if err != nil {
		return err
	}
	go srv.Serve()
	sock := os.NewFile(4, "socket")
	buf := make([]byte, 64)
	if _, err := sock.Write([]byte("ready")); err != nil {
		return err
	}
	for {
		n, err := sock.Read(buf)
		if err != nil || n == 0 {
			srv.Close()
			return nil
		}
		if _, err := sock.Write(buf[:n]); err != nil {
			return err
		}
	}
}

// Latency summarises round-trip samples, in microseconds.
type Latency struct {
	N   int     `json:"n"`
	P50 float64 `json:"p50_us"`
	P99 float64 `json:"p99_us"`
	Max float64 `json:"max_us"`
}

func summarize(s []time.Duration) Latency {
	if len(s) == 0 {
		return Latency{}
	}
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	at := func(q float64) float64 { return float64(s[int(q*float64(len(s)-1))]) / 1e3 }
	return Latency{N: len(s), P50: at(0.50), P99: at(0.99), Max: float64(s[len(s)-1]) / 1e3}
}

// Result is one run's figures.
type Result struct {
	ColdRead      Latency `json:"mmio_read_cold"`      // the machine asleep on its doorbell first
	Read          Latency `json:"mmio_read"`           // per read, sampled one by one
	ReadsPerSec   float64 `json:"mmio_reads_per_s"`    // back-to-back reads, unsampled
	PostedPerSec  float64 `json:"posted_writes_per_s"` // back-to-back posted writes, then one Sync
	Socket        Latency `json:"socket_rtt"`          // baseline, sampled
	ColdSocket    Latency `json:"socket_rtt_cold"`     // baseline after the same idle time as ColdRead
	SocketPerSec  float64 `json:"socket_rtts_per_s"`   // baseline, unsampled
	ReadSpeedup   float64 `json:"read_speedup"`        // Socket.P50 / Read.P50
	PostedVsReads float64 `json:"posted_vs_reads"`     // PostedPerSec / ReadsPerSec
}

// Print writes the result for a person.
func (r Result) Print(w io.Writer) {
	fmt.Fprintf(w, "device channel, two processes (n=%d)\n", r.Read.N)
	fmt.Fprintf(w, "  mmio read round trip   p50 %7.2f us  p99 %7.2f us  max %8.1f us  %10.0f reads/s\n",
		r.Read.P50, r.Read.P99, r.Read.Max, r.ReadsPerSec)
	fmt.Fprintf(w, "  mmio read, machine asleep p50 %7.2f us  p99 %7.2f us  (n=%d)\n", r.ColdRead.P50, r.ColdRead.P99, r.ColdRead.N)
	fmt.Fprintf(w, "  posted mmio write                                                  %10.0f writes/s\n", r.PostedPerSec)
	fmt.Fprintf(w, "  baseline: unix seqpacket p50 %7.2f us  p99 %7.2f us  max %8.1f us  %10.0f rtt/s\n",
		r.Socket.P50, r.Socket.P99, r.Socket.Max, r.SocketPerSec)
	fmt.Fprintf(w, "  baseline after idle:      p50 %7.2f us  p99 %7.2f us  (n=%d)\n", r.ColdSocket.P50, r.ColdSocket.P99, r.ColdSocket.N)
	fmt.Fprintf(w, "  read p50 is %.1fx faster than the socket; posted writes run at %.1fx the read rate\n",
		r.ReadSpeedup, r.PostedVsReads)
}

// JSON writes the result as JSON.
func (r Result) JSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// Run starts the peer (this executable, which must call MaybePeer) and
// measures n operations of each kind, after a warm-up of n/10.
func Run(n int) (Result, error) {
	if n < 10 {
		return Result{}, errors.New("chanbench: n must be at least 10")
	}
	p, err := Start()
	if err != nil {
		return Result{}, err
	}
	defer p.Close()
	return measure(p.Client, p.Socket, n)
}

// Peer is a running benchmark peer: the driver's end of a channel it
// serves and a socket it echoes on.
type Peer struct {
	Client *devchan.Client
	Socket *net.UnixConn
	cmd    *exec.Cmd
	region *shm.Region
}

// Start starts the peer process (this executable, which must call
// MaybePeer) and attaches to its channel.
func Start() (*Peer, error) {
	size, err := devchan.RegionBytes(0)
	if err != nil {
		return nil, err
	}
	mf, err := shm.Create("chanbench", size)
	if err != nil {
		return nil, err
	}
	defer mf.Close()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	mine, theirs := os.NewFile(uintptr(fds[0]), "bench"), os.NewFile(uintptr(fds[1]), "peer")
	defer mine.Close()
	exe, err := os.Executable()
	if err != nil {
		theirs.Close()
		return nil, err
	}
	p := &Peer{cmd: exec.Command(exe)}
	p.cmd.Env = append(os.Environ(), peerEnv+"=1")
	p.cmd.ExtraFiles = []*os.File{mf, theirs}
	p.cmd.Stderr = os.Stderr
	err = p.cmd.Start()
	theirs.Close()
	if err != nil {
		return nil, err
	}
	fc, err := net.FileConn(mine)
	if err != nil {
		p.Close()
		return nil, err
	}
	p.Socket = fc.(*net.UnixConn)
	buf := make([]byte, 64)
	if n, err := p.Socket.Read(buf); err != nil || string(buf[:n]) != "ready" {
		p.Close()
		return nil, fmt.Errorf("chanbench: peer did not start: %q, %v", buf[:n], err)
	}
	if p.region, err = shm.Map(mf, true); err != nil {
		p.Close()
		return nil, err
	}
	if p.Client, err = devchan.Attach(p.region); err != nil {
		p.Close()
		return nil, err
	}
	return p, nil
}

// Close stops the peer (it exits when its socket closes) and waits for it.
func (p *Peer) Close() error {
	if p.Socket != nil {
		p.Socket.Close()
	}
	err := p.cmd.Wait()
	if p.region != nil {
		p.region.Close()
	}
	return err
}

func measure(cl *devchan.Client, sock *net.UnixConn, n int) (Result, error) {
	var res Result
	warm := n / 10
	samples := make([]time.Duration, 0, n)
	for i := range warm + n {
		t := time.Now()
		if _, err := cl.MMIORead(0, uint32(i%1024)*4, 4); err != nil {
			return res, err
		}
		if i >= warm {
			samples = append(samples, time.Since(t))
		}
	}
	res.Read = summarize(samples)
	// Cold reads: idle long enough (1 ms, far past the server's spin)
	// that the machine sleeps on its doorbell, so the read pays the
	// futex wake-up.
	cold := make([]time.Duration, 0, max(n/100, 10))
	for i := range cap(cold) {
		time.Sleep(time.Millisecond)
		t := time.Now()
		if _, err := cl.MMIORead(0, uint32(i%1024)*4, 4); err != nil {
			return res, err
		}
		cold = append(cold, time.Since(t))
	}
	res.ColdRead = summarize(cold)
	t := time.Now()
	for i := range n {
		if _, err := cl.MMIORead(0, uint32(i%1024)*4, 4); err != nil {
			return res, err
		}
	}
	res.ReadsPerSec = float64(n) / time.Since(t).Seconds()
	t = time.Now()
	for i := range n {
		if err := cl.MMIOWrite(0, uint32(i%1024)*4, 4, uint64(i)); err != nil {
			return res, err
		}
	}
	if err := cl.Sync(); err != nil {
		return res, err
	}
	res.PostedPerSec = float64(n) / time.Since(t).Seconds()

	msg, got := make([]byte, 24), make([]byte, 64)
	samples = samples[:0]
	roundTrip := func(i int) error {
		msg[0] = byte(i)
		if _, err := sock.Write(msg); err != nil {
			return err
		}
		if k, err := sock.Read(got); err != nil || k != len(msg) || got[0] != byte(i) {
			return fmt.Errorf("chanbench: socket echo %d bytes, %v", k, err)
		}
		return nil
	}
	for i := range warm + n {
		t := time.Now()
		if err := roundTrip(i); err != nil {
			return res, err
		}
		if i >= warm {
			samples = append(samples, time.Since(t))
		}
	}
	res.Socket = summarize(samples)
	cold = cold[:0]
	for i := range cap(cold) {
		time.Sleep(time.Millisecond)
		t := time.Now()
		if err := roundTrip(i); err != nil {
			return res, err
		}
		cold = append(cold, time.Since(t))
	}
	res.ColdSocket = summarize(cold)
	t = time.Now()
	for i := range n {
		if err := roundTrip(i); err != nil {
			return res, err
		}
	}
	res.SocketPerSec = float64(n) / time.Since(t).Seconds()
	if res.Read.P50 > 0 {
		res.ReadSpeedup = res.Socket.P50 / res.Read.P50
	}
	if res.ReadsPerSec > 0 {
		res.PostedVsReads = res.PostedPerSec / res.ReadsPerSec
	}
	return res, nil
}
