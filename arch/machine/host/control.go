package host

import (
	"net"
	"sync"

	"golang.org/x/sys/unix"

	"grailos/arch/machine/hw"
)

// ServeControl serves the control socket after the handoff (the
// protocol is package hw's: fault requests, their replies, and reports
// when an armed fault fires and ends) until its peer closes it or a read
// fails; it returns then. A malformed request gets an error reply and
// changes nothing.
//
// Replies and reports go out in order through one queue: the model
// reports under its lock (armed, fired, done), so they can only be
// queued, never written there. A report that finds the queue full is
// dropped and logged.
func (m *Machine) ServeControl(conn *net.UnixConn) {
	q := &ctlQueue{out: make(chan []byte, 64), stop: make(chan struct{})}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case msg := <-q.out:
				if _, err := conn.Write(msg); err != nil {
					m.log.Printf("control: %v", err)
				}
			case <-q.stop:
				return
			}
		}
	}()
	defer wg.Wait()
	defer close(q.stop)
	report := func(id, state, detail string) {
		msg := hw.Message{State: state, ID: id, T: monotonic(), Detail: detail}
		m.log.Printf("device fault %s %s: %s", id, state, detail)
		if !q.put(msg.Encode()) {
			m.log.Printf("device fault %s: control queue full, %q not sent", id, state)
		}
	}
	buf := make([]byte, hw.MaxControlMessage+1)
	for {
		n, err := conn.Read(buf)
		if err != nil || n == 0 {
			return
		}
		f, err := hw.ParseRequest(buf[:n])
		if err == nil {
			err = m.fn.Model().InjectFault(f, report) // replies armed itself
		}
		if err != nil {
			m.log.Printf("control: refused: %v", err)
			q.put(hw.Message{State: hw.MessageError, Detail: err.Error()}.Encode())
		}
	}
}

type ctlQueue struct {
	out  chan []byte
	stop chan struct{}
}

func (q *ctlQueue) put(msg []byte) bool {
	select {
	case q.out <- msg:
		return true
	default:
		return false
	}
}

func monotonic() int64 {
	var ts unix.Timespec
	unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
	return ts.Nano()
}
