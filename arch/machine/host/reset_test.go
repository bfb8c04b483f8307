package host

import (
	"encoding/binary"
	"log"
	"strings"
	"sync"
	"testing"
	"time"

	"grailos/arch/machine/devchan"
	"grailos/kernel/shm"

	"grailos/arch/machine/hw"
	"grailos/arch/machine/internal/frames"
	"grailos/arch/machine/pci"
)

// gateDMA is a DMA window whose first read after arm blocks until
// release: it holds the model inside Receive (with the model's lock) at
// a chosen point.
type gateDMA struct {
	hw.DMA
	mu      sync.Mutex
	armed   bool
	entered chan struct{} // closed when the armed read blocks
	release chan struct{}
}

func (g *gateDMA) arm() {
	g.mu.Lock()
	g.armed = true
	g.entered, g.release = make(chan struct{}), make(chan struct{})
	g.mu.Unlock()
}

func (g *gateDMA) Read(addr uint64, b []byte) error {
	g.mu.Lock()
	armed := g.armed
	g.armed = false
	g.mu.Unlock()
	if armed {
		close(g.entered)
		<-g.release
	}
	return g.DMA.Read(addr, b)
}

// resetProbe reports when the function resets its model.
type resetProbe struct {
	Model
	entered chan struct{}
}

func (p resetProbe) Reset() {
	close(p.entered)
	p.Model.Reset()
}

// TestResetDuringReceive: a driver attaches (function-level reset) while
// the wire goroutine is inside Receive, between the model's descriptor
// read and its buffer write. The reset must not take bus mastering away
// under that frame: before the fix the configuration space was reset
// first, without the model's lock, so the frame's remaining DMA was
// refused ("bus master disabled") and the receive ring stopped — the
// few "DMA refused" and ring errors per few hundred restarts of the
// restart benchmark (issue 5). Now the model is reset first (it waits
// for the frame), then the configuration space.
func TestResetDuringReceive(t *testing.T) {
	pool, err := NewPool(1<<20, DefaultBusBase)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	gate := &gateDMA{DMA: pool}
	var mu sync.Mutex
	var events []hw.Event
	f, err := NewFunction(FunctionConfig{MAC: DefaultMAC, DMA: gate, OnEvent: func(e hw.Event) {
		mu.Lock()
		events = append(events, e)
		mu.Unlock()
	}})
	if err != nil {
		t.Fatal(err)
	}
	// Enough of a driver: decode and bus mastering on, link up, a
	// receive ring of 8 descriptors with buffers, receiver on.
	f.ConfigWrite(pci.OffCommand, 2, pci.CmdMemory|pci.CmdBusMaster)
	w := func(off, v uint32) {
		if st := f.MMIOWrite(0, off, 4, uint64(v)); st != 0 {
			t.Fatalf("write %#x: %v", off, st)
		}
	}
	mem := pool.region.Bytes()
	for i := range uint64(8) {
		binary.LittleEndian.PutUint64(mem[rxRingOff+i*descBytes:], DefaultBusBase+rxBufOff+i*bufSize)
	}
	w(rCTRL, ctrlSLU|ctrlASDE)
	w(rRDBAL, uint32(DefaultBusBase+rxRingOff))
	w(rRDBAH, 0)
	w(rRDLEN, 8*descBytes)
	w(rRDH, 0)
	w(rRDT, 7)
	w(rRCTL, rctlEN|rctlBAM)
	dev := f.dev.(E1000)
	frame := frames.WhoHas(peerMAC, peerIP, ourIP) // broadcast: the filter takes it
	if !dev.Device.Receive(frame) {
		t.Fatal("first frame refused")
	}

	probe := resetProbe{Model: f.dev, entered: make(chan struct{})}
	f.dev = probe
	gate.arm()
	received := make(chan bool)
	go func() { received <- dev.Device.Receive(frame) }()
	<-gate.entered // the model holds its lock, the descriptor being read
	attached := make(chan struct{})
	go func() {
		f.Attach(2)
		close(attached)
	}()
	<-probe.entered // the reset got as far as the model, which waits for the frame
	close(gate.release)
	if !<-received {
		t.Error("the frame in flight was refused")
	}
	<-attached

	mu.Lock()
	defer mu.Unlock()
	if len(events) != 0 {
		t.Errorf("events %v, want none", events)
	}
	st := dev.Stats()
	if st.DMARefused != 0 || st.RingErrors != 0 || st.RxFrames != 2 || st.RxStopped != "" {
		t.Errorf("model stats %+v", st)
	}
	if pool.Refused() != 0 {
		t.Errorf("IOMMU refused %d accesses", pool.Refused())
	}
	if f.space.BusMaster() || f.space.MemoryEnabled() {
		t.Error("the configuration space was not reset")
	}
	if v := dev.ReadMMIO(rRCTL, 4); v != 0 {
		t.Errorf("RCTL %#x after the reset", v)
	}
}

// TestWatchdogDumpsOnPendingAttach: an attach request the channel server
// does not answer (here: it was never started) gets exactly one
// goroutine dump in the machine's log once it has waited AttachWatchdog
// on the machine's clock; the watchdog forgets it once answered.
func TestWatchdogDumpsOnPendingAttach(t *testing.T) {
	logs := &syncBuffer{}
	m, err := New(Config{Log: log.New(logs, "", 0)})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close() // never started: Close only releases
	ch, _, _ := m.Files()
	r, err := shm.Map(ch, true)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	attached := make(chan error, 1)
	go func() {
		_, err := devchan.AttachTimeout(r, time.Minute) // answered below
		attached <- err
	}()
	for {
		if _, pending := m.srv.AttachPending(); pending {
			break
		}
		time.Sleep(time.Millisecond)
	}
	var w watchState
	m.watch(&w, 10*time.Second)
	m.watch(&w, 10*time.Second+AttachWatchdog-time.Millisecond)
	if strings.Contains(logs.String(), "watchdog") {
		t.Fatalf("dumped too early:\n%s", logs)
	}
	m.watch(&w, 10*time.Second+AttachWatchdog)
	m.watch(&w, 20*time.Second)
	out := logs.String()
	if n := strings.Count(out, "not answered for 3s (generation 0"); n != 1 {
		t.Fatalf("%d dumps, want 1:\n%s", n, out)
	}
	if !strings.Contains(out, "goroutine ") || !strings.Contains(out, "devchan.AttachTimeout") {
		t.Errorf("no goroutine dump with the waiting attach:\n%s", out)
	}
	// Serve it: the request is answered, the watchdog is quiet.
	m.Start()
	if err := <-attached; err != nil {
		t.Fatal(err)
	}
	m.watch(&w, 30*time.Second)
	if _, pending := m.srv.AttachPending(); pending || w.nonce != 0 || w.dumped {
		t.Errorf("after the answer: pending %v, state %+v", pending, w)
	}
}
