package devchan

import (
	"sync/atomic"
	"testing"

	"grailos/kernel/ring"
	"grailos/kernel/shm"
)

// FuzzDecodeRequest decodes arbitrary bytes as a request and validates
// it: decoding round-trips, and whatever Validate accepts is an access
// the handler can perform without bounds checks of its own.
func FuzzDecodeRequest(f *testing.F) {
	for _, r := range []Request{
		{Op: OpMMIORead, Size: 4, Offset: 0x10},
		{Op: OpMMIOWrite, Size: 8, Offset: 0xFF8, Value: 1},
		{Op: OpIOWrite, BAR: 1, Size: 4, Offset: 4, Value: 7},
		{Op: OpConfigRead, Size: 2, Offset: 0xFE},
		{Op: OpSync},
		{Op: 200, BAR: 9, Size: 3, Offset: 0xFFFFFFFF, Flags: 1},
	} {
		b := EncodeRequest(r)
		f.Add(b[:])
	}
	bars := testBARs
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := DecodeRequest(b)
		if err != nil {
			if len(b) >= 24 {
				t.Fatalf("DecodeRequest(%d bytes): %v", len(b), err)
			}
			return
		}
		if enc := EncodeRequest(r); string(enc[:]) != string(b[:24]) {
			t.Fatalf("round trip %x -> %x", b[:24], enc)
		}
		st := Validate(r, &bars, DefaultConfigSize)
		if st >= statusEnd {
			t.Fatalf("status %d out of range", st)
		}
		if st != StatusOK || r.Op == OpSync {
			return
		}
		limit := uint64(DefaultConfigSize)
		if r.Op != OpConfigRead && r.Op != OpConfigWrite {
			limit = uint64(bars[r.BAR].Size)
		}
		if r.Size == 0 || uint64(r.Offset)+uint64(r.Size) > limit || r.Offset%uint32(r.Size) != 0 {
			t.Fatalf("Validate accepted %+v", r)
		}
	})
}

// FuzzServer feeds arbitrary request entries, and arbitrary values of
// the indices the driver owns, to a server's step: it must neither panic
// nor block, and must account for every request it took.
func FuzzServer(f *testing.F) {
	seed := func(rs ...Request) []byte {
		var out []byte
		for _, r := range rs {
			b := EncodeRequest(r)
			out = append(out, b[:]...)
		}
		return out
	}
	f.Add(seed(Request{Op: OpMMIORead, Size: 4}, Request{Op: OpMMIOWrite, Size: 4, Value: 1}), uint32(0), uint32(0))
	f.Add(seed(Request{Op: 77, Size: 9, BAR: 200}), uint32(5), uint32(0))
	f.Add(seed(Request{Op: OpSync}), uint32(0xFFFFFFFF), uint32(3))
	f.Fuzz(func(t *testing.T, entries []byte, tailDelta, replyHead uint32) {
		const qcap = 8
		size, _ := RegionBytes(qcap)
		mf, err := shm.Create("devchan-fuzz", size)
		if err != nil {
			t.Fatal(err)
		}
		defer mf.Close()
		r, err := shm.Map(mf, true)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		fn := &fakeFunc{}
		s, err := NewServer(r, Config{BARs: testBARs, QueueCap: qcap}, fn)
		if err != nil {
			t.Fatal(err)
		}
		mem := r.Bytes()
		reqOff, repOff, total := queueOffsets(qcap)
		drv, err := ring.NewQueue[Request](mem[reqOff:repOff], qcap)
		if err != nil {
			t.Fatal(err)
		}
		var reqs []Request
		for i := 0; i+24 <= len(entries) && len(reqs) < qcap; i += 24 {
			req, _ := DecodeRequest(entries[i:])
			reqs = append(reqs, req)
		}
		pushed := drv.Push(reqs)
		// A hostile driver then moves its own indices anywhere.
		if tailDelta != 0 {
			atomic.AddUint32(word32(mem, reqOff), tailDelta)
		}
		atomic.StoreUint32(word32(mem[repOff:total], 64), replyHead)
		batch := make([]Request, 32)
		for range 4 {
			s.step(batch)
		}
		st := s.Stats()
		if st.Corrupt == 0 && tailDelta == 0 && st.Requests != uint64(pushed) {
			t.Fatalf("took %d of %d requests (stats %+v)", st.Requests, pushed, st)
		}
		if st.Requests != st.Posted+st.Replies+st.Dropped+refusedPosted(st, reqs) && st.Corrupt == 0 {
			// every request is either performed-posted, answered, or dropped
			// (refused posted writes are counted only in Refused)
			t.Fatalf("accounting: %+v", st)
		}
	})
}

// refusedPosted counts the posted writes among reqs that Validate refuses.
func refusedPosted(st ServerStats, reqs []Request) uint64 {
	bars := testBARs
	var n uint64
	for i, r := range reqs {
		if uint64(i) >= st.Requests {
			break
		}
		if r.Op.Posted() && (Validate(r, &bars, DefaultConfigSize) != StatusOK || r.Offset&^7 == 0xFF0) {
			n++
		}
	}
	return n
}
