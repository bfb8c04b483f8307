//go:build dde

package main

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"grailos/arch/machine/e1000"
	dde "grailos/dde/linux"
)

var (
	ourMAC  = [6]byte{0x52, 0x54, 0x00, 0x12, 0x34, 0x56}
	peerMAC = [6]byte{0x02, 0x00, 0x00, 0x00, 0x00, 0x01}
	bcast   = [6]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
)

const poolBus = 0x40000000 // below 4 GiB: the 82540 driver sets a 32-bit DMA mask

// rig is the driver on the DDE against the in-process 82540EM, with
// everything that crosses its edges recorded.
type rig struct {
	t     *testing.T
	m     *machine
	rt    *dde.Runtime
	pool  []byte
	wire  *wire
	host  *host
	log   []string
	fired chan string // injected faults that fired (inject_test.go)
}

func newRig(t *testing.T) *rig {
	t.Helper()
	pool, err := dde.NewPool(16 << 20)
	if err != nil {
		t.Fatal(err)
	}
	r := &rig{t: t, pool: pool, wire: &wire{}, host: &host{}, fired: make(chan string, 16)}
	if r.m, err = newMachine(ourMAC, pool, poolBus, r.wire); err != nil {
		t.Fatal(err)
	}
	r.rt, err = dde.New(dde.Config{Device: r.m, Module: module, Pool: pool, PoolBus: poolBus, VirtualTime: true,
		Log: func(l string) { r.log = append(r.log, l); t.Log(l) }, Net: r.host, Fired: func(d string) { r.fired <- d }})
	if err != nil {
		t.Fatal(err)
	}
	r.m.irq = r.rt.IRQ
	t.Cleanup(func() {
		r.rt.Stop() // no-op after a Stop in the test
		dde.FreePool(pool)
	})
	return r
}

// up starts the driver, opens the interface and runs the clock until the
// watchdog has seen the link.
func (r *rig) up() {
	r.t.Helper()
	if err := r.rt.Start(); err != nil {
		r.t.Fatalf("Start: %v", err)
	}
	if err := r.rt.Open(); err != nil {
		r.t.Fatalf("Open: %v", err)
	}
	for i := 0; i < 20 && !r.carrier(); i++ {
		at, ok := r.rt.NextDeadline()
		if !ok {
			break
		}
		r.rt.RunPending(at)
	}
	if !r.carrier() {
		r.t.Fatalf("no carrier after Open; carrier changes %v", r.host.carrier)
	}
}

func (r *rig) carrier() bool {
	c := r.host.carrier
	return len(c) > 0 && c[len(c)-1]
}

// receive puts frames on the wire towards the NIC and lets the driver
// handle the interrupt; it returns what came up.
func (r *rig) receive(frames ...[]byte) [][]byte {
	r.t.Helper()
	before := len(r.host.frames)
	for i, f := range frames {
		if !r.m.nic.Receive(f) {
			r.t.Fatalf("frame %d of %d (%d bytes): the NIC did not accept it; stats %+v", i, len(frames), len(f), r.m.nic.Stats())
		}
	}
	r.rt.RunPending(r.rt.Now())
	return r.host.frames[before:]
}

// arpFrame is an ARP request (op 1) or reply (op 2) of Ethernet's
// minimum 60 bytes.
func arpFrame(op byte, src, dst [6]byte, sip, tip [4]byte) []byte {
	return arp(op, src[:], dst, sip, tip)
}

// udpLike is a frame of n bytes (n >= 60) whose payload encodes seq, so
// that every frame of a run is distinct.
func udpLike(src, dst [6]byte, n, seq int) []byte {
	f := make([]byte, n)
	copy(f, dst[:])
	copy(f[6:], src[:])
	binary.BigEndian.PutUint16(f[12:], 0x88b5) // local experimental EtherType
	binary.BigEndian.PutUint32(f[14:], uint32(seq))
	for i := 18; i < n; i++ {
		f[i] = byte(seq + i)
	}
	return f
}

