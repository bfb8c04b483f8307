package ring

import (
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// past is a deadline that has already expired.
var past = time.Unix(1, 0)

func TestQueueBytes(t *testing.T) {
	tests := []struct {
		name string
		got  int
		want int
	}{
		{"Desc cap 1", QueueBytes[Desc](1), 192 + 16},
		{"Desc cap 64", QueueBytes[Desc](64), 192 + 64*16},
		{"uint64 cap 8", QueueBytes[uint64](8), 192 + 64},
		{"[3]uint64 cap 4", QueueBytes[[3]uint64](4), 192 + 96},
		{"cap 0", QueueBytes[Desc](0), 0},
		{"cap 3", QueueBytes[Desc](3), 0},
		{"cap too big", QueueBytes[Desc](2 * MaxCapacity), 0},
		{"bad type", QueueBytes[string](4), 0},
	}
	for _, tc := range tests {
		if tc.got != tc.want {
			t.Errorf("%s: %d, want %d", tc.name, tc.got, tc.want)
		}
	}
}

func TestNewQueueRejectsTypes(t *testing.T) {
	mem := sharedMem(t, 4096)
	type withPtr struct {
		A uint64
		P *int
	}
	type withBool struct {
		A  uint32
		OK bool
	}
	type odd struct{ A, B, C uint32 }
	tests := []struct {
		name string
		new  func() error
	}{
		{"pointer field", func() error { _, err := NewQueue[withPtr](mem, 4); return err }},
		{"string", func() error { _, err := NewQueue[string](mem, 4); return err }},
		{"slice", func() error { _, err := NewQueue[[]byte](mem, 4); return err }},
		{"interface", func() error { _, err := NewQueue[any](mem, 4); return err }},
		{"map in array", func() error { _, err := NewQueue[[1]map[int]int](mem, 4); return err }},
		{"bool field", func() error { _, err := NewQueue[withBool](mem, 4); return err }},
		{"size 4", func() error { _, err := NewQueue[uint32](mem, 4); return err }},
		{"size 12", func() error { _, err := NewQueue[odd](mem, 4); return err }},
		{"size 0", func() error { _, err := NewQueue[struct{}](mem, 4); return err }},
	}
	for _, tc := range tests {
		if err := tc.new(); err == nil {
			t.Errorf("%s: accepted", tc.name)
		}
	}
}

func TestNewQueueRejectsMemory(t *testing.T) {
	mem := sharedMem(t, 4096)
	tests := []struct {
		name     string
		mem      []byte
		capacity int
		want     string
	}{
		{"capacity 0", mem, 0, "not a power of two"},
		{"capacity 6", mem, 6, "not a power of two"},
		{"short", mem[:QueueBytes[Desc](8)-1], 8, "need 320"},
		{"misaligned", mem[4:], 8, "not 8-byte aligned"},
	}
	for _, tc := range tests {
		_, err := NewQueue[Desc](tc.mem, tc.capacity)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err %v, want containing %q", tc.name, err, tc.want)
		}
	}
	if _, err := NewQueue[Desc](mem[8:], 8); err != nil {
		t.Errorf("8-aligned memory rejected: %v", err)
	}
}

func TestPushPopOrderAndBatches(t *testing.T) {
	q, _ := newQueue[item](t, 8)
	type step struct {
		push, wantPushed int // push this many; expect this many accepted
		pop, wantPopped  int // pop into a buffer this long; expect this many
		wantFree         int // Free() after the step
	}
	steps := []step{
		{push: 3, wantPushed: 3, pop: 0, wantPopped: 0, wantFree: 5},
		{push: 0, wantPushed: 0, pop: 2, wantPopped: 2, wantFree: 7},
		{push: 10, wantPushed: 7, pop: 0, wantPopped: 0, wantFree: 0},
		{push: 1, wantPushed: 0, pop: 5, wantPopped: 5, wantFree: 5},
		{push: 4, wantPushed: 4, pop: 100, wantPopped: 7, wantFree: 8},
		{push: 0, wantPushed: 0, pop: 1, wantPopped: 0, wantFree: 8},
		{push: 8, wantPushed: 8, pop: 8, wantPopped: 8, wantFree: 8},
	}
	next, expect := 0, 0 // next sequence number to push; to pop
	for i, s := range steps {
		got := q.Push(seqItems(next, s.push))
		if got != s.wantPushed {
			t.Fatalf("step %d: Push(%d) = %d, want %d", i, s.push, got, s.wantPushed)
		}
		next += got
		out := make([]item, s.pop)
		n, err := q.Pop(out)
		if err != nil || n != s.wantPopped {
			t.Fatalf("step %d: Pop(%d) = %d, %v; want %d, nil", i, s.pop, n, err, s.wantPopped)
		}
		for j, it := range out[:n] {
			if want := seqItems(expect+j, 1)[0]; it != want {
				t.Fatalf("step %d: entry %d = %+v, want %+v", i, j, it, want)
			}
		}
		expect += n
		if f := q.Free(); f != s.wantFree {
			t.Fatalf("step %d: Free() = %d, want %d", i, f, s.wantFree)
		}
	}
}

