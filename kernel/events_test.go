package kernel

import (
	"testing"
	"time"
)

// Wait's predicate runs without the log locked: one that reads the log
// (or, like a campaign's, asks the kernel, whose lock is held while it
// adds events) must not deadlock. It used to: a fault-injection campaign
// hung for good when init restarted the driver from a spare while the
// harness waited on such a predicate.
func TestWaitPredicateMayCallIn(t *testing.T) {
	l, err := newEventLog("")
	if err != nil {
		t.Fatal(err)
	}
	l.Add("kernel", "a", "first", "")
	done := make(chan Event, 1)
	go func() {
		e, _, _ := l.Wait(0, 5*time.Second, func(e Event) bool { return l.Len() >= 2 && e.Kind == "second" })
		done <- e
	}()
	l.Add("kernel", "a", "second", "")
	select {
	case e := <-done:
		if e.Kind != "second" {
			t.Errorf("got %+v", e)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Wait with a predicate that reads the log deadlocked")
	}
	e, i, err := l.Wait(1, time.Second, func(e Event) bool { return e.Kind == "second" })
	if err != nil || i != 1 || e.Kind != "second" {
		t.Errorf("Wait(1) = %+v %d %v", e, i, err)
	}
}
