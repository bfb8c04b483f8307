package kernel

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// Event is one entry of the kernel's event log. T is CLOCK_MONOTONIC in
// nanoseconds — the same clock in every process on the host, so events that
// tasks report line up with the kernel's own.
type Event struct {
	T       int64  `json:"t_ns"`
	Source  string `json:"source"`  // "kernel" or the reporting task
	Subject string `json:"subject"` // the task the event is about
	Kind    string `json:"kind"`
	Detail  string `json:"detail,omitempty"`
}

func (e Event) String() string {
	s := fmt.Sprintf("%d.%06d %-8s %-17s %s", e.T/1e9, (e.T%1e9)/1e3, e.Subject, e.Kind, e.Detail)
	s = strings.TrimRight(s, " ")
	if e.Source != "kernel" && e.Source != e.Subject {
		s += " (by " + e.Source + ")"
	}
	return s
}

// Monotonic reads CLOCK_MONOTONIC in nanoseconds.
func Monotonic() int64 {
	var ts unix.Timespec
	unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
	return ts.Nano()
}

// maxEvents bounds the in-memory log (a long fault-injection campaign
// writes ~20 events per fault; the memory must stay flat); the file keeps
// everything.
const maxEvents = 1 << 14

// EventLog is an append-only log with subscribers.
type EventLog struct {
	mu      sync.Mutex
	events  []Event
	base    int           // events dropped from the front (index of events[0])
	changed chan struct{} // closed and replaced on every Add
	subs    map[chan Event]struct{}
	f       *os.File
	enc     *json.Encoder
}

func newEventLog(dir string) (*EventLog, error) {
	l := &EventLog{subs: map[chan Event]struct{}{}, changed: make(chan struct{})}
	if dir != "" {
		f, err := os.OpenFile(filepath.Join(dir, "events.jsonl"), os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
		if err != nil {
			return nil, fmt.Errorf("event log: %w", err)
		}
		l.f, l.enc = f, json.NewEncoder(f)
	}
	return l, nil
}

// Add records an event stamped now.
func (l *EventLog) Add(source, subject, kind, detail string) {
	l.add(Event{T: Monotonic(), Source: source, Subject: subject, Kind: kind, Detail: detail})
}

// AddAt records an event a task stamped itself; a stamp from the future is
// replaced by now (the task's clock is the same clock, so that means a lie).
func (l *EventLog) AddAt(t int64, source, subject, kind, detail string) {
	if now := Monotonic(); t <= 0 || t > now {
		t = now
	}
	l.add(Event{T: t, Source: source, Subject: subject, Kind: kind, Detail: detail})
}

func (l *EventLog) add(e Event) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.events) >= maxEvents {
		l.events = append(l.events[:0], l.events[maxEvents/2:]...)
		l.base += maxEvents / 2
	}
	l.events = append(l.events, e)
	close(l.changed)
	l.changed = make(chan struct{})
	if l.enc != nil {
		l.enc.Encode(e)
	}
	for ch := range l.subs {
		select {
		case ch <- e:
		default: // a slow subscriber misses events rather than stalling the kernel
		}
	}
}

// Snapshot returns a copy of the events so far.
func (l *EventLog) Snapshot() []Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]Event(nil), l.events...)
}

// Since returns the events from index from on.
func (l *EventLog) Since(from int) []Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	if from < l.base {
		from = l.base
	}
	if from-l.base > len(l.events) {
		return nil
	}
	return append([]Event(nil), l.events[from-l.base:]...)
}

// Len is the index the next event will have.
func (l *EventLog) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.base + len(l.events)
}

// Wait returns the first event at index from or later for which match is
// true, and its index; it waits for one up to timeout. match is called
// without the log locked, so it may call into the kernel.
func (l *EventLog) Wait(from int, timeout time.Duration, match func(Event) bool) (Event, int, error) {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		// match runs without the log's lock: a predicate may call into
		// the kernel, whose lock is held while events are added.
		l.mu.Lock()
		if from < l.base {
			from = l.base
		}
		first := from
		batch := append([]Event(nil), l.events[min(from-l.base, len(l.events)):]...)
		from = l.base + len(l.events)
		ch := l.changed
		l.mu.Unlock()
		for i, e := range batch {
			if match(e) {
				return e, first + i, nil
			}
		}
		select {
		case <-ch:
		case <-deadline.C:
			return Event{}, 0, fmt.Errorf("no matching event within %v", timeout)
		}
	}
}

// WaitFor waits for an event about subject of the given kind.
func (l *EventLog) WaitFor(from int, subject, kind string, timeout time.Duration) (Event, int, error) {
	e, i, err := l.Wait(from, timeout, func(e Event) bool { return e.Subject == subject && e.Kind == kind })
	if err != nil {
		err = fmt.Errorf("waiting for %s %s: %w", subject, kind, err)
	}
	return e, i, err
}

// Subscribe returns a channel receiving every later event, and a cancel func.
func (l *EventLog) Subscribe() (<-chan Event, func()) {
	ch := make(chan Event, 1024)
	l.mu.Lock()
	l.subs[ch] = struct{}{}
	l.mu.Unlock()
	return ch, func() {
		l.mu.Lock()
		delete(l.subs, ch)
		l.mu.Unlock()
	}
}

// Close closes the log file.
func (l *EventLog) Close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f != nil {
		l.f.Close()
		l.f, l.enc = nil, nil
	}
}

// logStore keeps the last lines of output of each task name.
type logStore struct {
	mu      sync.Mutex
	max     int
	lines   map[string][]string
	all     []string
	changed chan struct{}
}

func newLogStore(max int) *logStore {
	return &logStore{max: max, lines: map[string][]string{}, changed: make(chan struct{})}
}

// wait waits until match accepts the lines of name.
func (s *logStore) wait(name string, timeout time.Duration, match func([]string) bool) error {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		ok := match(s.lines[name])
		ch := s.changed
		s.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-ch:
		case <-deadline.C:
			return fmt.Errorf("output of %s: no match within %v", name, timeout)
		}
	}
}

func (s *logStore) add(name, line string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	l := append(s.lines[name], line)
	if len(l) > s.max {
		l = l[len(l)-s.max:]
	}
	s.lines[name] = l
	s.all = append(s.all, name+": "+line)
	if len(s.all) > 4*s.max {
		s.all = s.all[len(s.all)-4*s.max:]
	}
	close(s.changed)
	s.changed = make(chan struct{})
}

func (s *logStore) get(name string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if name == "" {
		return append([]string(nil), s.all...)
	}
	return append([]string(nil), s.lines[name]...)
}

// lineWriter serialises prefixed lines onto one writer.
type lineWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (lw *lineWriter) line(who, s string) {
	lw.mu.Lock()
	defer lw.mu.Unlock()
	fmt.Fprintf(lw.w, "%-8s| %s\n", who, s)
}
