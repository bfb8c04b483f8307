package ring

import (
	"errors"
	"fmt"
	"reflect"
	"sync/atomic"
	"time"

	"grailos/kernel/shm"
)

// ErrCorrupt is returned (wrapped, with the offending values) when the
// peer's index is impossible. It is sticky: once a queue end has seen it,
// every later operation on that end fails with it.
var ErrCorrupt = errors.New("ring: queue corrupt")

// ErrTimeout is returned by Wait and WaitSpace at the deadline. It is the
// same value as shm.ErrTimeout.
var ErrTimeout = shm.ErrTimeout

// Queue header layout, in bytes. Each index sits alone on a cache line so
// the producer's and the consumer's stores never share one; the two sleep
// words share a line because they are written only when a side goes to
// sleep or is woken.
const (
	cacheLine       = 64
	offTail         = 0 * cacheLine       // producer index, written by the producer
	offHead         = 1 * cacheLine       // consumer index, written by the consumer
	offConsSleeping = 2 * cacheLine       // consumer asleep on empty; futex word
	offProdSleeping = offConsSleeping + 4 // producer asleep on full; futex word
	headerBytes     = 3 * cacheLine
)

// MaxCapacity bounds a queue's capacity. Indices are free-running uint32
// counters, so the capacity must stay well below 2^31 for tail-head to
// be unambiguous; in practice queues hold at most a few thousand entries.
const MaxCapacity = 1 << 24

// spinIters bounds the spin phase of Wait and WaitSpace: this many checks
// of the peer's index (plain atomic loads, no syscalls, a Gosched every
// spinYieldEvery) before the waiter announces itself and sleeps. It is a
// few microseconds on current hardware. Counting iterations rather than
// reading the clock keeps the spin free of vDSO fallbacks to real syscalls.
const (
	spinIters      = 2048
	spinYieldEvery = 256
)

// Queue is a single-producer, single-consumer queue of T in a caller-owned
// (usually shared) memory area. Exactly one goroutine, in one process, is
// the producer (Push, Free, WaitSpace) and exactly one is the consumer (Pop,
// Wait); they may be in different processes, or use the same *Queue from
// two goroutines. Each end keeps its own index privately and only stores it
// to shared memory, so the peer can lie only about its own index, which is
// validated on every load.
type Queue[T any] struct {
	tail      *uint32 // shared producer index
	head      *uint32 // shared consumer index
	consSleep *uint32 // shared; 1 while the consumer sleeps (or is about to)
	prodSleep *uint32 // shared; 1 while the producer sleeps (or is about to)
	ents      []T
	mask      uint32
	capacity  uint32

	// Producer-private state.
	p struct {
		tail      uint32 // our index; the shared copy is store-only
		headCache uint32 // last validated consumer index
		err       error
		_         [cacheLine]byte // keep the two ends' state apart
	}
	// Consumer-private state.
	c struct {
		head      uint32
		tailCache uint32
		err       error
	}
}

// QueueBytes returns the size of the memory a Queue[T] of the given
// capacity needs: a 192-byte header plus capacity entries. It returns 0
// for an invalid capacity or element type.
func QueueBytes[T any](capacity int) int {
	if checkCapacity(capacity) != nil || checkEntryType[T]() != nil {
		return 0
	}
	return headerBytes + capacity*int(reflect.TypeFor[T]().Size())
}

// NewQueue lays a queue of the given capacity over mem. mem must be at
// least QueueBytes[T](capacity) long and 8-byte aligned (64 is best; mmap
// gives a page). It does not initialise mem: the creator of the shared
// area calls Reset once, before handing the memory to the peer; the other
// side attaches with NewQueue alone and adopts the indices it finds.
func NewQueue[T any](mem []byte, capacity int) (*Queue[T], error) {
	if err := checkEntryType[T](); err != nil {
		return nil, err
	}
	if err := checkCapacity(capacity); err != nil {
		return nil, err
	}
	need := QueueBytes[T](capacity)
	if len(mem) < need {
		return nil, fmt.Errorf("ring: queue memory %d bytes, need %d", len(mem), need)
	}
	if a := addrOf(mem); a%8 != 0 {
		return nil, fmt.Errorf("ring: queue memory at %#x not 8-byte aligned", a)
	}
	q := &Queue[T]{
		tail:      word(mem, offTail),
		head:      word(mem, offHead),
		consSleep: word(mem, offConsSleeping),
		prodSleep: word(mem, offProdSleeping),
		ents:      entries[T](mem, headerBytes, capacity),
		mask:      uint32(capacity - 1),
		capacity:  uint32(capacity),
	}
	q.adopt()
	return q, nil
}

