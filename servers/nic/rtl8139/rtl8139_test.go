//go:build dde

package main

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"grailos/arch/machine/host"
	dde "grailos/dde/linux"
	"grailos/servers/nic/ddenic"
)

var (
	ourMAC  = [6]byte{0x52, 0x54, 0x00, 0x12, 0x34, 0x56}
	peerMAC = [6]byte{0x02, 0x00, 0x00, 0x00, 0x00, 0x01}
	bcast   = [6]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
)

const poolBus = 0x40000000 // below 4 GiB: 8139too sets a 32-bit DMA mask

// rig is the 8139too driver on the DDE against the in-process RTL8139
// (the machine's own PCI function), with what crosses its edges recorded.
type rig struct {
	t   *testing.T
	m   *ddenic.Machine
	nic host.RTL8139
	rt  *dde.Runtime
	rec *ddenic.Recorder
	log []string
}

func newRig(t *testing.T) *rig {
	t.Helper()
	pool, err := dde.NewPool(16 << 20)
	if err != nil {
		t.Fatal(err)
	}
	r := &rig{t: t, rec: &ddenic.Recorder{}}
	if r.m, err = ddenic.NewMachine("rtl8139", ourMAC, pool, poolBus, r.rec); err != nil {
		t.Fatal(err)
	}
	r.nic = r.m.Model().(host.RTL8139)
	r.rt, err = dde.New(dde.Config{Device: r.m, Module: module, Pool: pool, PoolBus: poolBus, VirtualTime: true,
		Log: func(l string) { r.log = append(r.log, l); t.Log(l) }, Net: r.rec.Host()})
	if err != nil {
		t.Fatal(err)
	}
	r.m.SetIRQ(r.rt.IRQ)
	t.Cleanup(func() {
		r.rt.Stop() // no-op after a Stop in the test
		dde.FreePool(pool)
	})
	return r
}

// up starts the driver and opens the interface.
func (r *rig) up() {
	r.t.Helper()
	if err := r.rt.Start(); err != nil {
		r.t.Fatalf("Start: %v", err)
	}
	if err := r.rt.Open(); err != nil {
		r.t.Fatalf("Open: %v", err)
	}
	if !r.rec.CarrierUp() {
		r.t.Fatalf("no carrier after Open; carrier changes %v", r.rec.Carrier)
	}
}

// receive puts frames on the wire towards the NIC and lets the driver
// handle the interrupt; it returns what came up.
func (r *rig) receive(frames ...[]byte) [][]byte {
	r.t.Helper()
	before := len(r.rec.Up)
	for _, f := range frames {
		r.nic.Receive(f)
	}
	r.rt.RunPending(r.rt.Now())
	return r.rec.Up[before:]
}

// udpLike is a frame of n bytes (n >= 60) whose payload encodes seq.
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

// stop stops the runtime and checks that the driver gave back everything.
func (r *rig) stop() {
	r.t.Helper()
	if err := r.rt.Stop(); err != nil {
		r.t.Fatalf("Stop: %v", err)
	}
	st := r.rt.Stats()
	if st.KmallocLive != 0 || st.PagesLive != 0 || st.DMACoherentLive != 0 || st.DMAMapsLive != 0 {
		r.t.Errorf("after Stop: %d kmalloc objects, %d page blocks, %d coherent buffers, %d DMA maps live",
			st.KmallocLive, st.PagesLive, st.DMACoherentLive, st.DMAMapsLive)
	}
	if s := r.nic.Stats(); s.DMARefused != 0 || s.BadAccesses != 0 || s.DescErrors != 0 {
		r.t.Errorf("model after Stop: %+v", s)
	}
}

