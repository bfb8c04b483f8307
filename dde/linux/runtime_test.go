//go:build dde

package linux

import (
	"bytes"
	"errors"
	"hash/crc32"
	"math/bits"
	"strings"
	"testing"

	"grailos/arch/machine/pci"
)

const testBus = 0x10000000

// cfgOnly is a PCI function with configuration space only: enough for
// the runtime's firmware pass; MMIO and port I/O must not happen.
type cfgOnly struct {
	t   *testing.T
	cfg *pci.Space
}

func (d cfgOnly) ConfigRead(off uint32, size int) uint32     { return d.cfg.ReadConfig(off, size) }
func (d cfgOnly) ConfigWrite(off uint32, size int, v uint32) { d.cfg.WriteConfig(off, size, v) }
func (d cfgOnly) MMIORead(bar int, off uint32, size int) uint64 {
	d.t.Errorf("MMIO read BAR %d %#x", bar, off)
	return 0
}
func (d cfgOnly) MMIOWrite(bar int, off uint32, size int, v uint64) {
	d.t.Errorf("MMIO write BAR %d %#x", bar, off)
}
func (d cfgOnly) IORead(bar int, off uint32, size int) uint32 {
	d.t.Errorf("I/O read BAR %d %#x", bar, off)
	return 0
}
func (d cfgOnly) IOWrite(bar int, off uint32, size int, v uint32) {
	d.t.Errorf("I/O write BAR %d %#x", bar, off)
}

func newTestRuntime(t *testing.T, log *[]string) (*Runtime, []byte, *pci.Space) {
	t.Helper()
	space, err := pci.New(pci.Header{VendorID: 0x8086, DeviceID: 0x100E, Class: 0x020000, InterruptPin: 1,
		CommandMask: pci.CmdIO | pci.CmdMemory | pci.CmdBusMaster,
		BARs:        [pci.NumBARs]pci.BAR{{Size: 128 << 10}, {Size: 64, IO: true}}})
	if err != nil {
		t.Fatal(err)
	}
	pool, err := NewPool(1 << 20)
	if err != nil {
		t.Fatal(err)
	}
	r, err := New(Config{Device: cfgOnly{t, space}, Pool: pool, PoolBus: testBus, VirtualTime: true,
		Log: func(l string) { *log = append(*log, l); t.Log(l) }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		r.Stop()
		FreePool(pool)
	})
	return r, pool, space
}

// The runtime assigns the BARs as firmware would and routes the IRQ.
func TestFirmwareAssignsBARs(t *testing.T) {
	var log []string
	_, _, space := newTestRuntime(t, &log)
	for i, want := range []uint64{0xfebc0000, 0xc000} {
		if addr, _, _, _ := space.BARAddress(i); addr != want {
			t.Errorf("BAR %d at %#x, want %#x", i, addr, want)
		}
	}
	if line := space.InterruptLine(); line != 11 {
		t.Errorf("interrupt line %d, want 11", line)
	}
}

func TestOneRuntimePerProcess(t *testing.T) {
	var log []string
	newTestRuntime(t, &log)
	pool, _ := NewPool(1 << 20)
	defer FreePool(pool)
	if _, err := New(Config{Device: cfgOnly{t: t}, Pool: pool}); err == nil {
		t.Error("a second runtime was created")
	}
}