// adopt takes both indices from memory as this end's starting point. They
// are not validated here; the caches are set to "nothing available" so
// that the first operation of each end loads and validates the peer's
// index. The caches only ever hold validated values.
func (q *Queue[T]) adopt() {
	tail, head := atomic.LoadUint32(q.tail), atomic.LoadUint32(q.head)
	q.p.tail, q.p.headCache = tail, tail-q.capacity
	q.c.head, q.c.tailCache = head, head
}

// Reset zeroes the header (indices and sleep words) and clears both ends'
// sticky errors. Only the creator of the shared memory calls it, before
// the peer attaches.
func (q *Queue[T]) Reset() {
	atomic.StoreUint32(q.tail, 0)
	atomic.StoreUint32(q.head, 0)
	atomic.StoreUint32(q.consSleep, 0)
	atomic.StoreUint32(q.prodSleep, 0)
	q.adopt()
	q.p.err, q.c.err = nil, nil
}

// Cap returns the queue's capacity.
func (q *Queue[T]) Cap() int { return int(q.capacity) }

// Push appends up to len(items) entries and returns how many it appended
// (fewer when the queue is full, 0 after corruption; see Err). The new
// tail is published once, with one atomic store, and the consumer is woken
// only if it announced that it sleeps. Producer only.
func (q *Queue[T]) Push(items []T) int {
	if q.p.err != nil || len(items) == 0 {
		return 0
	}
	tail := q.p.tail
	free := q.capacity - (tail - q.p.headCache)
	if int(free) < len(items) {
		var err error
		if free, err = q.loadFree(); err != nil {
			return 0
		}
	}
	n := min(int(free), len(items))
	if n == 0 {
		return 0
	}
	i := int(tail & q.mask)
	k := copy(q.ents[i:], items[:n])
	copy(q.ents, items[k:n])
	tail += uint32(n)
	q.p.tail = tail
	atomic.StoreUint32(q.tail, tail)
	wake(q.consSleep)
	return n
}

// Free returns the number of entries Push can append now (0 after
// corruption). Producer only.
func (q *Queue[T]) Free() int {
	free, _ := q.loadFree()
	return int(free)
}

// Err returns the producer end's sticky error, if any. The consumer's
// error is returned directly by Pop and Wait.
func (q *Queue[T]) Err() error { return q.p.err }

// loadFree reads and validates the consumer's index.
func (q *Queue[T]) loadFree() (uint32, error) {
	if q.p.err != nil {
		return 0, q.p.err
	}
	head := atomic.LoadUint32(q.head)
	if used := q.p.tail - head; used > q.capacity {
		q.p.err = fmt.Errorf("%w: consumer index %d, producer index %d, capacity %d",
			ErrCorrupt, head, q.p.tail, q.capacity)
		return 0, q.p.err
	}
	q.p.headCache = head
	return q.capacity - (q.p.tail - head), nil
}

// Pop removes up to len(out) entries into out and returns how many. Each
// entry is copied out of shared memory before the caller sees it, so the
// peer cannot change an entry after the caller validated it. The new head
// is published once; a producer that sleeps on a full queue is woken.
// Consumer only.
func (q *Queue[T]) Pop(out []T) (int, error) {
	if q.c.err != nil {
		return 0, q.c.err
	}
	if len(out) == 0 {
		return 0, nil
	}
	head := q.c.head
	avail := q.c.tailCache - head
	if int(avail) < len(out) {
		var err error
		if avail, err = q.loadAvail(); err != nil {
			return 0, err
		}
	}
	n := min(int(avail), len(out))
	if n == 0 {
		return 0, nil
	}
	i := int(head & q.mask)
	k := copy(out[:n], q.ents[i:])
	copy(out[k:n], q.ents)
	head += uint32(n)
	q.c.head = head
	atomic.StoreUint32(q.head, head)
	wake(q.prodSleep)
	return n, nil
}

// loadAvail reads and validates the producer's index.
func (q *Queue[T]) loadAvail() (uint32, error) {
	if q.c.err != nil {
		return 0, q.c.err
	}
	tail := atomic.LoadUint32(q.tail)
	avail := tail - q.c.head
	if avail > q.capacity {
		q.c.err = fmt.Errorf("%w: producer index %d, consumer index %d, capacity %d",
			ErrCorrupt, tail, q.c.head, q.capacity)
		return 0, q.c.err
	}
	q.c.tailCache = tail
	return avail, nil
}

