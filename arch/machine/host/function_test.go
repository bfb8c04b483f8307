package host

import (
	"bytes"
	"errors"
	"log"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"grailos/arch/machine/devchan"
	"grailos/arch/machine/internal/frames"
	"grailos/arch/machine/pci"
	"grailos/kernel/shm"
)

// syncBuffer is a log sink safe for the machine's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// newMachine starts a machine without a wire in this process.
func newMachine(t *testing.T) (*Machine, *syncBuffer) {
	t.Helper()
	logs := &syncBuffer{}
	m, err := New(Config{Log: log.New(logs, "", 0)})
	if err != nil {
		t.Fatal(err)
	}
	m.Start()
	t.Cleanup(func() { m.Close() })
	return m, logs
}

func newDriver(t *testing.T, m *Machine) *driver {
	t.Helper()
	ch, pool, irq := m.Files()
	d, release, err := attachDriver(ch, pool, irq, m.Description().BusBase)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(release)
	return d
}

func TestDescription(t *testing.T) {
	m, _ := newMachine(t)
	got := m.Description()
	size, _ := devchan.RegionBytes(0)
	want := devchan.Description{
		Name: "e1000-0", Model: "82540EM", VendorID: 0x8086, DeviceID: 0x100E,
		SubsysVendorID: 0x8086, SubsystemID: 0x001E, Revision: 2, Class: 0x020000, InterruptPin: 1,
		MAC:        "52:54:00:12:34:56",
		BARs:       [devchan.NumBARs]devchan.BAR{{Size: 128 << 10}, {Size: 64, IO: true}},
		ConfigSize: 256, QueueCap: 256, ChannelSize: shm.PageRound(size), PoolSize: DefaultPoolSize, BusBase: DefaultBusBase,
	}
	if got.Name != want.Name || got.MAC != want.MAC || got.BARs != want.BARs || got.VendorID != want.VendorID ||
		got.DeviceID != want.DeviceID || got.SubsysVendorID != want.SubsysVendorID || got.SubsystemID != want.SubsystemID ||
		got.Revision != want.Revision || got.Class != want.Class || got.InterruptPin != want.InterruptPin ||
		got.ConfigSize != want.ConfigSize || got.QueueCap != want.QueueCap || got.ChannelSize != want.ChannelSize ||
		got.PoolSize != want.PoolSize || got.BusBase != want.BusBase || got.Netns != "" || got.PeerAddrs != nil {
		t.Errorf("description\n%+v\nwant\n%+v", got, want)
	}
}

// TestDecodeAndBusMaster: the function honours the command register:
// no MMIO or I/O before decode is enabled, no DMA before bus mastering,
// and an attach turns all three off again.
func TestDecodeAndBusMaster(t *testing.T) {
	m, logs := newMachine(t)
	d := newDriver(t, m)
	if v, err := d.cl.MMIORead(0, rSTATUS, 4); !errors.Is(err, devchan.StatusDisabled) || v != ^uint64(0) {
		t.Errorf("MMIO before memory decode: %#x, %v", v, err)
	}
	if err := d.cl.IOWrite(1, 0, 4, 0); !errors.Is(err, devchan.StatusDisabled) {
		t.Errorf("I/O before I/O decode: %v", err)
	}
	if err := d.cl.ConfigWrite(pci.OffCommand, 2, pci.CmdMemory); err != nil {
		t.Fatal(err)
	}
	if v, err := d.cl.MMIORead(0, rCTRL, 4); err != nil || v == ^uint64(0) {
		t.Errorf("MMIO with memory decode: %#x, %v", v, err)
	}
	// Rings set up, transmit kicked, but bus mastering off: the model's
	// first descriptor fetch is refused and reported.
	d.w32(rCTRL, d.r32(rCTRL)|ctrlSLU)
	d.w32(rTDBAL, uint32(d.base+txRingOff))
	d.w32(rTDLEN, nDesc*descBytes)
	d.w32(rTCTL, tctlEN|tctlPSP)
	d.w32(rTDT, 1)
	if err := d.cl.Sync(); err != nil {
		t.Fatal(err)
	}
	if s := m.Function().Model().(E1000).Stats(); s.DMARefused != 1 || s.TxStopped == "" {
		t.Errorf("DMA without bus mastering: refused %d, tx stopped %q", s.DMARefused, s.TxStopped)
	}
	if !strings.Contains(logs.String(), "bus master disabled") {
		t.Errorf("log lacks the refusal:\n%s", logs)
	}
	// A driver that hands the device an offset instead of a bus address
	// hits the IOMMU: the address and length are reported.
	if err := d.cl.ConfigWrite(pci.OffCommand, 2, pci.CmdMemory|pci.CmdBusMaster); err != nil {
		t.Fatal(err)
	}
	d.w32(rTDBAL, txRingOff) // not a bus address: below the pool
	d.w32(rTDT, 1)
	if err := d.cl.Sync(); err != nil {
		t.Fatal(err)
	}
	if n := m.Stats().DMARefused; n != 1 {
		t.Errorf("IOMMU refusals %d, want 1", n)
	}
	want := "iommu: DMA read of 16 bytes at 0x1000 outside the pool [0x10000000, 0x11000000)"
	if !strings.Contains(logs.String(), want) {
		t.Errorf("log lacks %q:\n%s", want, logs)
	}
	// A new driver: function-level reset, decode off again.
	d2 := newDriver(t, m)
	if cmd, err := d2.cl.ConfigRead(pci.OffCommand, 2); err != nil || cmd != 0 {
		t.Errorf("command after attach: %#x, %v", cmd, err)
	}
	if _, err := d2.cl.MMIORead(0, rSTATUS, 4); !errors.Is(err, devchan.StatusDisabled) {
		t.Errorf("MMIO after attach: %v", err)
	}
	st := m.Stats()
	if st.Attaches != 2 || st.Refused != 3 || st.MMIO != 9 || st.Config != 3 || st.DMARefused != 1 {
		t.Errorf("stats %v", st)
	}
	if got := m.Function().Stats(); got != (FunctionStats{MMIOReads: 2, MMIOWrites: 7, Config: 3, DecodeOff: 3, Resets: 2}) {
		t.Errorf("function stats %+v", got)
	}
}

