package abi

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Wire constants.
const (
	Magic      = 0x4752
	Version    = 1
	HeaderSize = 40
	CapRefSize = 8
	MaxCaps    = 16
	MaxPayload = 64 << 10
	// MaxMessage is the largest message either side accepts.
	MaxMessage = HeaderSize + MaxCaps*CapRefSize + MaxPayload
)

// Op is an operation code.
type Op uint8

// Operations. "→k" ops are sent by a task to the kernel; "k→" ops are sent by
// the kernel to a task. Replies to →k ops use OpResult with the request's seq.
const (
	OpInvalid Op = iota
	OpHello      // →k  first message of a task after it locked itself down
	OpBoot       // k→  answer to Hello: payload Boot
	OpResult     // k→  result of a →k op: status, arg0/arg1, caps, payload
	OpCall       // →k  call endpoint cap; caps are transferred to the receiver
	OpListen     // →k  start receiving on endpoint cap (needs RightReceive)
	OpRequest    // k→  a call delivered to a listener: cap=endpoint, arg0=reply token, arg1=badge
	OpReply      // →k  answer a request: arg0=reply token; caps are transferred to the caller
	OpMint       // →k  derive a copy of cap: arg0=rights mask, arg1=badge (0 = keep)
	OpDelete     // →k  delete cap from the own table
	OpRevoke     // →k  delete every capability derived from cap, in every task
	OpNewEndpoint
	OpNewMemory       // →k  arg0=size in bytes
	OpNewNotification //
	OpMemoryFD        // →k  get the memfd of a Memory cap (read-only fd without RightWrite)
	OpNotifyFD        // →k  get the eventfd of a Notification cap (needs RightWait)
	OpSignal          // →k  signal a Notification cap (needs RightSignal)
	OpSpawn           // →k  cap=spawner; payload SpawnSpec; caps are given to the child; result arg0=Task handle
	OpKill            // →k  cap=task (needs RightControl): SIGKILL the task
	OpEvent           // k→  event of a task whose Task cap the receiver holds: cap=task, arg0=EventKind, arg1=detail code
	OpTrace           // →k  append to the kernel event log: arg0=CLOCK_MONOTONIC ns, payload Trace
	OpReady           // →k  the task finished initialising
	OpInspect         // →k  describe cap: result arg0=object type, arg1=rights
	OpDeviceOpen      // →k  cap=device (read|write): result payload=device description, descriptors attached
	opCount
)

var opNames = [...]string{"invalid", "hello", "boot", "result", "call", "listen", "request", "reply",
	"mint", "delete", "revoke", "new-endpoint", "new-memory", "new-notification", "memory-fd",
	"notify-fd", "signal", "spawn", "kill", "event", "trace", "ready", "inspect", "device-open"}

func (o Op) String() string {
	if int(o) < len(opNames) {
		return opNames[o]
	}
	return fmt.Sprintf("op(%d)", uint8(o))
}

// Rights is a set of capability rights. Minting may only remove rights.
type Rights uint32

// Rights bits.
const (
	RightRead    Rights = 1 << iota // Memory: map readable
	RightWrite                      // Memory: map writable
	RightCall                       // Endpoint: call
	RightReceive                    // Endpoint: listen and reply
	RightGrant                      // any: may be transferred to another task
	RightSignal                     // Notification: signal
	RightWait                       // Notification: wait (receives the eventfd)
	RightControl                    // Task: kill; receives its events
	RightSpawn                      // Spawner: create tasks

	RightsAll Rights = 1<<iota - 1
)

var rightNames = []string{"read", "write", "call", "receive", "grant", "signal", "wait", "control", "spawn"}

func (r Rights) String() string {
	s := ""
	for i, n := range rightNames {
		if r&(1<<i) != 0 {
			if s != "" {
				s += "|"
			}
			s += n
		}
	}
	if r&^RightsAll != 0 {
		s += fmt.Sprintf("|%#x", uint32(r&^RightsAll))
	}
	if s == "" {
		return "none"
	}
	return s
}

// ObjectType names the kind of kernel object a capability designates.
type ObjectType uint8

// Object types.
const (
	ObjNone ObjectType = iota
	ObjEndpoint
	ObjMemory
	ObjNotification
	ObjTask
	ObjSpawner
	ObjDevice // a machine device (PCI function): its access channel and DMA pool
	ObjIRQ    // a device's interrupt line (an eventfd the machine signals)
)

func (t ObjectType) String() string {
	switch t {
	case ObjEndpoint:
		return "endpoint"
	case ObjMemory:
		return "memory"
	case ObjNotification:
		return "notification"
	case ObjTask:
		return "task"
	case ObjSpawner:
		return "spawner"
	case ObjDevice:
		return "device"
	case ObjIRQ:
		return "irq"
	}
	return "none"
}

// Handle names a slot in a task's capability table: low 16 bits index, high
// 16 bits generation. Handle 0 is never valid. A handle whose generation does
// not match the slot's is stale.
type Handle uint32

