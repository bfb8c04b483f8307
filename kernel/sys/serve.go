package sys

import (
	"context"
	"fmt"

	"grailos/kernel/abi"
)

// Handler handles one request. It must answer it (Reply or Fail) exactly once.
type Handler func(r *Request)

// Request is a call delivered to this task.
type Request struct {
	t        *Task
	Endpoint abi.Handle
	Badge    uint64
	Payload  []byte
	Caps     []abi.CapRef
	token    uint64
	done     bool
}

// Reply answers the request, transferring caps (handle + rights to give).
func (r *Request) Reply(payload []byte, caps ...abi.CapRef) error {
	return r.answer(abi.OK, payload, caps)
}

// Fail answers the request with an error status and message.
func (r *Request) Fail(s abi.Status, format string, a ...any) error {
	return r.answer(s, []byte(fmt.Sprintf(format, a...)), nil)
}

func (r *Request) answer(s abi.Status, payload []byte, caps []abi.CapRef) error {
	if r.done {
		return fmt.Errorf("request already answered")
	}
	r.done = true
	return r.t.conn.Send(&abi.Message{Header: abi.Header{Op: abi.OpReply, Status: s, Arg0: r.token}, Caps: caps, Payload: payload})
}

// Listen registers h as the handler of endpoint ep and tells the kernel to
// deliver its calls.
func (t *Task) Listen(ep abi.Handle, h Handler) error {
	t.mu.Lock()
	t.handlers[ep] = h
	t.mu.Unlock()
	if _, err := t.simple(abi.OpListen, ep, 0, 0); err != nil {
		t.mu.Lock()
		delete(t.handlers, ep)
		t.mu.Unlock()
		return err
	}
	return nil
}

// Serve handles requests one at a time until ctx ends or the kernel channel
// closes. A handler that does not answer gets its request failed for it.
func (t *Task) Serve(ctx context.Context) error {
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case r, ok := <-t.reqs:
			if !ok {
				return t.closed
			}
			t.mu.Lock()
			h := t.handlers[r.Endpoint]
			t.mu.Unlock()
			if h == nil {
				r.Fail(abi.ErrNotFound, "no handler for endpoint %#x", uint32(r.Endpoint))
				continue
			}
			h(r)
			if !r.done {
				r.Fail(abi.ErrBadRequest, "handler returned without answering")
			}
		}
	}
}

// Control messages init sends on a server's control endpoint. The first
// payload byte is the command; a name may follow.
const (
	CtlPing     = 'p' // heartbeat: answered by the dispatcher, so a hung handler misses it
	CtlPeerUp   = 'u' // a server this task uses restarted: re-attach
	CtlPeerDown = 'd' // a server this task uses is down for good
)

func (t *Task) control(r *Request) {
	if len(r.Payload) == 0 {
		r.Fail(abi.ErrBadRequest, "empty control message")
		return
	}
	switch r.Payload[0] {
	case CtlPing:
		if t.Health != nil {
			t.Health()
		}
		r.Reply([]byte{CtlPing})
	case CtlPeerUp, CtlPeerDown:
		name := string(r.Payload[1:])
		if err := abi.CheckName(name); err != nil {
			r.Fail(abi.ErrBadRequest, "%v", err)
			return
		}
		r.Reply(nil)
		if t.OnPeer != nil {
			t.OnPeer(name, r.Payload[0] == CtlPeerUp)
		}
	default:
		r.Fail(abi.ErrBadRequest, "unknown control command %q", r.Payload[0])
	}
}
