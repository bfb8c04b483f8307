// Package devchan owns the device channel: the contract through which a
// driver server (a confined process, restarted at will) reaches one PCI
// function of the machine. It is the hosted stand-in for the bus: MMIO,
// port I/O and configuration cycles travel as small fixed-size requests
// through one shared memory object; DMA goes to a separate pool (package
// host); the interrupt line is an eventfd plus a level word.
//
// The channel is one memfd (kernel/shm) mapped by both sides. The machine
// creates and lays it out (NewServer) and serves it (Server.Serve); the
// driver attaches (Attach) and issues accesses through a Client. The
// layout is in layout.go: a header of single-writer cache lines, then two
// ring.Queue of plain-data entries, requests (driver → machine, 24 bytes:
// seq, value, offset, op, BAR, size, flags) and replies (machine → driver,
// 24 bytes: seq, value, status, op).
//
// Ordering and waiting:
//
//   - The request queue is FIFO and the machine performs requests in
//     order. MMIO writes are posted, as on PCI: the client returns as soon
//     as the request is queued, and nothing waits for them. Every other
//     op (reads, configuration and I/O writes, Sync) is answered, and the
//     client waits for the reply; since the queue is FIFO, a read also
//     flushes every earlier posted write, as a PCI read does.
//   - A waiting client spins, then sleeps on the reply queue's futex
//     (ring's protocol); the machine, when idle, spins Config.Spin polls
//     (about 40 µs) and then sleeps on the doorbell word, which the
//     client rings only when the machine said it sleeps. No wake-up costs
//     a syscall while both sides are busy. A wake-up from idle costs
//     ~100 µs on the reference VM (a Unix socket round trip after the
//     same idle time costs the same), so each side avoids paying it
//     twice: a client that had to wake the machine polls for its reply a
//     little longer before sleeping, and a rising interrupt edge wakes
//     the sleeping machine at once and has it poll longer
//     (Config.IRQSpin), so that the driver's interrupt handler finds it
//     awake.
//   - The doorbell's wake-up is two steps on the driver's side (take the
//     word, then FUTEX_WAKE), and a driver can be killed between them.
//     The machine then sleeps on a doorbell that reads "awake", and no
//     ring() wakes it. So an attach wakes the machine unconditionally
//     (the next driver repairs what the dead one left), and the
//     machine's sleep is bounded (MaxSleep) for any wake-up lost in a way
//     not known; a sleep that ran out with work waiting is counted
//     (ServerStats.Overslept).
//   - A refused posted write is counted in the header with its seq and
//     status; Sync reports it (*PostedError).
//
// Trust: the machine trusts nothing it reads from the region. Queue
// indices are validated by ring; each request is copied out of shared
// memory before it is looked at, then checked by Validate against the
// machine's private copy of the BAR table (the copy in the header is for
// the driver only): known op, zero reserved fields, implemented BAR of the
// right kind, allowed width, naturally aligned, inside the BAR, value no
// wider than the access. A refused request gets an error reply (or, if
// posted, the header record) and Config.OnRefusal; it never reaches the
// handler. A corrupt queue index stops serving until the next attach. The
// machine never blocks on the driver: replies that do not fit are dropped
// and counted. The client trusts the machine (the machine is the
// hardware), but still bounds every wait (DefaultTimeout) and checks the
// header it maps.
//
// Attach and re-attach (the machine outlives its drivers): the driver
// writes a fresh nonce into attachReq and wakes the machine. The machine,
// between two requests, sees the new nonce and (1) empties both queues
// (ring.Queue.Reset: it is their creator, and the previous driver is
// gone), (2) clears the posted-error record, (3) increments the
// generation, (4) calls Handler.Attach, which resets the function, and
// (5) publishes the nonce in attachAck and wakes the futex on it. The
// driver then adopts the fresh queue indices. Requests a dead driver left
// in the queue are discarded; a reply it never collected is gone. The
// kernel guarantees that one driver holds the channel at a time (it kills
// the old task before granting the capability again); a second, live
// writer could only corrupt the queues, which stops service until the
// next attach and harms no one else. A client whose wait fails finds out
// from the generation whether it was replaced (ErrDetached) or the machine
// did not answer (ErrTimeout).
//
// Interrupts: Server.SetIRQ mirrors INTA# into the header's level word
// and, on a rising edge, bumps the edge counter and writes 1 to the
// eventfd. The driver waits with IRQ.Wait (Go's poller, no thread held),
// runs its handler, and re-checks Client.IRQLevel: a level-triggered line
// that stayed high has no new edge.
//
// Handoff (handoff.go): the machine sends a Description (JSON) and the
// channel memfd, the pool memfd and the eventfd, in that order, as one
// SOCK_SEQPACKET message with SCM_RIGHTS; ReceiveHandoff checks it before
// returning any descriptor.
//
// Locking: Server's serving state belongs to the Serve goroutine; SetIRQ
// takes irqMu (a leaf; it is called with the device model's lock held).
// Client serialises its methods with one mutex. unsafe is confined to
// word_unsafe.go.
package devchan