func TestWraparound(t *testing.T) {
	// Start a few entries short of the uint32 wrap, then run many laps with
	// batch sizes that do not divide the capacity.
	for _, start := range []uint32{0, 1<<32 - 5} {
		q, _ := newQueue[item](t, 4)
		atomic.StoreUint32(q.tail, start)
		atomic.StoreUint32(q.head, start)
		q.adopt()
		next, expect := 0, 0
		out := make([]item, 4)
		for lap := range 10000 {
			batch := 1 + lap%3
			pushed := q.Push(seqItems(next, batch))
			next += pushed
			n, err := q.Pop(out[:1+lap%4])
			if err != nil {
				t.Fatalf("start %#x lap %d: %v", start, lap, err)
			}
			for j := range n {
				if out[j].Seq != uint64(expect+j) || out[j].Val != mix(uint64(expect+j)) {
					t.Fatalf("start %#x lap %d: got %+v, want seq %d", start, lap, out[j], expect+j)
				}
			}
			expect += n
		}
		n, err := q.Pop(out)
		expect += n
		if err != nil || expect != next || next < 10000 {
			t.Fatalf("start %#x: drained to %d of %d pushed, err %v", start, expect, next, err)
		}
		if got := atomic.LoadUint32(q.tail); got != start+uint32(next) {
			t.Errorf("start %#x: tail %#x, want %#x", start, got, start+uint32(next))
		}
	}
}

func TestFullAndEmpty(t *testing.T) {
	for _, capacity := range []int{1, 2, 16} {
		q, _ := newQueue[uint64](t, capacity)
		if f := q.Free(); f != capacity {
			t.Fatalf("cap %d: empty Free() = %d", capacity, f)
		}
		if n, err := q.Pop(make([]uint64, 1)); n != 0 || err != nil {
			t.Fatalf("cap %d: Pop on empty = %d, %v", capacity, n, err)
		}
		if err := q.Wait(past); err != ErrTimeout {
			t.Fatalf("cap %d: Wait on empty = %v, want ErrTimeout", capacity, err)
		}
		if err := q.WaitSpace(past); err != nil {
			t.Fatalf("cap %d: WaitSpace on empty = %v, want nil", capacity, err)
		}
		in := make([]uint64, capacity+1)
		for i := range in {
			in[i] = uint64(i + 100)
		}
		if n := q.Push(in); n != capacity {
			t.Fatalf("cap %d: Push = %d", capacity, n)
		}
		if f := q.Free(); f != 0 {
			t.Fatalf("cap %d: full Free() = %d", capacity, f)
		}
		if n := q.Push(in[:1]); n != 0 {
			t.Fatalf("cap %d: Push on full = %d", capacity, n)
		}
		if err := q.WaitSpace(past); err != ErrTimeout {
			t.Fatalf("cap %d: WaitSpace on full = %v, want ErrTimeout", capacity, err)
		}
		if err := q.Wait(past); err != nil {
			t.Fatalf("cap %d: Wait on full = %v, want nil", capacity, err)
		}
		out := make([]uint64, capacity+1)
		if n, err := q.Pop(out); n != capacity || err != nil {
			t.Fatalf("cap %d: Pop on full = %d, %v", capacity, n, err)
		}
		for i, v := range out[:capacity] {
			if v != uint64(i+100) {
				t.Fatalf("cap %d: out[%d] = %d", capacity, i, v)
			}
		}
		// A timed-out waiter leaves no sleep flag behind.
		if c, p := atomic.LoadUint32(q.consSleep), atomic.LoadUint32(q.prodSleep); c != 0 || p != 0 {
			t.Fatalf("cap %d: sleep words %d %d after timeouts", capacity, c, p)
		}
	}
}

