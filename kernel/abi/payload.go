package abi

import (
	"encoding/binary"
	"fmt"
)

// Writer appends a structured payload: fixed-width integers and
// length-prefixed strings, nothing self-describing. The Reader must read the
// same sequence.
type Writer struct{ b []byte }

// U8 appends one byte.
func (w *Writer) U8(v uint8) { w.b = append(w.b, v) }

// U32 appends a little-endian uint32.
func (w *Writer) U32(v uint32) { w.b = binary.LittleEndian.AppendUint32(w.b, v) }

// U64 appends a little-endian uint64.
func (w *Writer) U64(v uint64) { w.b = binary.LittleEndian.AppendUint64(w.b, v) }

// Bytes appends a uint32 length and the bytes.
func (w *Writer) Bytes(p []byte) { w.U32(uint32(len(p))); w.b = append(w.b, p...) }

// String appends a string as Bytes.
func (w *Writer) String(s string) { w.U32(uint32(len(s))); w.b = append(w.b, s...) }

// Strings appends a count and each string.
func (w *Writer) Strings(ss []string) {
	w.U32(uint32(len(ss)))
	for _, s := range ss {
		w.String(s)
	}
}

// Data returns the encoded payload.
func (w *Writer) Data() []byte { return w.b }

// Reader decodes a payload written by Writer. The first error sticks; every
// later read returns zero values. Lengths are checked against what remains, so
// a hostile length never allocates more than the payload holds.
type Reader struct {
	b   []byte
	err error
}

// NewReader reads p.
func NewReader(p []byte) *Reader { return &Reader{b: p} }

func (r *Reader) need(n int, what string) bool {
	if r.err != nil {
		return false
	}
	if n < 0 || n > len(r.b) {
		r.err = bad("payload: %s needs %d bytes, %d left", what, n, len(r.b))
		return false
	}
	return true
}

// U8 reads one byte.
func (r *Reader) U8() uint8 {
	if !r.need(1, "u8") {
		return 0
	}
	v := r.b[0]
	r.b = r.b[1:]
	return v
}

// U32 reads a uint32.
func (r *Reader) U32() uint32 {
	if !r.need(4, "u32") {
		return 0
	}
	v := binary.LittleEndian.Uint32(r.b)
	r.b = r.b[4:]
	return v
}

// U64 reads a uint64.
func (r *Reader) U64() uint64 {
	if !r.need(8, "u64") {
		return 0
	}
	v := binary.LittleEndian.Uint64(r.b)
	r.b = r.b[8:]
	return v
}

// Bytes reads a length-prefixed byte string (a copy).
func (r *Reader) Bytes() []byte {
	n := r.U32()
	if !r.need(int(n), "bytes") {
		return nil
	}
	p := append([]byte(nil), r.b[:n]...)
	r.b = r.b[n:]
	return p
}

// String reads a length-prefixed string of at most max bytes.
func (r *Reader) String(max int) string {
	n := r.U32()
	if r.err == nil && int64(n) > int64(max) {
		r.err = bad("payload: string of %d bytes exceeds %d", n, max)
	}
	if !r.need(int(n), "string") {
		return ""
	}
	s := string(r.b[:n])
	r.b = r.b[n:]
	return s
}

// Strings reads at most maxCount strings of at most maxLen bytes each.
func (r *Reader) Strings(maxCount, maxLen int) []string {
	n := r.U32()
	if r.err == nil && int64(n) > int64(maxCount) {
		r.err = bad("payload: %d strings exceed %d", n, maxCount)
	}
	if r.err != nil {
		return nil
	}
	ss := make([]string, 0, n)
	for i := 0; i < int(n) && r.err == nil; i++ {
		ss = append(ss, r.String(maxLen))
	}
	return ss
}

// Done returns the sticky error, or an error if bytes are left over.
func (r *Reader) Done() error {
	if r.err == nil && len(r.b) != 0 {
		r.err = bad("payload: %d trailing bytes", len(r.b))
	}
	return r.err
}

// Limits on names and lists in structured payloads.
const (
	MaxName    = 64
	MaxArg     = 4096
	MaxArgs    = 64
	MaxConfig  = 60 << 10
	MaxDetail  = 1024
	MaxBootCap = 64
)

// NamedCap is a capability in a task's boot table.
type NamedCap struct {
	Name   string
	Handle Handle
	Type   ObjectType
	Rights Rights
}

// Boot is the kernel's answer to Hello: who the task is and what it holds.
type Boot struct {
	Task   string
	Args   []string
	Caps   []NamedCap
	Config []byte // opaque configuration (init receives the system file here)
}

// Encode encodes b.
func (b *Boot) Encode() []byte {
	var w Writer
	w.String(b.Task)
	w.Strings(b.Args)
	w.U32(uint32(len(b.Caps)))
	for _, c := range b.Caps {
		w.String(c.Name)
		w.U32(uint32(c.Handle))
		w.U8(uint8(c.Type))
		w.U32(uint32(c.Rights))
	}
	w.Bytes(b.Config)
	return w.Data()
}

