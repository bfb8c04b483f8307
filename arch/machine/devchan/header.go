package devchan

import (
	"sync/atomic"

	"grailos/kernel/shm"
)

// header holds typed views of the shared header's live words (layout.go).
type header struct {
	gen, attachAck, attachReq, doorbell    *uint32
	irqLevel, irqEdges, postedErrs, lastSt *uint32
	lastSeq                                *uint64
}

func newHeader(mem []byte) header {
	return header{
		gen:        word32(mem, offGen),
		attachAck:  word32(mem, offAttachAck),
		attachReq:  word32(mem, offAttachReq),
		doorbell:   word32(mem, offDoorbell),
		irqLevel:   word32(mem, offIRQLevel),
		irqEdges:   word32(mem, offIRQEdges),
		postedErrs: word32(mem, offPostedErrs),
		lastSt:     word32(mem, offLastStatus),
		lastSeq:    word64(mem, offLastSeq),
	}
}

// ring wakes the machine if it announced that it sleeps (the same
// signal-only-if-asked rule as ring.Queue). The load keeps the common case
// (machine awake) to one read of a line the machine rarely writes.
// It reports whether the machine was asleep.
func (h *header) ring() bool {
	if atomic.LoadUint32(h.doorbell) != 0 && atomic.SwapUint32(h.doorbell, 0) != 0 {
		shm.FutexWake(h.doorbell, 1)
		return true
	}
	return false
}

// kick wakes the machine whatever the doorbell says. ring's wake-up is
// not atomic: a driver killed between its swap (1 → 0) and its
// FUTEX_WAKE leaves the machine asleep on a doorbell that reads "awake",
// and every later ring() skips the wake-up (issue 5: the machine never
// answered another attach). The next driver is the one who can repair
// that, so its attach clears the doorbell and wakes without looking: if
// the machine sleeps in the kernel it is woken; if it is about to sleep,
// the cleared word makes its FUTEX_WAIT return at once. One system call
// per attach.
func (h *header) kick() {
	atomic.StoreUint32(h.doorbell, 0)
	shm.FutexWake(h.doorbell, 1)
}
