package devchan

import (
	"errors"
	"os"
	"reflect"
	"testing"
	"time"

	"grailos/kernel/shm"
)

func TestRoundTrips(t *testing.T) {
	c := newChannel(t, 0)
	cl := c.attach(t)
	if cl.Generation() != 1 || cl.BARs() != testBARs || cl.ConfigSize() != DefaultConfigSize {
		t.Fatalf("attached as generation %d, BARs %v, config %d", cl.Generation(), cl.BARs(), cl.ConfigSize())
	}
	steps := []struct {
		name  string
		do    func() (uint64, error)
		want  uint64
		wantA access
	}{
		{"mmio write 4", func() (uint64, error) { return 0, cl.MMIOWrite(0, 0x10, 4, 0xDEADBEEF) }, 0, access{OpMMIOWrite, 0, 0x10, 4, 0xDEADBEEF}},
		{"mmio read 4", func() (uint64, error) { return cl.MMIORead(0, 0x10, 4) }, 0xDEADBEEF, access{OpMMIORead, 0, 0x10, 4, 0}},
		{"mmio read 1", func() (uint64, error) { return cl.MMIORead(0, 0x11, 1) }, 0xBE, access{OpMMIORead, 0, 0x11, 1, 0}},
		{"mmio read 2", func() (uint64, error) { return cl.MMIORead(0, 0x12, 2) }, 0xDEAD, access{OpMMIORead, 0, 0x12, 2, 0}},
		{"mmio write 8", func() (uint64, error) { return 0, cl.MMIOWrite(0, 0xFF8, 8, 0x0102030405060708) }, 0, access{OpMMIOWrite, 0, 0xFF8, 8, 0x0102030405060708}},
		{"mmio read 8", func() (uint64, error) { return cl.MMIORead(0, 0xFF8, 8) }, 0x0102030405060708, access{OpMMIORead, 0, 0xFF8, 8, 0}},
		{"io write", func() (uint64, error) { return 0, cl.IOWrite(1, 4, 4, 0x12345678) }, 0, access{OpIOWrite, 1, 4, 4, 0x12345678}},
		{"io read 2", func() (uint64, error) { v, err := cl.IORead(1, 6, 2); return uint64(v), err }, 0x1234, access{OpIORead, 1, 6, 2, 0}},
		{"config write", func() (uint64, error) { return 0, cl.ConfigWrite(0x04, 2, 0x0007) }, 0, access{OpConfigWrite, 0, 4, 2, 7}},
		{"config read", func() (uint64, error) { v, err := cl.ConfigRead(0x04, 4); return uint64(v), err }, 7, access{OpConfigRead, 0, 4, 4, 0}},
	}
	for _, s := range steps {
		got, err := s.do()
		if err != nil || got != s.want {
			t.Fatalf("%s: %#x, %v; want %#x", s.name, got, err, s.want)
		}
	}
	if err := cl.Sync(); err != nil {
		t.Fatal(err)
	}
	log, gens := c.fn.snapshot()
	if len(log) != len(steps) {
		t.Fatalf("handler saw %d accesses, want %d: %+v", len(log), len(steps), log)
	}
	for i, s := range steps {
		if log[i] != s.wantA {
			t.Errorf("%s: handler saw %+v, want %+v", s.name, log[i], s.wantA)
		}
	}
	if !reflect.DeepEqual(gens, []uint32{1}) {
		t.Errorf("attaches %v, want [1]", gens)
	}
	want := ServerStats{Requests: 11, Replies: 9, Posted: 2, Attaches: 1}
	if st := c.srv.Stats(); st.Requests != want.Requests || st.Replies != want.Replies || st.Posted != want.Posted ||
		st.Attaches != want.Attaches || st.Refused != 0 || st.Corrupt != 0 || st.Dropped != 0 {
		t.Errorf("stats %+v, want %+v", st, want)
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		r    Request
		want Status
	}{
		{"mmio read", Request{Op: OpMMIORead, Size: 4, Offset: 0xFFC}, StatusOK},
		{"mmio write 8", Request{Op: OpMMIOWrite, Size: 8, Offset: 0xFF8, Value: ^uint64(0)}, StatusOK},
		{"io write", Request{Op: OpIOWrite, BAR: 1, Size: 4, Offset: 12, Value: 0xFFFFFFFF}, StatusOK},
		{"config read", Request{Op: OpConfigRead, Size: 1, Offset: 255}, StatusOK},
		{"sync", Request{Op: OpSync}, StatusOK},
		{"op 0", Request{Op: 0, Size: 4}, StatusBadOp},
		{"op past end", Request{Op: opEnd, Size: 4}, StatusBadOp},
		{"op 255", Request{Op: 255, Size: 4}, StatusBadOp},
		{"flags", Request{Op: OpMMIORead, Size: 4, Flags: 1}, StatusMalformed},
		{"sync with fields", Request{Op: OpSync, Size: 4}, StatusMalformed},
		{"read with a value", Request{Op: OpMMIORead, Size: 4, Value: 1}, StatusMalformed},
		{"mmio on the I/O BAR", Request{Op: OpMMIORead, BAR: 1, Size: 4}, StatusBadBAR},
		{"io on the memory BAR", Request{Op: OpIORead, BAR: 0, Size: 4}, StatusBadBAR},
		{"unimplemented BAR", Request{Op: OpMMIORead, BAR: 2, Size: 4}, StatusBadBAR},
		{"BAR 6", Request{Op: OpMMIORead, BAR: 6, Size: 4}, StatusBadBAR},
		{"BAR 255", Request{Op: OpMMIOWrite, BAR: 255, Size: 4}, StatusBadBAR},
		{"config with a BAR", Request{Op: OpConfigRead, BAR: 1, Size: 4}, StatusBadBAR},
		{"size 0", Request{Op: OpMMIORead, Size: 0}, StatusBadSize},
		{"size 3", Request{Op: OpMMIORead, Size: 3}, StatusBadSize},
		{"size 16", Request{Op: OpMMIORead, Size: 16}, StatusBadSize},
		{"io size 8", Request{Op: OpIORead, BAR: 1, Size: 8}, StatusBadSize},
		{"config size 8", Request{Op: OpConfigRead, Size: 8}, StatusBadSize},
		{"misaligned", Request{Op: OpMMIORead, Size: 4, Offset: 2}, StatusBadOffset},
		{"past the BAR", Request{Op: OpMMIORead, Size: 4, Offset: 4096}, StatusBadOffset},
		{"straddles the end", Request{Op: OpMMIORead, Size: 8, Offset: 4092}, StatusBadOffset},
		{"offset wraps", Request{Op: OpMMIORead, Size: 4, Offset: 0xFFFFFFFC}, StatusBadOffset},
		{"io past the BAR", Request{Op: OpIOWrite, BAR: 1, Size: 4, Offset: 16}, StatusBadOffset},
		{"config past 256", Request{Op: OpConfigWrite, Size: 4, Offset: 256}, StatusBadOffset},
		{"value too wide 1", Request{Op: OpMMIOWrite, Size: 1, Value: 0x100}, StatusBadValue},
		{"value too wide 4", Request{Op: OpIOWrite, BAR: 1, Size: 4, Value: 1 << 32}, StatusBadValue},
	}
	bars := testBARs
	for _, tc := range tests {
		if got := Validate(tc.r, &bars, DefaultConfigSize); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestMalformedRequests(t *testing.T) {
	c := newChannel(t, 0)
	cl := c.attach(t)
	calls := []struct {
		r    Request
		want Status
	}{
		{Request{Op: 99, Size: 4}, StatusBadOp},
		{Request{Op: OpMMIORead, BAR: 3, Size: 4}, StatusBadBAR},
		{Request{Op: OpIORead, BAR: 1, Size: 3}, StatusBadSize},
		{Request{Op: OpConfigRead, Size: 4, Offset: 1}, StatusBadOffset},
		{Request{Op: OpMMIORead, Size: 4, Flags: 0x80}, StatusMalformed},
		{Request{Op: OpMMIORead, Size: 4, Offset: 0xFF0}, StatusRefused}, // the handler refuses
	}
	for _, tc := range calls {
		rep, err := cl.Call(tc.r)
		if err != nil {
			t.Fatalf("%+v: %v", tc.r, err)
		}
		if rep.Status != tc.want || rep.Value != ^uint64(0) || rep.Op != tc.r.Op {
			t.Errorf("%+v: reply %+v, want status %v, value all-ones", tc.r, rep, tc.want)
		}
	}
	// Typed accessors return the status as the error.
	if v, err := cl.MMIORead(0, 4096, 4); !errors.Is(err, StatusBadOffset) || v != ^uint64(0) {
		t.Errorf("MMIORead past the BAR: %#x, %v", v, err)
	}
	if _, err := cl.IORead(-1, 0, 4); !errors.Is(err, StatusBadBAR) {
		t.Errorf("IORead BAR -1: %v", err)
	}
	if _, err := cl.Call(Request{Op: OpMMIOWrite}); err == nil {
		t.Error("Call accepted a posted op")
	}
	// Posted writes: refused ones are reported by the next Sync, with
	// the seq and status of the last one, and only once.
	if err := cl.MMIOWrite(0, 0x20, 4, 1); err != nil {
		t.Fatal(err)
	}
	if err := cl.MMIOWrite(0, 0x22, 4, 1); err != nil { // misaligned
		t.Fatal(err)
	}
	if err := cl.MMIOWrite(0, 0x24, 2, 0x10000); err != nil { // too wide
		t.Fatal(err)
	}
	seqBefore := cl.seq
	var pe *PostedError
	if err := cl.Sync(); !errors.As(err, &pe) || pe.Count != 2 || pe.Seq != seqBefore || pe.Status != StatusBadValue ||
		!errors.Is(err, StatusBadValue) {
		t.Fatalf("Sync after refused writes: %v (%+v), want 2 refused, last seq %d bad value", err, pe, seqBefore)
	}
	if err := cl.Sync(); err != nil {
		t.Errorf("second Sync: %v", err)
	}
	if v, err := cl.MMIORead(0, 0x20, 4); err != nil || v != 1 {
		t.Errorf("the accepted write: %#x, %v", v, err)
	}
	wantRefused := []Status{StatusBadOp, StatusBadBAR, StatusBadSize, StatusBadOffset, StatusMalformed, StatusRefused,
		StatusBadOffset, StatusBadOffset, StatusBadValue}
	if got := c.refusals(); !reflect.DeepEqual(got, wantRefused) {
		t.Errorf("refusals %v, want %v", got, wantRefused)
	}
	if st := c.srv.Stats(); st.Refused != uint64(len(wantRefused)) || st.Corrupt != 0 {
		t.Errorf("stats %+v", st)
	}
}

// TestPostedOrdering posts far more writes than the queue holds, to
// registers and to an append log, and checks that the handler performed
// them exactly in order and that a read sees the last one.
func TestPostedOrdering(t *testing.T) {
	c := newChannel(t, 16)
	cl := c.attach(t)
	const n = 5000
	for i := range n {
		if err := cl.MMIOWrite(0, uint32(i%64)*8, 8, uint64(i)); err != nil {
			t.Fatal(err)
		}
	}
	v, err := cl.MMIORead(0, uint32((n-1)%64)*8, 8)
	if err != nil || v != n-1 {
		t.Fatalf("read after %d posted writes: %d, %v", n, v, err)
	}
	log, _ := c.fn.snapshot()
	if len(log) != n+1 {
		t.Fatalf("handler saw %d accesses, want %d", len(log), n+1)
	}
	for i := range n {
		if want := (access{OpMMIOWrite, 0, uint32(i%64) * 8, 8, uint64(i)}); log[i] != want {
			t.Fatalf("access %d: %+v, want %+v", i, log[i], want)
		}
	}
	if st := c.srv.Stats(); st.Posted != n || st.Replies != 1 || st.Dropped != 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestConcurrentClients(t *testing.T) {
	c := newChannel(t, 0)
	cl := c.attach(t)
	const workers, each = 4, 500
	errs := make(chan error, workers)
	for w := range workers {
		go func() {
			off := uint32(w) * 8
			for i := range each {
				if err := cl.MMIOWrite(0, off, 8, uint64(i)); err != nil {
					errs <- err
					return
				}
				if v, err := cl.MMIORead(0, off, 8); err != nil || v != uint64(i) {
					errs <- errors.Join(err, errors.New("wrong value"))
					return
				}
			}
			errs <- nil
		}()
	}
	for range workers {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if st := c.srv.Stats(); st.Requests != 2*workers*each || st.Refused != 0 {
		t.Errorf("stats %+v", st)
	}
}

// TestReattach: a second driver attaching gets a new generation, a reset
// function and empty queues, even if the first left requests and an
// uncollected reply behind.
func TestReattach(t *testing.T) {
	c := newChannel(t, 0)
	first := c.attach(t)
	if err := first.MMIOWrite(0, 0, 4, 0xAA); err != nil {
		t.Fatal(err)
	}
	if err := first.Post(Request{Op: OpMMIORead, Size: 4}); err != nil { // reply never collected
		t.Fatal(err)
	}
	if err := first.Sync(); err != nil {
		t.Fatal(err)
	}
	if first.Stale() != 1 {
		t.Errorf("stale replies %d, want 1", first.Stale())
	}
	first.Close()
	if _, err := first.MMIORead(0, 0, 4); !errors.Is(err, ErrClosed) {
		t.Errorf("closed client: %v", err)
	}
	second := c.attach(t)
	if second.Generation() != 2 {
		t.Errorf("generation %d, want 2", second.Generation())
	}
	if v, err := second.MMIORead(0, 0, 4); err != nil || v != 0 {
		t.Errorf("after re-attach: %#x, %v (want the reset value 0)", v, err)
	}
	if _, gens := c.fn.snapshot(); !reflect.DeepEqual(gens, []uint32{1, 2}) {
		t.Errorf("attaches %v", gens)
	}
	if c.srv.Generation() != 2 {
		t.Errorf("server generation %d", c.srv.Generation())
	}
}

func TestTimeouts(t *testing.T) {
	// Nobody serves this channel: attaching fails with ErrTimeout.
	size, _ := RegionBytes(0)
	f, err := shm.Create("devchan-unserved", size)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := shm.Map(f, true)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if _, err := AttachTimeout(r, time.Millisecond); err == nil || err.Error() != "devchan: attach: magic 0x0: not an initialised device channel" {
		t.Errorf("attach to an empty region: %v", err)
	}
	if _, err := NewServer(r, Config{BARs: testBARs}, &fakeFunc{}); err != nil {
		t.Fatal(err)
	}
	if _, err := AttachTimeout(r, time.Millisecond); !errors.Is(err, ErrTimeout) {
		t.Errorf("attach to an unserved channel: %v", err)
	}

	// A served channel whose server stops: the next read times out.
	c := newChannel(t, 0)
	cl := c.attach(t)
	c.stop()
	cl.SetTimeout(time.Millisecond)
	if _, err := cl.MMIORead(0, 0, 4); !errors.Is(err, ErrTimeout) {
		t.Errorf("read from a stopped server: %v", err)
	}
}

func TestIRQ(t *testing.T) {
	c := newChannel(t, 0)
	cl := c.attach(t)
	q, err := OpenIRQ(c.irq)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	steps := []struct {
		set       []bool
		wantLevel bool
		wantEdges uint32
		wantWait  uint64 // 0: no edge pending
	}{
		{[]bool{true}, true, 1, 1},
		{[]bool{true}, true, 1, 0}, // still high: no new edge
		{[]bool{false}, false, 1, 0},
		{[]bool{true, false, true}, true, 3, 2},
		{[]bool{false, false}, false, 3, 0},
	}
	for i, s := range steps {
		for _, l := range s.set {
			c.srv.SetIRQ(l)
		}
		if cl.IRQLevel() != s.wantLevel || cl.IRQEdges() != s.wantEdges {
			t.Errorf("step %d: level %v edges %d, want %v %d", i, cl.IRQLevel(), cl.IRQEdges(), s.wantLevel, s.wantEdges)
		}
		deadline := time.Time{}
		if s.wantWait == 0 {
			deadline = time.Now() // poll: must not find an edge
		}
		n, err := q.Wait(deadline)
		switch {
		case s.wantWait == 0 && !errors.Is(err, os.ErrDeadlineExceeded):
			t.Errorf("step %d: Wait = %d, %v; want no edge", i, n, err)
		case s.wantWait != 0 && (err != nil || n != s.wantWait):
			t.Errorf("step %d: Wait = %d, %v; want %d", i, n, err, s.wantWait)
		}
	}
	if st := c.srv.Stats(); st.IRQEdges != 3 {
		t.Errorf("edges %d", st.IRQEdges)
	}
}

func TestRequestEncoding(t *testing.T) {
	r := Request{Seq: 0x0102030405060708, Value: 0x1112131415161718, Offset: 0x21222324, Op: OpIOWrite, BAR: 1, Size: 4, Flags: 9}
	b := EncodeRequest(r)
	want := [24]byte{8, 7, 6, 5, 4, 3, 2, 1, 0x18, 0x17, 0x16, 0x15, 0x14, 0x13, 0x12, 0x11, 0x24, 0x23, 0x22, 0x21, 6, 1, 4, 9}
	if b != want {
		t.Errorf("EncodeRequest = %x, want %x", b, want)
	}
	got, err := DecodeRequest(b[:])
	if err != nil || got != r {
		t.Errorf("DecodeRequest = %+v, %v", got, err)
	}
	if _, err := DecodeRequest(b[:23]); err == nil {
		t.Error("DecodeRequest accepted 23 bytes")
	}
	if le64(b[:]) != r.Seq {
		t.Error("Seq is not the first word")
	}
}