func TestConsumerSeesCorruptTail(t *testing.T) {
	tests := []struct {
		name       string
		head, tail uint32
		want       string
	}{
		{"beyond capacity", 0, 9, "producer index 9, consumer index 0, capacity 8"},
		{"behind head", 5, 4, "producer index 4, consumer index 5, capacity 8"},
		{"far away", 0x10, 0xdeadbeef, "producer index 3735928559, consumer index 16, capacity 8"},
		{"across wrap", 1<<32 - 2, 7, "producer index 7, consumer index 4294967294, capacity 8"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			q, _ := newQueue[item](t, 8)
			atomic.StoreUint32(q.head, tc.head)
			atomic.StoreUint32(q.tail, tc.head)
			q.adopt()
			atomic.StoreUint32(q.tail, tc.tail) // the producer lies
			out := make([]item, 4)
			n, err := q.Pop(out)
			if n != 0 || !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Pop = %d, %v; want 0, ErrCorrupt with %q", n, err, tc.want)
			}
			// Sticky, even once the index looks sane again.
			atomic.StoreUint32(q.tail, tc.head+1)
			if n, err2 := q.Pop(out); n != 0 || err2 != err {
				t.Fatalf("second Pop = %d, %v; want 0, %v", n, err2, err)
			}
			if err2 := q.Wait(time.Time{}); err2 != err {
				t.Fatalf("Wait = %v, want %v", err2, err)
			}
			if got := atomic.LoadUint32(q.head); got != tc.head {
				t.Fatalf("head moved to %d", got)
			}
		})
	}
}

func TestProducerSeesCorruptHead(t *testing.T) {
	tests := []struct {
		name       string
		tail, head uint32
		want       string
	}{
		{"ahead of tail", 3, 4, "consumer index 4, producer index 3, capacity 8"},
		{"too far behind", 20, 11, "consumer index 11, producer index 20, capacity 8"},
		{"garbage", 0, 0xdeadbeef, "consumer index 3735928559, producer index 0, capacity 8"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			q, _ := newQueue[item](t, 8)
			atomic.StoreUint32(q.tail, tc.tail)
			atomic.StoreUint32(q.head, tc.tail)
			q.adopt()
			atomic.StoreUint32(q.head, tc.head) // the consumer lies
			if f := q.Free(); f != 0 {
				t.Fatalf("Free = %d, want 0", f)
			}
			err := q.Err()
			if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Err = %v; want ErrCorrupt with %q", err, tc.want)
			}
			atomic.StoreUint32(q.head, tc.tail)
			if n := q.Push(seqItems(0, 1)); n != 0 {
				t.Fatalf("Push after corruption = %d", n)
			}
			if err2 := q.WaitSpace(time.Time{}); err2 != err {
				t.Fatalf("WaitSpace = %v, want %v", err2, err)
			}
			if got := atomic.LoadUint32(q.tail); got != tc.tail {
				t.Fatalf("tail moved to %d", got)
			}
		})
	}
}

func TestPushDetectsCorruptionWhenItMustReload(t *testing.T) {
	q, _ := newQueue[item](t, 4)
	if n := q.Push(seqItems(0, 4)); n != 4 {
		t.Fatal(n)
	}
	atomic.StoreUint32(q.head, 100)
	if n := q.Push(seqItems(4, 1)); n != 0 || !errors.Is(q.Err(), ErrCorrupt) {
		t.Fatalf("Push = %d, Err = %v; want 0, ErrCorrupt", n, q.Err())
	}
}

func TestOwnIndexIsPrivate(t *testing.T) {
	// The consumer scribbles on the producer's index; the producer's next
	// publish restores it and the consumer sees exactly what was pushed.
	prod, cons := newQueue[item](t, 8)
	prod.Push(seqItems(0, 2))
	atomic.StoreUint32(prod.tail, 7)
	prod.Push(seqItems(2, 1))
	out := make([]item, 8)
	n, err := cons.Pop(out)
	if n != 3 || err != nil {
		t.Fatalf("Pop = %d, %v; want 3, nil", n, err)
	}
	for i, it := range out[:n] {
		if it.Seq != uint64(i) {
			t.Fatalf("out[%d] = %+v", i, it)
		}
	}
}