func TestNewChecksConfig(t *testing.T) {
	pool, _ := NewPool(1 << 20)
	defer FreePool(pool)
	for name, cfg := range map[string]Config{
		"no device": {Pool: pool},
		"pool size": {Device: cfgOnly{t: t}, Pool: pool[:1000]},
		"pool bus":  {Device: cfgOnly{t: t}, Pool: pool, PoolBus: 0x1001},
	} {
		if _, err := New(cfg); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestStartWithoutModule(t *testing.T) {
	var log []string
	r, _, _ := newTestRuntime(t, &log)
	if err := r.Start(); err == nil {
		t.Error("Start without a module succeeded")
	}
	if err := r.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := r.Stop(); !errors.Is(err, ErrStopped) {
		t.Errorf("second Stop: %v, want ErrStopped", err)
	}
}

var warnOnceFired bool

// WARN in C code is a ud2 with a __bug_table entry: logged with its file
// and line, counted, and execution goes on after it (WARN_ON_ONCE once).
func TestWarnContinues(t *testing.T) {
	var log []string
	r, _, _ := newTestRuntime(t, &log)
	if y := r.warn(42); y != 43 {
		t.Fatalf("after WARN: %d, want 43", y)
	}
	if y := r.warn(42); y != 43 {
		t.Fatalf("after the second WARN: %d, want 43", y)
	}
	if y := r.warn(1); y != 2 {
		t.Fatalf("no WARN: %d, want 2", y)
	}
	var texts, traps int
	for _, l := range log {
		switch {
		case l == "dde test warning 42":
			texts++
		case strings.HasPrefix(l, "WARNING: CPU: 0 PID: 1 at ") && strings.Contains(l, "dde/linux/runtime/lib.c:"):
			traps++
		}
	}
	// WARN twice (text and trap each time), WARN_ON_ONCE once per
	// process (go test -count=N runs this again in the same process).
	once := 1
	if warnOnceFired {
		once = 0
	}
	warnOnceFired = true
	if texts != 2 || traps != 2+once {
		t.Errorf("%d warning texts and %d traps, want 2 and %d: %q", texts, traps, 2+once, log)
	}
	if st := r.Stats(); st.Warnings != 4+once {
		t.Errorf("Stats.Warnings = %d, want %d", st.Warnings, 4+once)
	}
}

// ether_crc, as 8139too hashes multicast addresses into its MAR filter:
// the runtime's crc32_le and byte_rev_table against the Ethernet CRC
// (the big-endian CRC-32 of the address, RTL8139 datasheet; the machine's
// model computes its filter bit the same way).
func TestEtherCRC(t *testing.T) {
	for _, a := range [][6]byte{
		{0x01, 0x00, 0x5e, 0x00, 0x00, 0x01}, // all-hosts
		{0x33, 0x33, 0xff, 0x00, 0x00, 0x02}, // a solicited-node group
		{0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
		{0, 0, 0, 0, 0, 0},
	} {
		want := bits.Reverse32(^crc32.ChecksumIEEE(a[:]))
		if got := etherCRC(a); got != want {
			t.Errorf("ether_crc(%x) = %#08x, want %#08x", a, got, want)
		}
	}
}

// skb_copy_and_csum_dev copies the frame and completes the checksum the
// stack left to the device (8139too advertises NETIF_F_HW_CSUM and
// finishes it in software): the one's-complement sum from csum_start to
// the end, folded and inverted, at csum_start + csum_offset; an odd
// length included.
func TestCopyAndCsumDev(t *testing.T) {
	var log []string
	r, _, _ := newTestRuntime(t, &log)
	for _, n := range []int{60, 61, 1514} {
		frame := make([]byte, n)
		for i := range frame {
			frame[i] = byte(i*7 + n)
		}
		const start, offset = 34, 6                             // a UDP header after Ethernet and IPv4
		frame[start+offset], frame[start+offset+1] = 0x12, 0x34 // the pseudo-header sum the stack leaves
		got, err := r.csumDev(frame, start, offset)
		if err != nil {
			t.Fatal(err)
		}
		var sum uint32
		for i := start; i < n; i += 2 {
			w := uint32(frame[i]) << 8
			if i+1 < n {
				w |= uint32(frame[i+1])
			}
			sum += w
		}
		for sum>>16 != 0 {
			sum = sum&0xffff + sum>>16
		}
		want := bytes.Clone(frame)
		want[start+offset], want[start+offset+1] = byte(^sum>>8), byte(^sum)
		if !bytes.Equal(got, want) {
			t.Errorf("%d bytes: got checksum %x, want %x (or the copy differs)", n, got[start+offset:start+offset+2], want[start+offset:start+offset+2])
		}
	}
}