func TestProbeOpenTransmitReceive(t *testing.T) {
	r := newRig(t)
	r.up()

	// The driver's own lines, formatted by its own format strings.
	for _, want := range []string{
		"e1000: Intel(R) PRO/1000 Network Driver",
		"e1000: Copyright (c) 1999-2006 Intel Corporation.",
		"e1000 0000:00:03.0 eth0: (PCI:33MHz:32-bit) 52:54:00:12:34:56",
		"e1000 0000:00:03.0 eth0: Intel(R) PRO/1000 Network Connection",
		"e1000: eth0 NIC Link is Up 1000 Mbps Full Duplex, Flow Control: RX/TX",
	} {
		if !slices.Contains(r.log, want) {
			t.Errorf("log lacks %q", want)
		}
	}
	if got := r.rt.MAC(); got != ourMAC {
		t.Errorf("MAC = %x, want %x", got, ourMAC)
	}
	if want := []bool{false, true}; !slices.Equal(r.host.carrier, want) {
		t.Errorf("carrier changes %v, want %v (off at probe, on after the watchdog)", r.host.carrier, want)
	}

	// An ARP request out: the driver pads nothing here (60 bytes already).
	req := arpFrame(1, ourMAC, bcast, [4]byte{192, 0, 2, 2}, [4]byte{192, 0, 2, 1})
	if err := r.rt.Xmit(req); err != nil {
		t.Fatalf("Xmit: %v", err)
	}
	if len(r.wire.frames) != 1 || !bytes.Equal(r.wire.frames[0], req) {
		t.Fatalf("wire got %x, want exactly %x", r.wire.frames, req)
	}

	// The reply in: through the ring, the IRQ, NAPI, up to the host.
	reply := arpFrame(2, peerMAC, ourMAC, [4]byte{192, 0, 2, 1}, [4]byte{192, 0, 2, 2})
	got := r.receive(reply)
	if len(got) != 1 || !bytes.Equal(got[0], reply) {
		t.Fatalf("host got %x, want exactly %x", got, reply)
	}

	// A short frame is padded to 60 bytes by the driver (eth_skb_pad).
	short := udpLike(ourMAC, peerMAC, 60, 7)[:42]
	if err := r.rt.Xmit(short); err != nil {
		t.Fatal(err)
	}
	if want := append(bytes.Clone(short), make([]byte, 18)...); !bytes.Equal(r.wire.frames[1], want) {
		t.Errorf("short frame on the wire %x, want %x", r.wire.frames[1], want)
	}

	st := r.rt.Stats()
	if st.TxPackets != 2 || st.RxPackets != 1 || st.DMARefused != 0 || st.Warnings != 0 || st.IRQsUnhandled != 0 {
		t.Errorf("stats %+v", st)
	}
	if len(r.m.events) != 0 {
		t.Errorf("model events: %v", r.m.events)
	}
	r.stop()
}

// stop stops the runtime and checks that the driver gave back everything.
func (r *rig) stop() {
	r.t.Helper()
	if err := r.rt.Stop(); err != nil {
		r.t.Fatalf("Stop: %v", err)
	}
	st := r.rt.Stats()
	if st.KmallocLive != 0 || st.PagesLive != 0 || st.DMACoherentLive != 0 || st.DMAMapsLive != 0 || st.PoolPagesUsed > 16 {
		r.t.Errorf("after Stop: %d kmalloc objects, %d page blocks, %d coherent buffers, %d DMA maps live; %d pool pages used",
			st.KmallocLive, st.PagesLive, st.DMACoherentLive, st.DMAMapsLive, st.PoolPagesUsed)
	}
	if s := r.m.nic.Stats(); s.DMARefused != 0 || s.TxStopped != "" || s.RxStopped != "" {
		r.t.Errorf("model after Stop: %+v", s)
	}
}