func TestProbeOpenTransmitReceive(t *testing.T) {
	r := newRig(t)
	r.up()
	for _, want := range []string{
		"8139too: 8139too Fast Ethernet driver 0.9.28",
		"8139too 0000:00:03.0 eth0: RealTek RTL8139 at 0xffffc90000000000, 52:54:00:12:34:56, IRQ 11",
		"8139too 0000:00:03.0 eth0: link up, 100Mbps, full-duplex, lpa 0x45E1",
	} {
		if !slices.Contains(r.log, want) {
			t.Errorf("log lacks %q", want)
		}
	}
	if got := r.rt.MAC(); got != ourMAC {
		t.Errorf("MAC = %x, want %x", got, ourMAC)
	}
	if want := []bool{true}; !slices.Equal(r.rec.Carrier, want) {
		t.Errorf("carrier changes %v, want %v (on from the start: 8139too never turns it off)", r.rec.Carrier, want)
	}
	req := ddenic.ARP(1, ourMAC, bcast, [4]byte{192, 0, 2, 2}, [4]byte{192, 0, 2, 1})
	if err := r.rt.Xmit(req); err != nil {
		t.Fatalf("Xmit: %v", err)
	}
	if len(r.rec.Wire) != 1 || !bytes.Equal(r.rec.Wire[0], req) {
		t.Fatalf("wire got %x, want exactly %x", r.rec.Wire, req)
	}
	reply := ddenic.ARP(2, peerMAC, ourMAC, [4]byte{192, 0, 2, 1}, [4]byte{192, 0, 2, 2})
	if got := r.receive(reply); len(got) != 1 || !bytes.Equal(got[0], reply) {
		t.Fatalf("host got %x, want exactly %x", got, reply)
	}
	// A short frame is padded to 60 bytes by the driver (it zeroes the
	// rest of its bounce buffer up to ETH_ZLEN).
	short := udpLike(ourMAC, peerMAC, 60, 7)[:42]
	if err := r.rt.Xmit(short); err != nil {
		t.Fatal(err)
	}
	if want := append(bytes.Clone(short), make([]byte, 18)...); !bytes.Equal(r.rec.Wire[1], want) {
		t.Errorf("short frame on the wire %x, want %x", r.rec.Wire[1], want)
	}
	st := r.rt.Stats()
	if st.TxPackets != 2 || st.RxPackets != 1 || st.DMARefused != 0 || st.Warnings != 0 || st.IRQsUnhandled != 0 {
		t.Errorf("stats %+v", st)
	}
	if len(r.m.Events) != 0 {
		t.Errorf("model events: %v", r.m.Events)
	}
	r.stop()
}