// Wait blocks the consumer until the queue holds at least one entry
// (returns nil), the deadline passes (ErrTimeout), or the producer's index
// is found corrupt (ErrCorrupt). A zero deadline waits without limit. It
// spins briefly, then sleeps on a futex and burns no CPU. Consumer only.
func (q *Queue[T]) Wait(deadline time.Time) error {
	return q.waitFor(false, deadline)
}

// WaitSpace blocks the producer until Push can append at least one entry,
// with the same results as Wait. Producer only.
func (q *Queue[T]) WaitSpace(deadline time.Time) error {
	return q.waitFor(true, deadline)
}

// ready reports how many entries the consumer may pop or, for the producer
// end, how many it may push.
func (q *Queue[T]) ready(producer bool) (uint32, error) {
	if producer {
		return q.loadFree()
	}
	return q.loadAvail()
}

// waitFor is the spin-then-sleep protocol shared by both ends. The
// sleeper stores
// 1 to its sleep word, re-checks, and sleeps only while the word is still
// 1; the peer stores its index and then, if it loads a 1, swaps the word
// to 0 and wakes. sync/atomic operations are sequentially consistent, so
// either the re-check sees the peer's new index or the peer sees the 1:
// no wake-up is lost. A peer that dies simply never wakes us, and the
// deadline still holds.
func (q *Queue[T]) waitFor(producer bool, deadline time.Time) error {
	sleep := q.consSleep
	if producer {
		sleep = q.prodSleep
	}
	for i := range spinIters {
		n, err := q.ready(producer)
		if err != nil {
			return err
		}
		if n > 0 {
			return nil
		}
		if i%spinYieldEvery == spinYieldEvery-1 {
			shm.Yield()
		}
	}
	for {
		atomic.StoreUint32(sleep, 1)
		n, err := q.ready(producer)
		if err != nil || n > 0 {
			atomic.StoreUint32(sleep, 0)
			return err
		}
		timeout := time.Duration(-1) // no limit
		if !deadline.IsZero() {
			if timeout = time.Until(deadline); timeout <= 0 {
				atomic.StoreUint32(sleep, 0)
				return ErrTimeout
			}
		}
		if err := shm.FutexWait(sleep, 1, timeout); err != nil && err != ErrTimeout {
			atomic.StoreUint32(sleep, 0)
			return err
		}
		// Woken, timed out, or interrupted: loop to re-check the queue
		// and the deadline. A wake-up forged by the peer costs a lap.
	}
}

// wake wakes the peer if it announced that it sleeps. The load keeps the
// common case (peer awake) to a read of a line that is rarely written.
func wake(sleep *uint32) {
	if atomic.LoadUint32(sleep) != 0 && atomic.SwapUint32(sleep, 0) != 0 {
		shm.FutexWake(sleep, 1)
	}
}

func checkCapacity(capacity int) error {
	if capacity < 1 || capacity > MaxCapacity || capacity&(capacity-1) != 0 {
		return fmt.Errorf("ring: capacity %d not a power of two in [1, %d]", capacity, MaxCapacity)
	}
	return nil
}

// checkEntryType accepts T only if it is plain data a peer may overwrite
// with any bit pattern: fixed-size integers, floats and arrays or structs
// of them, with a size that is a non-zero multiple of 8 (so every entry is
// 8-byte aligned). Pointers, strings, slices, maps, channels, functions and
// interfaces would let a peer forge references; bool is refused too,
// because Go assumes a bool byte is 0 or 1 and a peer can write 2.
func checkEntryType[T any]() error {
	t := reflect.TypeFor[T]()
	if err := plainData(t); err != nil {
		return fmt.Errorf("ring: entry type %v: %w", t, err)
	}
	if t.Size() == 0 || t.Size()%8 != 0 {
		return fmt.Errorf("ring: entry type %v: size %d not a non-zero multiple of 8", t, t.Size())
	}
	return nil
}

func plainData(t reflect.Type) error {
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64, reflect.Complex64, reflect.Complex128:
		return nil
	case reflect.Array:
		return plainData(t.Elem())
	case reflect.Struct:
		for i := range t.NumField() {
			if err := plainData(t.Field(i).Type); err != nil {
				return fmt.Errorf("field %s: %w", t.Field(i).Name, err)
			}
		}
		return nil
	default:
		return fmt.Errorf("%v is not plain data", t.Kind())
	}
}