// A batch goes out in order with one doorbell per entry: the driver sees
// netdev_xmit_more() for all but the last frame it takes and writes the
// transmit tail register (TDT, 0x3818) once. Byte queue limits stop the
// queue while the device has not yet completed enough (the first entry
// takes one frame: the limit starts at 0); the rest is retried after the
// completions, as the NIC server's backlog does.
func TestXmitBatchOneDoorbell(t *testing.T) {
	r := newRig(t)
	r.up()
	var batch [][]byte
	for i := range 32 {
		batch = append(batch, udpLike(ourMAC, peerMAC, 100+i*40, i))
	}
	before := r.m.writes[0x3818]
	entries, rest := 0, batch
	for len(rest) > 0 && entries < 100 {
		sent, err := r.rt.XmitBatch(rest)
		entries++
		if err != nil && !errors.Is(err, dde.ErrQueueFull) {
			t.Fatalf("XmitBatch: %d sent, %v", sent, err)
		}
		rest = rest[sent:]
		r.rt.RunPending(r.rt.Now() + time.Millisecond) // TX completions
	}
	if len(rest) > 0 {
		t.Fatalf("%d frames still refused after %d entries", len(rest), entries)
	}
	if got := r.m.writes[0x3818] - before; got != entries {
		t.Errorf("%d TDT writes for %d entries carrying %d frames, want one per entry", got, entries, len(batch))
	}
	if entries*4 > len(batch) {
		t.Errorf("%d entries for %d frames: the queue limit never let a batch through", entries, len(batch))
	}
	if len(r.wire.frames) != len(batch) {
		t.Fatalf("wire has %d frames, want %d", len(r.wire.frames), len(batch))
	}
	for i, f := range batch {
		if !bytes.Equal(r.wire.frames[i], f) {
			t.Fatalf("frame %d on the wire %x, want %x", i, r.wire.frames[i], f)
		}
	}
	// One at a time, each frame rings the doorbell.
	before = r.m.writes[0x3818]
	for _, f := range batch[:4] {
		if err := r.rt.Xmit(f); err != nil {
			t.Fatal(err)
		}
	}
	if got := r.m.writes[0x3818] - before; got != 4 {
		t.Errorf("%d TDT writes for 4 single frames, want 4", got)
	}
}

// Hundreds of frames each way, more than either ring holds (256
// descriptors), of every size class: the copybreak path (< 256 bytes) and
// the build_skb path on receive, one frame per interrupt and bursts
// larger than the NAPI budget (64).
func TestManyFramesBothWays(t *testing.T) {
	r := newRig(t)
	r.up()
	sizes := []int{60, 64, 128, 255, 256, 257, 512, 1000, 1499, 1514}

	for i := 0; i < 600; i++ {
		f := udpLike(ourMAC, peerMAC, sizes[i%len(sizes)], i)
		if err := r.rt.Xmit(f); err != nil {
			t.Fatalf("Xmit %d: %v", i, err)
		}
		if n := len(r.wire.frames); n != i+1 || !bytes.Equal(r.wire.frames[i], f) {
			t.Fatalf("frame %d: wire has %d frames, last %x, want %x", i, n, r.wire.frames[n-1], f)
		}
	}

	for i := 0; i < 600; i++ {
		f := udpLike(peerMAC, ourMAC, sizes[i%len(sizes)], 1000+i)
		if got := r.receive(f); len(got) != 1 || !bytes.Equal(got[0], f) {
			t.Fatalf("frame %d: host got %d frames %x, want %x", i, len(got), got, f)
		}
	}

	// Bursts: 200 frames arrive before the driver runs (the RX ring has
	// room for 255), broadcast and unicast mixed.
	for burst := 0; burst < 3; burst++ {
		var in [][]byte
		for i := 0; i < 200; i++ {
			dst := ourMAC
			if i%5 == 0 {
				dst = bcast
			}
			in = append(in, udpLike(peerMAC, dst, sizes[(i+burst)%len(sizes)], 5000+burst*1000+i))
		}
		got := r.receive(in...)
		if len(got) != len(in) {
			t.Fatalf("burst %d: host got %d frames, want %d", burst, len(got), len(in))
		}
		for i := range in {
			if !bytes.Equal(got[i], in[i]) {
				t.Fatalf("burst %d frame %d: got %x, want %x", burst, i, got[i], in[i])
			}
		}
	}

	st := r.rt.Stats()
	if st.TxPackets != 600 || st.RxPackets != 1200 || st.TxBusy != 0 || st.DMARefused != 0 || st.Warnings != 0 {
		t.Errorf("stats %+v", st)
	}
	if st.NAPIPolls < 600+3*4 {
		t.Errorf("%d NAPI polls; a 200-frame burst takes at least 4 with budget 64", st.NAPIPolls)
	}
	ms := r.m.nic.Stats()
	if ms.TxFrames != 600 || ms.RxFrames != 1200 || ms.DMARefused != 0 || ms.RxMissed != 0 {
		t.Errorf("model stats %+v", ms)
	}
	r.stop()
}

