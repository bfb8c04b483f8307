// Package shm owns memfd-backed shared memory objects and the futex
// primitives that run on words inside them.
//
// A memory object is a sealed memfd. Create makes one; it is sized once and
// then sealed with F_SEAL_SHRINK|F_SEAL_GROW|F_SEAL_SEAL, so no process that
// holds the fd can ever change its length. That matters because a peer that
// shrank the file under our mapping would turn our next access into SIGBUS.
// ReadOnly derives a second fd that the kernel refuses to map writable; it is
// what a read-only Memory capability hands out. Map maps an object MAP_SHARED
// and returns a Region.
//
// Invariants:
//
//   - Map never maps an object that is not sealed against SHRINK and GROW.
//     An fd received from a peer is untrusted; if it is unsealed (or not a
//     memfd at all) Map fails with ErrNotSealed instead of mapping it.
//   - Create rounds the requested size up to a whole number of pages
//     (PageRound); the object's real size is what Region.Size reports. A
//     size <= 0 is rejected.
//   - A Region is unmapped exactly once, by Close; Close is idempotent and
//     safe to call concurrently. After Close, Bytes returns nil. Slices
//     obtained from Bytes before Close must not be used after it: the caller
//     owns that lifetime (the ring package borrows a Region's bytes and
//     never closes it).
//   - FutexWait and FutexWake use the shared (non-private) futex operations
//     so they pair across processes that map the same object. The word must
//     be 4-byte aligned and lie in memory that stays mapped during the call.
//
// The package has no locks other than Region's internal mutex, which is a
// leaf. unsafe is confined to futex_unsafe.go.
package shm
