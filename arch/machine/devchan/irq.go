package devchan

import (
	"encoding/binary"
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// NewEventFD returns a new eventfd (close-on-exec, non-blocking) for an
// interrupt line: the machine passes it as Config.IRQ and hands it to the
// driver, which waits on it with OpenIRQ.
func NewEventFD() (*os.File, error) {
	fd, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		return nil, fmt.Errorf("devchan: eventfd: %w", err)
	}
	return os.NewFile(uintptr(fd), "irq"), nil
}

// IRQ is the driver's end of an interrupt line: an eventfd the machine
// signals on every rising edge. Waiting goes through Go's poller, so a
// waiting goroutine holds no thread.
type IRQ struct {
	f   *os.File
	buf [8]byte
}

// OpenIRQ wraps the eventfd f for waiting. It duplicates the descriptor
// (the caller keeps f and may close it) and makes the duplicate
// non-blocking, so that reads park in the poller.
func OpenIRQ(f *os.File) (*IRQ, error) {
	nfd, err := dupFD(f)
	if err != nil {
		return nil, fmt.Errorf("devchan: irq: dup: %w", err)
	}
	// O_NONBLOCK lives in the open file description, which the machine
	// shares; it created the eventfd non-blocking, and setting it again
	// is harmless.
	if err := unix.SetNonblock(nfd, true); err != nil {
		unix.Close(nfd)
		return nil, fmt.Errorf("devchan: irq: %w", err)
	}
	return &IRQ{f: os.NewFile(uintptr(nfd), "irq")}, nil
}

// Wait blocks until the line has had at least one rising edge since the
// previous Wait and returns how many (the eventfd counter, reset by the
// read). A zero deadline waits without limit; at the deadline it returns
// an error satisfying errors.Is(err, os.ErrDeadlineExceeded).
func (q *IRQ) Wait(deadline time.Time) (uint64, error) {
	if err := q.f.SetReadDeadline(deadline); err != nil {
		return 0, err
	}
	n, err := q.f.Read(q.buf[:])
	if err != nil {
		return 0, err
	}
	if n != 8 {
		return 0, fmt.Errorf("devchan: irq: read %d bytes from eventfd", n)
	}
	return binary.NativeEndian.Uint64(q.buf[:]), nil
}

// Close closes the driver's descriptor; a Wait in progress returns an
// error.
func (q *IRQ) Close() error { return q.f.Close() }