// Hundreds of frames each way, one at a time and in bursts that wrap the
// 32 KiB receive ring many times, every size class.
func TestManyFramesBothWays(t *testing.T) {
	r := newRig(t)
	r.up()
	sizes := []int{60, 64, 128, 255, 256, 257, 512, 1000, 1499, 1514}
	for i := 0; i < 600; i++ {
		f := udpLike(ourMAC, peerMAC, sizes[i%len(sizes)], i)
		if err := r.rt.Xmit(f); err != nil {
			t.Fatalf("Xmit %d: %v", i, err)
		}
		if n := len(r.rec.Wire); n != i+1 || !bytes.Equal(r.rec.Wire[i], f) {
			t.Fatalf("frame %d: wire has %d frames, last %x, want %x", i, n, r.rec.Wire[n-1], f)
		}
	}
	for i := 0; i < 600; i++ {
		f := udpLike(peerMAC, ourMAC, sizes[i%len(sizes)], 1000+i)
		if got := r.receive(f); len(got) != 1 || !bytes.Equal(got[0], f) {
			t.Fatalf("frame %d: host got %d frames %x, want %x", i, len(got), got, f)
		}
	}
	// Bursts of 20 frames (up to 30 KiB: what the 32 KiB ring holds)
	// arrive before the driver runs, broadcast and unicast mixed.
	for burst := 0; burst < 30; burst++ {
		var in [][]byte
		for i := 0; i < 20; i++ {
			dst := ourMAC
			if i%5 == 0 {
				dst = bcast
			}
			in = append(in, udpLike(peerMAC, dst, sizes[(i+burst)%len(sizes)], 5000+burst*100+i))
		}
		got := r.receive(in...)
		if len(got) != len(in) {
			t.Fatalf("burst %d: host got %d frames, want %d; model %+v", burst, len(got), len(in), r.nic.Stats())
		}
		for i := range in {
			if !bytes.Equal(got[i], in[i]) {
				t.Fatalf("burst %d frame %d: got %x, want %x", burst, i, got[i], in[i])
			}
		}
	}
	st := r.rt.Stats()
	if st.TxPackets != 600 || st.RxPackets != 1200 || st.DMARefused != 0 || st.Warnings != 0 {
		t.Errorf("stats %+v", st)
	}
	ms := r.nic.Stats()
	if ms.TxFrames != 600 || ms.RxFrames != 1200 || ms.RxMissed != 0 || ms.DMARefused != 0 {
		t.Errorf("model stats %+v", ms)
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

// Linux's transmit watchdog, in the DDE: with the transmitter stalled
// behind the driver's back, 8139too's four transmit descriptors fill and
// it stops its queue. Once the queue has been stopped longer than the
// driver's watchdog_timeo (6 s) — one jiffy longer: the watchdog's check
// is strictly after — the watchdog calls rtl8139_tx_timeout, exactly
// once; the driver's thread resets the chip 3 s later (next_tick), which
// enables the transmitter again, and wakes the queue. Frames flow again,
// and a flowing queue never times out.
func TestTxWatchdogResetsStalledDriver(t *testing.T) {
	r := newRig(t)
	r.up()
	const regCR, crTE = 0x37, 1 << 2
	cr := r.nic.ReadIO(regCR, 1)
	r.nic.WriteIO(regCR, 1, cr&^crTE)
	for i := range 4 {
		if err := r.rt.Xmit(udpLike(ourMAC, peerMAC, 200, i)); err != nil {
			t.Fatalf("Xmit %d: %v", i, err)
		}
	}
	stopped := r.rt.Now() // the fourth descriptor stopped the queue: trans_start
	if err := r.rt.Xmit(udpLike(ourMAC, peerMAC, 200, 4)); !errors.Is(err, dde.ErrQueueFull) {
		t.Fatalf("fifth Xmit: %v, want ErrQueueFull", err)
	}
	if len(r.rec.Wire) != 0 {
		t.Fatalf("%d frames sent by a stalled transmitter", len(r.rec.Wire))
	}
	r.advance(stopped + 6*time.Second)
	if len(r.rec.TxTimeouts) != 0 {
		t.Fatalf("transmit timeouts %v within 6 s of the queue stopping", r.rec.TxTimeouts)
	}
	j0 := r.rt.Stats().Jiffies
	r.advance(stopped + 6*time.Second + time.Second)
	jiffy := time.Second / time.Duration(r.rt.Stats().Jiffies-j0)
	if !slices.Equal(r.rec.TxTimeouts, []int{0}) {
		t.Fatalf("transmit timeouts %v, want exactly one, of queue 0", r.rec.TxTimeouts)
	}
	want := fmt.Sprintf("8139too 0000:00:03.0 eth0: NETDEV WATCHDOG: CPU: 0: transmit queue 0 timed out %d ms",
		(6*time.Second+jiffy)/time.Millisecond)
	if !slices.Contains(r.log, want) {
		t.Errorf("log lacks %q", want)
	}
	if r.nic.ReadIO(regCR, 1)&crTE != 0 || len(r.rec.Wire) != 0 {
		t.Fatalf("the transmitter runs before the driver's reset")
	}
	wakes := r.rec.TxReady
	r.advance(r.rt.Now() + 3*time.Second) // the driver's thread: the reset
	if r.nic.ReadIO(regCR, 1)&crTE == 0 {
		t.Errorf("the transmitter is still off: 8139too did not reset the chip")
	}
	if r.rec.TxReady != wakes+1 {
		t.Errorf("TxReady %d after the reset, want %d: the queue woke once", r.rec.TxReady, wakes+1)
	}
	for i := 5; i < 15; i++ {
		f := udpLike(ourMAC, peerMAC, 200, i)
		if err := r.rt.Xmit(f); err != nil {
			t.Fatalf("Xmit %d after the reset: %v", i, err)
		}
		r.rt.RunPending(r.rt.Now())
	}
	if len(r.rec.Wire) != 10 || !bytes.Equal(r.rec.Wire[9], udpLike(ourMAC, peerMAC, 200, 14)) {
		t.Errorf("%d frames on the wire after the reset, want the 10 sent since", len(r.rec.Wire))
	}
	r.advance(r.rt.Now() + 30*time.Second)
	if len(r.rec.TxTimeouts) != 1 {
		t.Errorf("transmit timeouts %v after 30 s of a healthy queue, want still one", r.rec.TxTimeouts)
	}
	r.stop()
}