// The device's DMA through the pool refuses every address outside it, as
// the machine's IOMMU does (the DDE side is tested in package linux).
func TestPoolDMARefusesOutside(t *testing.T) {
	p := poolDMA{mem: make([]byte, 8192), bus: poolBus}
	b := make([]byte, 16)
	for _, tc := range []struct {
		addr uint64
		n    int
		ok   bool
	}{
		{poolBus, 16, true},
		{poolBus + 8192 - 16, 16, true},
		{poolBus - 1, 16, false},
		{poolBus + 8192 - 15, 16, false},
		{poolBus + 8192, 1, false},
		{0, 16, false},
		{^uint64(0) - 3, 16, false},
	} {
		b = b[:tc.n]
		errR, errW := p.Read(tc.addr, b), p.Write(tc.addr, b)
		if (errR == nil) != tc.ok || (errW == nil) != tc.ok {
			t.Errorf("%#x+%d: read %v, write %v; want ok=%v", tc.addr, tc.n, errR, errW, tc.ok)
		}
	}
}

// A ring the driver would place outside the pool is refused by the
// model and reported: the IOMMU side seen end to end.
func TestDeviceDMAOutsidePoolReported(t *testing.T) {
	r := newRig(t)
	r.up()
	// Point the transmit ring outside the pool behind the driver's back
	// and kick it: the model must refuse the descriptor fetch.
	r.m.nic.WriteMMIO(0x3800, 4, 0x1000) // TDBAL
	r.m.nic.WriteMMIO(0x3804, 4, 0)      // TDBAH
	r.m.nic.WriteMMIO(0x3818, 4, 1)      // TDT
	var refused []string
	for _, e := range r.m.events {
		if e.Kind == e1000.EventDMARefused {
			refused = append(refused, e.String())
		}
	}
	if len(refused) == 0 || !strings.Contains(fmt.Sprint(refused), "outside the DMA pool") {
		t.Errorf("no refused DMA reported; events %v", r.m.events)
	}
}

// The binary carries the provenance of its C objects: exactly the
// provenance.json of this build, naming every donor source with its
// Debian package, version and SHA-256.
func TestProvenanceLinkedIn(t *testing.T) {
	onDisk, err := os.ReadFile(filepath.Join("..", "..", "..", "build", "dde", "e1000", "provenance.json"))
	if err != nil {
		t.Fatal(err)
	}
	prov := dde.Provenance()
	if prov != string(onDisk) {
		t.Fatalf("the linked provenance differs from build/dde/e1000/provenance.json (stale link?)")
	}
	var rec struct {
		Port  string
		Donor struct {
			Members []struct {
				Object, Package, Version, Source string
				Source256                        string `json:"source_sha256"`
			}
		}
	}
	if err := json.Unmarshal([]byte(prov), &rec); err != nil {
		t.Fatal(err)
	}
	var sources []string
	for _, m := range rec.Donor.Members {
		if m.Package != "linux-source-6.1" || m.Version == "" || len(m.Source256) != 64 {
			t.Errorf("member %+v", m)
		}
		sources = append(sources, path.Base(m.Source))
	}
	want := []string{"e1000_main.c", "e1000_hw.c", "e1000_ethtool.c", "e1000_param.c"}
	if rec.Port != "e1000" || !slices.Equal(sources, want) {
		t.Errorf("port %q, sources %v; want e1000, %v", rec.Port, sources, want)
	}
}