func TestResetClearsState(t *testing.T) {
	q, _ := newQueue[item](t, 4)
	q.Push(seqItems(0, 3))
	atomic.StoreUint32(q.head, 99)
	q.Free()
	q.Reset()
	if q.Err() != nil || q.Free() != 4 {
		t.Fatalf("after Reset: Err %v Free %d", q.Err(), q.Free())
	}
	if n, err := q.Pop(make([]item, 1)); n != 0 || err != nil {
		t.Fatalf("after Reset: Pop = %d, %v", n, err)
	}
}

// TestSleepAndWake drives each end into the futex sleep (observed through
// its sleep word, not through timing) and checks the peer wakes it.
func TestSleepAndWake(t *testing.T) {
	prod, cons := newQueue[item](t, 2)
	done := make(chan error, 1)

	go func() { done <- cons.Wait(time.Time{}) }()
	for atomic.LoadUint32(cons.consSleep) == 0 {
		time.Sleep(time.Millisecond)
	}
	prod.Push(seqItems(0, 2))
	if err := <-done; err != nil {
		t.Fatalf("Wait = %v", err)
	}
	if w := atomic.LoadUint32(cons.consSleep); w != 0 {
		t.Fatalf("consumer sleep word %d after wake", w)
	}

	go func() { done <- prod.WaitSpace(time.Time{}) }()
	for atomic.LoadUint32(prod.prodSleep) == 0 {
		time.Sleep(time.Millisecond)
	}
	if n, err := cons.Pop(make([]item, 1)); n != 1 || err != nil {
		t.Fatalf("Pop = %d, %v", n, err)
	}
	if err := <-done; err != nil {
		t.Fatalf("WaitSpace = %v", err)
	}
	if n := prod.Push(seqItems(2, 5)); n != 1 {
		t.Fatalf("Push after wake = %d, want 1", n)
	}
}

// TestConcurrentChecksum passes a million items between two goroutines
// through a small queue and checks order and a checksum.
func TestConcurrentChecksum(t *testing.T) {
	const total = 1_000_000
	prod, cons := newQueue[item](t, 256)
	deadline := time.Now().Add(5 * time.Minute)
	var sent uint64
	errc := make(chan error, 1)
	go func() {
		next := 0
		buf := make([]item, 0, 97)
		for next < total {
			buf = buf[:0]
			for i := 0; i < 1+next%97 && next+i < total; i++ {
				v := mix(uint64(next + i))
				buf = append(buf, item{Seq: uint64(next + i), Val: v})
				sent += v
			}
			for off := 0; off < len(buf); {
				n := prod.Push(buf[off:])
				if n == 0 {
					if err := prod.WaitSpace(deadline); err != nil {
						errc <- err
						return
					}
				}
				off += n
			}
			next += len(buf)
		}
		errc <- nil
	}()
	var got uint64
	out := make([]item, 61)
	for expect := 0; expect < total; {
		n, err := cons.Pop(out)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			if err := cons.Wait(deadline); err != nil {
				t.Fatal(err)
			}
			continue
		}
		for _, it := range out[:n] {
			if it.Seq != uint64(expect) {
				t.Fatalf("got seq %d, want %d", it.Seq, expect)
			}
			got += it.Val
			expect++
		}
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if got != sent {
		t.Fatalf("checksum %#x, want %#x", got, sent)
	}
	if n, err := cons.Pop(out); n != 0 || err != nil {
		t.Fatalf("trailing Pop = %d, %v", n, err)
	}
}

// TestAttachValidates: an end attaching to memory whose indices are
// already impossible must not trust them on its first operation.
func TestAttachValidates(t *testing.T) {
	mem := sharedMem(t, QueueBytes[item](8))
	atomic.StoreUint32(word(mem, offTail), 9)
	atomic.StoreUint32(word(mem, offHead), 0)
	q, err := NewQueue[item](mem, 8)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := q.Pop(make([]item, 9)); n != 0 || !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Pop = %d, %v; want 0, ErrCorrupt", n, err)
	}
	if n := q.Push(seqItems(0, 1)); n != 0 || !errors.Is(q.Err(), ErrCorrupt) {
		t.Fatalf("Push = %d, Err = %v; want 0, ErrCorrupt", n, q.Err())
	}
}
