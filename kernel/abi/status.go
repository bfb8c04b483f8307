package abi

import "fmt"

// Status is the outcome code carried by results, replies and events.
type Status uint16

// Status codes. Each has one meaning and one message; Error turns a non-OK
// status into an error value that errors.Is can match.
const (
	OK            Status = iota
	ErrInvalidCap        // no capability at this handle
	ErrStaleCap          // the handle's slot was reused: the capability it named is gone
	ErrRights            // the capability lacks a right the operation needs
	ErrWrongType         // the capability designates another kind of object
	ErrBadRequest        // malformed or invalid arguments
	ErrPeerDied          // the task at the other end died before answering
	ErrQuota             // a per-task limit is exhausted
	ErrBusy              // the endpoint's queue is full
	ErrNotFound          // no such binary, task or object
	ErrDenied            // the operation is not permitted for this task
	ErrTimeout           // no answer in time (set by the task-side library)
	ErrClosed            // the object or session is closed
	ErrPeerFault         // the peer sent something invalid
	statusCount
)

var statusText = [...]string{
	"ok",
	"invalid capability",
	"stale capability",
	"insufficient rights",
	"wrong object type",
	"bad request",
	"peer died",
	"quota exhausted",
	"endpoint busy",
	"not found",
	"denied",
	"timed out",
	"closed",
	"peer fault",
}

func (s Status) String() string {
	if s < statusCount {
		return statusText[s]
	}
	return fmt.Sprintf("status(%d)", uint16(s))
}

// Error implements error so a Status can be returned and matched directly.
func (s Status) Error() string { return s.String() }

// Err returns nil for OK and s otherwise.
func (s Status) Err() error {
	if s == OK {
		return nil
	}
	return s
}

// StatusError is a Status with context; errors.Is(err, ErrRights) works.
type StatusError struct {
	Status Status
	Detail string
}

func (e *StatusError) Error() string {
	if e.Detail == "" {
		return e.Status.String()
	}
	return e.Status.String() + ": " + e.Detail
}

// Is matches the bare status.
func (e *StatusError) Is(target error) bool { s, ok := target.(Status); return ok && s == e.Status }

// Errorf builds a StatusError.
func Errorf(s Status, format string, a ...any) error {
	return &StatusError{Status: s, Detail: fmt.Sprintf(format, a...)}
}