// TestBringUpInProcess runs the whole driver sequence against a machine
// without a wire and loops a frame back through the model's internal
// path: transmitted frames are dropped (no wire) and counted.
func TestBringUpInProcess(t *testing.T) {
	m, _ := newMachine(t)
	d := newDriver(t, m)
	if err := d.bringUp(); err != nil {
		t.Fatal(err)
	}
	if d.mac != DefaultMAC {
		t.Errorf("MAC from the EEPROM %x, want %x", d.mac, DefaultMAC)
	}
	if err := d.send(frames.WhoHas(d.mac, ourIP, peerIP)); err != nil {
		t.Fatal(err)
	}
	ds := m.Function().Model().(E1000).Stats()
	if ds.TxFrames != 0 || ds.TxDropped != 1 || ds.DMARefused != 0 {
		t.Errorf("device stats %+v", ds)
	}
	// Receive: a frame offered to the model (as the wire would) lands in
	// the ring in the pool and raises the interrupt.
	reply := frames.ARP{Dst: d.mac, Src: peerMAC, Op: frames.ARPReply, SenderMAC: peerMAC, SenderIP: peerIP,
		TargetMAC: d.mac, TargetIP: ourIP}.Frame()
	if !m.Function().Model().(E1000).Device.Receive(reply) {
		t.Fatal("model refused the frame")
	}
	var got []byte
	if err := d.poll(func(f []byte) bool { got = f; return true }); err != nil {
		t.Fatal(err)
	}
	// The model pads a short frame to the Ethernet minimum of 60 bytes,
	// as it would have arrived on a real wire.
	want := append(append([]byte(nil), reply...), make([]byte, 60-len(reply))...)
	if !bytes.Equal(got, want) {
		t.Errorf("received\n%x\nwant\n%x", got, want)
	}
	if st := m.Stats(); st.Attaches != 1 || st.Refused != 0 || st.DMARefused != 0 || st.IRQEdges == 0 || st.RxFrames != 1 {
		t.Errorf("stats %v", st)
	}
}

// TestInterruptDelayTimer: with a receive delay programmed (RDTR), the
// receive interrupt comes from the machine's timer goroutine running the
// model's clock, not from the Receive call.
func TestInterruptDelayTimer(t *testing.T) {
	m, _ := newMachine(t)
	d := newDriver(t, m)
	if err := d.bringUp(); err != nil {
		t.Fatal(err)
	}
	d.r32(rICR) // acknowledge LSC from the bring-up: the line is low now
	if _, err := d.irq.Wait(time.Now()); err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatal(err) // drained any edge already signalled
	}
	d.w32(rRDTR, 50) // 51.2 µs after each packet
	if err := d.cl.Sync(); err != nil {
		t.Fatal(err)
	}
	edges := m.Stats().IRQEdges
	frame := frames.WhoHas(peerMAC, peerIP, ourIP)
	if !m.Function().Model().(E1000).Device.Receive(frame) {
		t.Fatal("model refused the frame")
	}
	if n, err := d.irq.Wait(time.Now().Add(maxWaitIRQ)); err != nil || n != 1 {
		t.Fatalf("interrupt after the delay: %d, %v", n, err)
	}
	if icr := d.r32(rICR); icr&intRXT0 == 0 {
		t.Errorf("ICR %#x lacks RXT0", icr)
	}
	if got := m.Stats().IRQEdges; got != edges+1 {
		t.Errorf("edges %d, want %d", got, edges+1)
	}
}
