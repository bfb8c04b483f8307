package devchan

import (
	"encoding/binary"
	"os"
	"sync"
	"testing"

	"grailos/kernel/shm"
)

// testBARs is the fake function's layout: a 4 KiB memory BAR0, a 16-byte
// I/O BAR1, nothing else.
var testBARs = [NumBARs]BAR{{Size: 4096}, {Size: 16, IO: true}}

// access is one call the fake handler saw.
type access struct {
	Op     Op
	BAR    int
	Offset uint32
	Size   int
	Value  uint64
}

// fakeFunc is a register file behind the channel: memory BAR0 and I/O
// BAR1 are plain little-endian bytes, config space likewise; offset 0xFF0
// of BAR0 refuses every access (StatusRefused). It records every access
// and every attach. The mutex makes the records safe to read from the
// test goroutine: the channel's own ordering goes through shared memory,
// which the race detector does not track.
type fakeFunc struct {
	mu      sync.Mutex
	mem     [4096]byte
	io      [16]byte
	cfg     [256]byte
	log     []access
	gens    []uint32
	counter int
	notify  chan struct{} // closed when counter reaches notifyAt
	notifyN int
	irq     func(bool) // a write to irqReg drives the line
}

// irqReg is the fake function's interrupt register: writing a non-zero
// value raises the line, zero lowers it.
const irqReg = 0x100

func (f *fakeFunc) record(a access) {
	f.log = append(f.log, a)
	f.counter++
	if f.notify != nil && f.counter == f.notifyN {
		close(f.notify)
	}
}

// waitAccesses returns a channel closed when the handler has seen n more
// accesses.
func (f *fakeFunc) waitAccesses(n int) <-chan struct{} {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.notify = make(chan struct{})
	f.notifyN = f.counter + n
	return f.notify
}

func (f *fakeFunc) Attach(gen uint32) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.gens = append(f.gens, gen)
	f.mem = [4096]byte{}
	f.log = nil
}

func get(b []byte, size int) uint64 {
	var v uint64
	for i := size - 1; i >= 0; i-- {
		v = v<<8 | uint64(b[i])
	}
	return v
}

func put(b []byte, size int, v uint64) {
	for i := 0; i < size; i++ {
		b[i] = byte(v >> (8 * i))
	}
}

func (f *fakeFunc) ConfigRead(off uint32, size int) (uint32, Status) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record(access{OpConfigRead, 0, off, size, 0})
	return uint32(get(f.cfg[off:], size)), StatusOK
}

func (f *fakeFunc) ConfigWrite(off uint32, size int, v uint32) Status {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record(access{OpConfigWrite, 0, off, size, uint64(v)})
	put(f.cfg[off:], size, uint64(v))
	return StatusOK
}

func (f *fakeFunc) MMIORead(bar int, off uint32, size int) (uint64, Status) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record(access{OpMMIORead, bar, off, size, 0})
	if off&^7 == 0xFF0 {
		return 0, StatusRefused
	}
	return get(f.mem[off:], size), StatusOK
}

func (f *fakeFunc) MMIOWrite(bar int, off uint32, size int, v uint64) Status {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record(access{OpMMIOWrite, bar, off, size, v})
	if off&^7 == 0xFF0 {
		return StatusRefused
	}
	put(f.mem[off:], size, v)
	if off == irqReg && f.irq != nil {
		f.irq(v != 0)
	}
	return StatusOK
}

func (f *fakeFunc) IORead(bar int, off uint32, size int) (uint32, Status) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record(access{OpIORead, bar, off, size, 0})
	return uint32(get(f.io[off:], size)), StatusOK
}

func (f *fakeFunc) IOWrite(bar int, off uint32, size int, v uint32) Status {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.record(access{OpIOWrite, bar, off, size, uint64(v)})
	put(f.io[off:], size, uint64(v))
	return StatusOK
}

func (f *fakeFunc) snapshot() ([]access, []uint32) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]access(nil), f.log...), append([]uint32(nil), f.gens...)
}

// channel is a served channel for tests.
type channel struct {
	file      *os.File    // the memory object, to pass to children
	region    *shm.Region // the machine's mapping
	srv       *Server
	fn        *fakeFunc
	irq       *os.File
	refusedMu sync.Mutex
	refused   []Status
	corrupt   chan error
	stop      func() // stops the server and waits for Serve to return
}

func (c *channel) refusals() []Status {
	c.refusedMu.Lock()
	defer c.refusedMu.Unlock()
	return append([]Status(nil), c.refused...)
}

// newChannel creates, lays out and serves a channel over a fakeFunc; the
// server is stopped and everything released at cleanup.
func newChannel(t testing.TB, qcap int) *channel {
	t.Helper()
	return newChannelSpin(t, qcap, 0)
}

// newChannelSpin is newChannel with the server's idle poll budget
// (Config.Spin; negative: the server sleeps as soon as it is idle).
func newChannelSpin(t testing.TB, qcap, spin int) *channel {
	t.Helper()
	size, err := RegionBytes(qcap)
	if err != nil {
		t.Fatal(err)
	}
	f, err := shm.Create("devchan-test", size)
	if err != nil {
		t.Fatal(err)
	}
	r, err := shm.Map(f, true)
	if err != nil {
		t.Fatal(err)
	}
	irq, err := NewEventFD()
	if err != nil {
		t.Fatal(err)
	}
	c := &channel{file: f, region: r, fn: &fakeFunc{}, irq: irq, corrupt: make(chan error, 16)}
	cfg := Config{BARs: testBARs, QueueCap: qcap, IRQ: irq, Spin: spin,
		OnRefusal: func(_ Request, st Status) {
			c.refusedMu.Lock()
			c.refused = append(c.refused, st)
			c.refusedMu.Unlock()
		},
		OnCorrupt: func(err error) { c.corrupt <- err },
	}
	if c.srv, err = NewServer(r, cfg, c.fn); err != nil {
		t.Fatal(err)
	}
	c.fn.irq = c.srv.SetIRQ
	done := make(chan error, 1)
	go func() { done <- c.srv.Serve() }()
	c.stop = sync.OnceFunc(func() {
		c.srv.Close()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	t.Cleanup(func() {
		c.stop()
		r.Close()
		f.Close()
		irq.Close()
	})
	return c
}

// attach maps the channel a second time, as a driver would, and attaches.
func (c *channel) attach(t testing.TB) *Client {
	t.Helper()
	r, err := shm.Map(c.file, true)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	cl, err := Attach(r)
	if err != nil {
		t.Fatal(err)
	}
	return cl
}

func le64(b []byte) uint64 { return binary.LittleEndian.Uint64(b) }
