package hw

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// The machine's control protocol, after the handoff (one SOCK_SEQPACKET
// message each, text):
//
//	→ fault {"id":"f3","c":"device","s":"irq-lost","k":1,"x":2}
//	← armed f3 T irq-lost: events 1 to 2        (or: error WHY)
//	← fired f3 T irq-lost: assertion 1          (when it happens)
//	← done f3 T irq-lost: assertion 3 behaved after 2 faulty
//
// The request's JSON is grail inject's fault spec (package
// grailos/dde/linux/fault, class device): s the kind, k the first faulty
// event counted from arming, x how many (0 or absent: 1), and for
// reg-garbage r the register ("0xc0"; absent: any) and g the seed of the
// values. T is CLOCK_MONOTONIC in nanoseconds when the machine saw it. A
// request that is not one gets an error reply, never more.

// RequestFault starts a fault request.
const RequestFault = "fault "

// MaxControlMessage bounds a control message.
const MaxControlMessage = 1024

// request is a fault request's JSON.
type request struct {
	ID    string `json:"id"`
	Class string `json:"c"`
	Site  string `json:"s"`
	Nth   int    `json:"k"`
	Count int    `json:"x"`
	Reg   string `json:"r"`
	Seed  uint64 `json:"g"`
}

// ParseRequest decodes a fault request. It comes from the machine's
// owner; it is checked, never trusted.
func ParseRequest(msg []byte) (Fault, error) {
	if len(msg) > MaxControlMessage {
		return Fault{}, fmt.Errorf("request of %d bytes, at most %d", len(msg), MaxControlMessage)
	}
	body, ok := bytes.CutPrefix(msg, []byte(RequestFault))
	if !ok {
		return Fault{}, fmt.Errorf("unknown request %q (fault {json})", first(msg, 32))
	}
	var r request
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		return Fault{}, fmt.Errorf("fault request: %v", err)
	}
	if dec.More() {
		return Fault{}, errors.New("fault request: trailing data")
	}
	if r.Class != "device" {
		return Fault{}, fmt.Errorf("fault request: class %q, want device", r.Class)
	}
	k, err := ParseFaultKind(r.Site)
	if err != nil {
		return Fault{}, err
	}
	if r.Count < 0 {
		return Fault{}, fmt.Errorf("fault %s: %d events", r.ID, r.Count)
	}
	f := Fault{ID: r.ID, Kind: k, Nth: r.Nth, Count: max(r.Count, 1), Seed: r.Seed}
	if k == FaultRegGarbage {
		if f.Reg, err = ParseRegister(r.Reg); err != nil {
			return Fault{}, err
		}
	} else if r.Reg != "" {
		return Fault{}, fmt.Errorf("fault %s: a register is for reg-garbage only", r.ID)
	}
	return f, f.Validate()
}

// ParseRegister decodes a register as a request names it: "" is
// AnyRegister, else a hexadecimal offset ("0xc0").
func ParseRegister(s string) (int64, error) {
	if s == "" {
		return AnyRegister, nil
	}
	h, ok := strings.CutPrefix(s, "0x")
	v, err := strconv.ParseUint(h, 16, 20)
	if !ok || err != nil {
		return 0, fmt.Errorf("register %q: want a hexadecimal offset below 0x100000 (0xc0)", s)
	}
	return int64(v), nil
}

// Message is one reply or report of the machine. State is FaultArmed,
// FaultFired, FaultDone or "error" (ID and T empty, Detail the reason).
type Message struct {
	State  string
	ID     string
	T      int64
	Detail string
}

// MessageError is the State of an error reply.
const MessageError = "error"

// Encode renders m.
func (m Message) Encode() []byte {
	var s string
	if m.State == MessageError {
		s = "error " + m.Detail
	} else {
		s = fmt.Sprintf("%s %s %d %s", m.State, m.ID, m.T, m.Detail)
	}
	if len(s) > MaxControlMessage {
		s = s[:MaxControlMessage]
	}
	return []byte(s)
}

// ParseMessage decodes a message from the machine.
func ParseMessage(b []byte) (Message, error) {
	if len(b) > MaxControlMessage {
		return Message{}, fmt.Errorf("message of %d bytes, at most %d", len(b), MaxControlMessage)
	}
	state, rest, _ := strings.Cut(string(b), " ")
	switch state {
	case MessageError:
		return Message{State: state, Detail: rest}, nil
	case FaultArmed, FaultFired, FaultDone:
	default:
		return Message{}, fmt.Errorf("unknown message %q", first(b, 32))
	}
	f := strings.SplitN(rest, " ", 3)
	if len(f) < 2 || f[0] == "" {
		return Message{}, fmt.Errorf("message %q: want STATE ID T DETAIL", first(b, 64))
	}
	t, err := strconv.ParseInt(f[1], 10, 64)
	if err != nil || t < 0 {
		return Message{}, fmt.Errorf("message %q: bad time", first(b, 64))
	}
	m := Message{State: state, ID: f[0], T: t}
	if len(f) == 3 {
		m.Detail = f[2]
	}
	return m, nil
}

func first(b []byte, n int) string {
	if len(b) > n {
		return string(b[:n]) + "..."
	}
	return string(b)
}
