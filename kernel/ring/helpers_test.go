package ring

import (
	"os"
	"testing"

	"grailos/kernel/shm"
)

// sharedMem returns a fresh sealed, mapped memfd of at least size bytes,
// unmapped when the test ends. It is page-aligned, like production memory.
func sharedMem(tb testing.TB, size int) []byte {
	tb.Helper()
	f, _ := sharedFile(tb, size)
	r, err := shm.Map(f, true)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { r.Close() })
	return r.Bytes()
}

func sharedFile(tb testing.TB, size int) (*os.File, int) {
	tb.Helper()
	f, err := shm.Create("ring-test", size)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { f.Close() })
	return f, size
}

// newQueue lays a fresh, reset Queue[T] over shared memory and returns it
// with a second handle on the same memory, for the peer end.
func newQueue[T any](tb testing.TB, capacity int) (*Queue[T], *Queue[T]) {
	tb.Helper()
	mem := sharedMem(tb, QueueBytes[T](capacity))
	q, err := NewQueue[T](mem, capacity)
	if err != nil {
		tb.Fatal(err)
	}
	q.Reset()
	peer, err := NewQueue[T](mem, capacity)
	if err != nil {
		tb.Fatal(err)
	}
	return q, peer
}

// item is a test entry: a sequence number and a payload.
type item struct {
	Seq uint64
	Val uint64
}

func seqItems(from, n int) []item {
	s := make([]item, n)
	for i := range s {
		s[i] = item{Seq: uint64(from + i), Val: mix(uint64(from + i))}
	}
	return s
}

// mix is a cheap bijective scramble so payloads differ from sequence numbers.
func mix(x uint64) uint64 {
	x ^= x >> 31
	x *= 0x9e3779b97f4a7c15
	return x ^ x>>29
}