// Virtual time: the driver's watchdog (delayed work every two seconds)
// runs as the host moves the clock from deadline to deadline, and a
// cable pulled and plugged back reaches the host as carrier changes,
// through the LSC interrupt and the watchdog, with the driver's messages.
func TestWatchdogAndLinkChanges(t *testing.T) {
	r := newRig(t)
	r.up()
	advance := func(until time.Duration) {
		t.Helper()
		for i := 0; i < 100; i++ {
			at, ok := r.rt.NextDeadline()
			if !ok {
				t.Fatal("no timer pending: the watchdog stopped")
			}
			if at > until {
				r.rt.RunPending(until)
				return
			}
			r.rt.RunPending(at)
		}
		t.Fatal("the clock did not reach", until)
	}
	start := r.rt.Stats()
	advance(start.Now + 10*time.Second)
	st := r.rt.Stats()
	// Five watchdog runs (every 2 s) and the PHY-info update the link-up
	// scheduled 2 s after it.
	if runs := st.WorksRun - start.WorksRun; runs != 6 {
		t.Errorf("%d work items ran in 10 s, want 6: 5 watchdog runs and 1 PHY-info update", runs)
	}

	r.m.nic.SetLink(false) // from this goroutine: the IRQ is only noted
	r.rt.RunPending(r.rt.Now())
	advance(r.rt.Now() + 3*time.Second)
	r.m.nic.SetLink(true)
	r.rt.RunPending(r.rt.Now())
	advance(r.rt.Now() + 3*time.Second)

	if want := []bool{false, true, false, true}; !slices.Equal(r.host.carrier, want) {
		t.Errorf("carrier changes %v, want %v", r.host.carrier, want)
	}
	var link []string
	for _, l := range r.log {
		if strings.Contains(l, "NIC Link is") {
			link = append(link, l)
		}
	}
	want := []string{
		"e1000: eth0 NIC Link is Up 1000 Mbps Full Duplex, Flow Control: RX/TX",
		"e1000: eth0 NIC Link is Down",
		"e1000: eth0 NIC Link is Up 1000 Mbps Full Duplex, Flow Control: RX/TX",
	}
	if !slices.Equal(link, want) {
		t.Errorf("link messages %q, want %q", link, want)
	}
	// Frames still pass after the flap.
	f := udpLike(peerMAC, ourMAC, 100, 1)
	if got := r.receive(f); len(got) != 1 || !bytes.Equal(got[0], f) {
		t.Errorf("after the flap the host got %x", got)
	}
	if st := r.rt.Stats(); st.Warnings != 0 {
		t.Errorf("%d warnings", st.Warnings)
	}
	r.stop()
}

// With the transmitter stalled behind the driver's back, the queue stops
// (byte queue limits: nothing has completed yet, so the first frame
// fills the limit) and Xmit says so; when the device catches up, the
// completion wakes the queue, the host hears TxReady, and frames flow
// again in order.
func TestQueueStopsAndWakes(t *testing.T) {
	r := newRig(t)
	r.up()
	const regTCTL, tctlEN = 0x400, 1 << 1
	tctl := r.m.nic.ReadMMIO(regTCTL, 4)
	r.m.nic.WriteMMIO(regTCTL, 4, tctl&^tctlEN)

	first := udpLike(ourMAC, peerMAC, 200, 1)
	if err := r.rt.Xmit(first); err != nil {
		t.Fatalf("first Xmit: %v", err)
	}
	if err := r.rt.Xmit(udpLike(ourMAC, peerMAC, 200, 2)); !errors.Is(err, dde.ErrQueueFull) {
		t.Fatalf("second Xmit with nothing completed: %v, want ErrQueueFull", err)
	}
	if len(r.wire.frames) != 0 || r.host.txReady != 0 {
		t.Fatalf("stalled transmitter sent %d frames, TxReady %d", len(r.wire.frames), r.host.txReady)
	}

	r.m.nic.WriteMMIO(regTCTL, 4, tctl) // the device catches up, interrupts
	r.rt.RunPending(r.rt.Now())
	if len(r.wire.frames) != 1 || !bytes.Equal(r.wire.frames[0], first) || r.host.txReady != 1 {
		t.Fatalf("after the stall: %d frames, TxReady %d", len(r.wire.frames), r.host.txReady)
	}
	for i := 3; i < 50; i++ {
		f := udpLike(ourMAC, peerMAC, 200, i)
		if err := r.rt.Xmit(f); err != nil {
			t.Fatalf("Xmit %d after the wake: %v", i, err)
		}
		if last := r.wire.frames[len(r.wire.frames)-1]; !bytes.Equal(last, f) {
			t.Fatalf("frame %d: wire got %x", i, last)
		}
	}
	if st := r.rt.Stats(); st.TxBusy != 1 || st.TxPackets != 48 {
		t.Errorf("TxBusy %d, TxPackets %d; want 1, 48", st.TxBusy, st.TxPackets)
	}
	r.stop()
}

// advance moves the DDE clock to until, from timer deadline to timer
// deadline, as the NIC server's loop does under virtual time.
func (r *rig) advance(until time.Duration) {
	r.t.Helper()
	for range 1000 {
		at, ok := r.rt.NextDeadline()
		if !ok || at > until {
			r.rt.RunPending(until)
			return
		}
		r.rt.RunPending(at)
	}
	r.t.Fatal("the clock did not reach", until)
}