// MakeHandle builds a handle from index and generation.
func MakeHandle(index, gen uint16) Handle { return Handle(uint32(gen)<<16 | uint32(index)) }

// Index is the slot index.
func (h Handle) Index() uint16 { return uint16(h) }

// Gen is the slot generation.
func (h Handle) Gen() uint16 { return uint16(h >> 16) }

// CapRef is a capability slot of a message: in a message sent to the kernel,
// the sender's handle and the rights to give (a mask of the handle's rights);
// in a message from the kernel, the receiver's new handle and its rights.
type CapRef struct {
	Handle Handle
	Rights Rights
}

// Header is the fixed part of every message.
type Header struct {
	Op     Op
	Seq    uint32
	Status Status
	Cap    Handle
	Arg0   uint64
	Arg1   uint64
}

// Message is a decoded message. Payload and Caps alias the buffer it was
// decoded from.
type Message struct {
	Header
	Caps    []CapRef
	Payload []byte
}

// ErrBadMessage is wrapped by every decoding error.
var ErrBadMessage = errors.New("malformed message")

func bad(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrBadMessage, fmt.Sprintf(format, a...))
}

// Size is the encoded size of m.
func (m *Message) Size() int { return HeaderSize + len(m.Caps)*CapRefSize + len(m.Payload) }

// Append encodes m onto buf.
func (m *Message) Append(buf []byte) ([]byte, error) {
	if len(m.Caps) > MaxCaps {
		return buf, fmt.Errorf("abi: %d capabilities in one message (max %d)", len(m.Caps), MaxCaps)
	}
	if len(m.Payload) > MaxPayload {
		return buf, fmt.Errorf("abi: payload of %d bytes (max %d)", len(m.Payload), MaxPayload)
	}
	var h [HeaderSize]byte
	le := binary.LittleEndian
	le.PutUint16(h[0:], Magic)
	h[2] = Version
	h[3] = byte(m.Op)
	le.PutUint32(h[4:], uint32(m.Size()))
	le.PutUint32(h[8:], m.Seq)
	le.PutUint16(h[12:], uint16(len(m.Caps)))
	le.PutUint16(h[14:], uint16(m.Status))
	le.PutUint32(h[16:], uint32(m.Cap))
	le.PutUint64(h[24:], m.Arg0)
	le.PutUint64(h[32:], m.Arg1)
	buf = append(buf, h[:]...)
	for _, c := range m.Caps {
		buf = le.AppendUint32(buf, uint32(c.Handle))
		buf = le.AppendUint32(buf, uint32(c.Rights))
	}
	return append(buf, m.Payload...), nil
}

// Decode parses one message occupying all of b. The result aliases b.
func Decode(b []byte) (Message, error) {
	var m Message
	if len(b) < HeaderSize {
		return m, bad("%d bytes is shorter than the %d-byte header", len(b), HeaderSize)
	}
	le := binary.LittleEndian
	if mg := le.Uint16(b[0:]); mg != Magic {
		return m, bad("magic %#04x, want %#04x", mg, Magic)
	}
	if b[2] != Version {
		return m, bad("version %d, want %d", b[2], Version)
	}
	m.Op = Op(b[3])
	if m.Op == OpInvalid || m.Op >= opCount {
		return m, bad("unknown op %d", b[3])
	}
	if n := le.Uint32(b[4:]); int64(n) != int64(len(b)) {
		return m, bad("length field %d but message is %d bytes", n, len(b))
	}
	if len(b) > MaxMessage {
		return m, bad("message of %d bytes exceeds %d", len(b), MaxMessage)
	}
	m.Seq = le.Uint32(b[8:])
	ncaps := int(le.Uint16(b[12:]))
	m.Status = Status(le.Uint16(b[14:]))
	m.Cap = Handle(le.Uint32(b[16:]))
	if z := le.Uint32(b[20:]); z != 0 {
		return m, bad("reserved field is %#x, want 0", z)
	}
	m.Arg0 = le.Uint64(b[24:])
	m.Arg1 = le.Uint64(b[32:])
	if ncaps > MaxCaps {
		return m, bad("%d capability slots (max %d)", ncaps, MaxCaps)
	}
	end := HeaderSize + ncaps*CapRefSize
	if end > len(b) {
		return m, bad("%d capability slots do not fit in %d bytes", ncaps, len(b))
	}
	if ncaps > 0 {
		m.Caps = make([]CapRef, ncaps)
		for i := range m.Caps {
			o := HeaderSize + i*CapRefSize
			m.Caps[i] = CapRef{Handle(le.Uint32(b[o:])), Rights(le.Uint32(b[o+4:]))}
		}
	}
	m.Payload = b[end:]
	if len(m.Payload) > MaxPayload {
		return m, bad("payload of %d bytes exceeds %d", len(m.Payload), MaxPayload)
	}
	return m, nil
}