// DecodeBoot decodes a Boot payload.
func DecodeBoot(p []byte) (*Boot, error) {
	r := NewReader(p)
	b := &Boot{Task: r.String(MaxName), Args: r.Strings(MaxArgs, MaxArg)}
	n := r.U32()
	if r.err == nil && n > MaxBootCap {
		return nil, bad("boot: %d capabilities exceed %d", n, MaxBootCap)
	}
	for i := 0; i < int(n) && r.err == nil; i++ {
		b.Caps = append(b.Caps, NamedCap{Name: r.String(MaxName), Handle: Handle(r.U32()),
			Type: ObjectType(r.U8()), Rights: Rights(r.U32())})
	}
	b.Config = r.Bytes()
	if len(b.Config) > MaxConfig {
		return nil, bad("boot: config of %d bytes exceeds %d", len(b.Config), MaxConfig)
	}
	return b, r.Done()
}

// SpawnSpec asks the kernel to create a task. The capabilities of the spawn
// message are given to the child under CapNames, in order.
type SpawnSpec struct {
	Name        string
	Binary      string // a file name in the kernel's binaries folder
	Role        string // confinement profile
	Args        []string
	MemoryBytes uint64
	Pids        uint64
	CPUMilli    uint64 // thousandths of a core; 0 = unlimited
	CapNames    []string
	Config      []byte
}

// Encode encodes s.
func (s *SpawnSpec) Encode() []byte {
	var w Writer
	w.String(s.Name)
	w.String(s.Binary)
	w.String(s.Role)
	w.Strings(s.Args)
	w.U64(s.MemoryBytes)
	w.U64(s.Pids)
	w.U64(s.CPUMilli)
	w.Strings(s.CapNames)
	w.Bytes(s.Config)
	return w.Data()
}

// DecodeSpawnSpec decodes a SpawnSpec payload.
func DecodeSpawnSpec(p []byte) (*SpawnSpec, error) {
	r := NewReader(p)
	s := &SpawnSpec{Name: r.String(MaxName), Binary: r.String(MaxName), Role: r.String(MaxName),
		Args: r.Strings(MaxArgs, MaxArg), MemoryBytes: r.U64(), Pids: r.U64(), CPUMilli: r.U64(),
		CapNames: r.Strings(MaxCaps, MaxName), Config: r.Bytes()}
	if err := r.Done(); err != nil {
		return nil, err
	}
	if len(s.Config) > MaxConfig {
		return nil, bad("spawn: config of %d bytes exceeds %d", len(s.Config), MaxConfig)
	}
	return s, nil
}

// EventKind says what happened to a task.
type EventKind uint64

// Event kinds delivered with OpEvent.
const (
	EventReady  EventKind = 1 // the task sent OpReady
	EventExited EventKind = 2 // the task's process ended; arg1 = ExitCode
	// EventNote: a note from the host's operator (grail inject, tests),
	// payload = the note (at most MaxNote bytes); Cap is 0. Only the
	// kernel sends it; a task decides what its notes mean.
	EventNote EventKind = 3
)

// MaxNote is the longest operator note.
const MaxNote = 256

func (k EventKind) String() string {
	switch k {
	case EventReady:
		return "ready"
	case EventExited:
		return "exited"
	case EventNote:
		return "note"
	}
	return fmt.Sprintf("event(%d)", uint64(k))
}

// ExitCode packs how a process ended: the low byte is the exit status, or
// 0x100|signal when a signal killed it.
type ExitCode uint64

// Signaled reports whether a signal ended the process, and which.
func (e ExitCode) Signaled() (int, bool) { return int(e & 0xff), e&0x100 != 0 }

func (e ExitCode) String() string {
	if sig, ok := e.Signaled(); ok {
		return fmt.Sprintf("killed by signal %d", sig)
	}
	return fmt.Sprintf("exit status %d", int(e&0xff))
}

// Trace is an event a task appends to the kernel's event log.
type Trace struct {
	Kind    string // e.g. "crash-detected"
	Subject string // the task the event is about ("" = the sender)
	Detail  string
}

// Encode encodes t.
func (t *Trace) Encode() []byte {
	var w Writer
	w.String(t.Kind)
	w.String(t.Subject)
	w.String(t.Detail)
	return w.Data()
}

// DecodeTrace decodes a Trace payload.
func DecodeTrace(p []byte) (*Trace, error) {
	r := NewReader(p)
	t := &Trace{Kind: r.String(MaxName), Subject: r.String(MaxName), Detail: r.String(MaxDetail)}
	return t, r.Done()
}

// CheckName reports whether s is a valid task, endpoint or binary name:
// 1–64 bytes of [a-z0-9._-], not starting with '.'.
func CheckName(s string) error {
	if len(s) == 0 || len(s) > MaxName {
		return fmt.Errorf("name %q: must be 1–%d bytes", s, MaxName)
	}
	if s[0] == '.' {
		return fmt.Errorf("name %q: must not start with '.'", s)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return fmt.Errorf("name %q: byte %q not allowed (use a-z 0-9 . _ -)", s, c)
		}
	}
	return nil
}