// Linux's transmit watchdog meets e1000's own hang detection: with the
// transmitter stalled behind the driver's back, e1000 notices by itself
// (its watchdog task, every 2 s, finds the oldest frame unsent for more
// than a second: "Detected Tx Unit Hang") and stops its queue again —
// and netif_tx_stop_queue stamps the queue's trans_start (as in the
// donor's kernel, 6.1.192), so the queue is never stopped 5 s "since the
// last transmit": the DDE's watchdog, like Linux's, never calls
// e1000_tx_timeout, and the driver stays stalled. (The 8139too test
// shows the watchdog's reset.)
func TestTxWatchdogAndE1000HangDetection(t *testing.T) {
	r := newRig(t)
	r.up()
	const regTCTL, tctlEN = 0x400, 1 << 1
	tctl := r.m.nic.ReadMMIO(regTCTL, 4)
	r.m.nic.WriteMMIO(regTCTL, 4, tctl&^tctlEN)
	if err := r.rt.Xmit(udpLike(ourMAC, peerMAC, 200, 1)); err != nil {
		t.Fatalf("first Xmit: %v", err)
	}
	if err := r.rt.Xmit(udpLike(ourMAC, peerMAC, 200, 2)); !errors.Is(err, dde.ErrQueueFull) {
		t.Fatalf("second Xmit: %v, want ErrQueueFull", err)
	}
	r.advance(r.rt.Now() + 30*time.Second)
	hangs := 0
	for _, l := range r.log {
		if strings.HasSuffix(l, "eth0: Detected Tx Unit Hang") {
			hangs++
		}
		if strings.Contains(l, "NETDEV WATCHDOG") {
			t.Errorf("watchdog: %q", l)
		}
	}
	if len(r.host.txTimeouts) != 0 || hangs != 15 {
		t.Errorf("transmit timeouts %v, %d hangs detected by e1000 in 30 s; want none and 15 (every 2 s)", r.host.txTimeouts, hangs)
	}
}

// benchRig is newRig for benchmarks: no per-line test logging.
func benchRig(b *testing.B) *rig {
	pool, err := dde.NewPool(16 << 20)
	if err != nil {
		b.Fatal(err)
	}
	r := &rig{pool: pool, wire: &wire{}, host: &host{}}
	if r.m, err = newMachine(ourMAC, pool, poolBus, discard{}); err != nil {
		b.Fatal(err)
	}
	r.rt, err = dde.New(dde.Config{Device: r.m, Module: module, Pool: pool, PoolBus: poolBus, VirtualTime: true,
		Log: func(string) {}, Net: r.host})
	if err != nil {
		b.Fatal(err)
	}
	r.m.irq = r.rt.IRQ
	b.Cleanup(func() { r.rt.Stop(); dde.FreePool(pool) })
	if err := r.rt.Start(); err != nil {
		b.Fatal(err)
	}
	if err := r.rt.Open(); err != nil {
		b.Fatal(err)
	}
	for i := 0; i < 20 && len(r.host.carrier) < 2; i++ {
		at, _ := r.rt.NextDeadline()
		r.rt.RunPending(at)
	}
	return r
}

type discard struct{}

func (discard) Send([]byte) error { return nil }

// One 1514-byte frame through ndo_start_xmit, the model and the TX-clean
// NAPI poll, per iteration.
func BenchmarkXmit1514(b *testing.B) {
	r := benchRig(b)
	f := udpLike(ourMAC, peerMAC, 1514, 1)
	b.ReportAllocs()
	b.SetBytes(int64(len(f)))
	for b.Loop() {
		if err := r.rt.Xmit(f); err != nil {
			b.Fatal(err)
		}
	}
}

// One 1514-byte frame from the model's receive through the IRQ and the
// RX NAPI poll to the host, per iteration.
func BenchmarkReceive1514(b *testing.B) {
	r := benchRig(b)
	f := udpLike(peerMAC, ourMAC, 1514, 1)
	b.ReportAllocs()
	b.SetBytes(int64(len(f)))
	for b.Loop() {
		r.m.nic.Receive(f)
		r.rt.RunPending(r.rt.Now())
		r.host.frames = r.host.frames[:0]
	}
}
