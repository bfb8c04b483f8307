// Package ring owns the shared-memory queue contract between GrailOS
// components, modelled on seL4 sDDF: single-producer/single-consumer
// queues of plain-data entries, written once as the generic Queue[T] and
// used for both directions.
//
// A session (NewSession) joins two sides, A and B, through one shared
// memory area. Each direction of it (A→B and B→A) has a data area of
// fixed-size slots and two Queue[Desc]: the free queue carries empty
// buffers from the consumer back to the producer, the active queue carries
// filled buffers from the producer to the consumer. Side A creates the
// memory, calls NewSession with init=true (which fills both free queues
// with every slot) and then passes the memory object to B, which attaches
// with init=false. Direction documents the per-message calls.
//
// Queue memory layout (native byte order; every peer runs on this host):
//
//	  0  tail      uint32  producer index, free-running; written only by the producer
//	 64  head      uint32  consumer index, free-running; written only by the consumer
//	128  consSleep uint32  1 while the consumer sleeps on empty (futex word)
//	132  prodSleep uint32  1 while the producer sleeps on full (futex word)
//	192  entries   [capacity]T, entry i at (index & (capacity-1))
//
// Invariants and rules:
//
//   - The peer is untrusted. Every load of the peer's index is checked with
//     uint32 wraparound arithmetic, tail-head <= capacity, by whichever end
//     loads it; a violation is ErrCorrupt, sticky for that end. Each end
//     keeps its own index in private memory and only stores it, so a peer
//     scribbling on our index cannot steer our reads or writes.
//   - Entries are copied out of shared memory (Pop) before the caller sees
//     them, and descriptors are bounds-checked (Direction.Buffer) against
//     the caller's own Layout, never against values read from shared
//     memory. No peer-written value can cause an out-of-bounds access or a
//     panic; the worst a peer can do is corrupt its own session.
//   - Entry types are plain data (checkEntryType): no pointers, no bools,
//     size a multiple of 8.
//   - Signalling (seL4 sDDF's "signal only if the other side asked"): the
//     producer publishes tail with one atomic store per batch and wakes the
//     consumer only if consSleep is set; symmetrically for the consumer and
//     prodSleep. A waiter spins a bounded number of iterations without
//     syscalls, then sets its sleep word, re-checks the queue and sleeps on
//     the futex until woken or the deadline. sync/atomic is sequentially
//     consistent, which is what makes set-then-recheck free of lost
//     wake-ups. A sleeping waiter uses no CPU. A dead peer never wakes
//     anyone: the waiter returns ErrTimeout at its deadline (detecting the
//     death itself is the supervisor's job).
//   - Reset is called only by the creator, before the memory is shared.
//
// There are no locks. A Queue's producer end and consumer end may each be
// driven by one goroutine concurrently; neither end is safe for more than
// one goroutine. unsafe is confined to queue_unsafe.go.
package ring
