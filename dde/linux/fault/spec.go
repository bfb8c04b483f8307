package fault

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"grailos/kernel/abi"
)

// Classes of faults.
const (
	ClassCode = "code" // a mutated instruction in a donor function (Mut says how)
	ClassHang = "hang" // an endless loop at a donor function's entry
	ClassAPI  = "api"  // a kernel-API call the donor makes fails (Site says which)
	ClassDMA  = "dma"  // wild DMA: the device is given a bus address outside the pool (Site tx or rx)
	// ClassData (data.go): a word of a driver structure changes.
	// ClassDevice: the device misbehaves (Site DeviceSites), done by the
	// machine process, not the driver (package grailos/arch/machine/hw).
	ClassDevice = "device"
)

// Classes lists every class, in the order campaigns cycle through them.
var Classes = []string{ClassCode, ClassAPI, ClassHang, ClassDMA, ClassData, ClassDevice}

// Mutations of ClassCode, in the style of the SWIFI tools of Nooks and
// MINIX 3.
const (
	MutFlip   = "flip"   // one bit of the instruction flipped
	MutNop    = "nop"    // the instruction skipped (NOPs)
	MutBranch = "branch" // a conditional branch inverted
	MutCall   = "call"   // a call removed (NOPs)
	MutReg    = "reg"    // the register operand of a register-to-register instruction changed
)

// Mutations lists every mutation.
var Mutations = []string{MutFlip, MutNop, MutBranch, MutCall, MutReg}

// APISites are the kernel-API sites ClassAPI fails (dde/linux/runtime/fault.c):
// allocation (kmalloc, vmalloc, pages, page frags, skbs), streaming DMA
// maps, coherent DMA memory, request_irq, timers (lost), PCI
// configuration reads.
var APISites = []string{"alloc", "dma-map", "dma-alloc", "irq", "timer", "pci-config"}

// DMASites are the directions of ClassDMA: tx (a buffer the device
// reads), rx (a buffer it writes).
var DMASites = []string{"tx", "rx"}

// DeviceSites are the kinds of ClassDevice: events Nth .. Nth+Count-1
// of the kind (interrupt status reads, line assertions, register reads,
// received frames, transmitted frames) misbehave.
var DeviceSites = []string{"irq-stuck", "irq-lost", "reg-garbage", "dma-drop", "dma-dup"}

// Triggers make open-time and probe-time code run after a fault is armed
// (ClassAPI, ClassDMA): "" waits for the driver's own calls, "reopen"
// takes the interface down and up (ndo_stop, ndo_open), "reprobe" takes
// the driver off the device and on again (remove, probe) and opens it.
var Triggers = []string{"", "reopen", "reprobe"}

// Spec is one fault, complete enough to replay. Its JSON form, with short
// keys, is what travels in a note.
type Spec struct {
	ID    string `json:"id"`          // the runner's name for it, echoed when it fires
	Class string `json:"c"`           // Class*
	Mut   string `json:"m,omitempty"` // ClassCode: Mut*
	// ClassCode, ClassHang: the address of the instruction in the
	// server's text (a static binary: the same in every process), its
	// bytes as they are, and what they become when it is reached.
	Addr uint64 `json:"a,omitempty"`
	Orig string `json:"o,omitempty"` // hex
	New  string `json:"n,omitempty"` // hex, as long as Orig
	// ClassAPI: APISites; ClassDMA: DMASites.
	Site    string `json:"s,omitempty"`
	Nth     int    `json:"k,omitempty"` // the first call that fails, counted from arming (1: the next)
	Count   int    `json:"x,omitempty"` // how many calls fail (0 means 1)
	Trigger string `json:"t,omitempty"` // Triggers
	// ClassData (Site: DataSites; Nth: the loop turn): the word.
	Data *Data `json:"d,omitempty"`
	// ClassDevice, Site reg-garbage: the register ("0xc0"; "" any) and
	// the seed of the values read.
	Reg  string `json:"r,omitempty"`
	Seed uint64 `json:"g,omitempty"`
}

// Validate checks s.
func (s *Spec) Validate() error {
	if s.ID == "" || len(s.ID) > 48 || strings.ContainsAny(s.ID, " =\n") {
		return fmt.Errorf("fault: id %q: 1 to 48 characters, no spaces or '='", s.ID)
	}
	switch s.Class {
	case ClassCode, ClassHang:
		orig, err1 := hex.DecodeString(s.Orig)
		repl, err2 := hex.DecodeString(s.New)
		switch {
		case err1 != nil || err2 != nil:
			return fmt.Errorf("fault %s: bytes are not hex", s.ID)
		case len(orig) == 0 || len(orig) > 15 || len(repl) != len(orig):
			return fmt.Errorf("fault %s: %d bytes replaced by %d (1 to 15, equal)", s.ID, len(orig), len(repl))
		case bytes.Equal(orig, repl):
			return fmt.Errorf("fault %s: the replacement equals the original", s.ID)
		case s.Addr == 0:
			return fmt.Errorf("fault %s: no address", s.ID)
		case s.Class == ClassCode && !slices.Contains(Mutations, s.Mut):
			return fmt.Errorf("fault %s: unknown mutation %q (%s)", s.ID, s.Mut, strings.Join(Mutations, ", "))
		}
		return nil
	case ClassAPI, ClassDMA, ClassDevice:
		sites := map[string][]string{ClassAPI: APISites, ClassDMA: DMASites, ClassDevice: DeviceSites}[s.Class]
		switch {
		case s.Class == ClassDevice && s.Trigger != "":
			return fmt.Errorf("fault %s: a device fault takes no trigger", s.ID)
		case (s.Reg != "" || s.Seed != 0) && (s.Class != ClassDevice || s.Site != "reg-garbage"):
			return fmt.Errorf("fault %s: a register and a seed are for device/reg-garbage only", s.ID)
		case s.Reg != "" && !validReg(s.Reg):
			return fmt.Errorf("fault %s: register %q: want a hexadecimal offset (0xc0)", s.ID, s.Reg)
		}
		switch {
		case !slices.Contains(sites, s.Site):
			return fmt.Errorf("fault %s: unknown %s site %q (%s)", s.ID, s.Class, s.Site, strings.Join(sites, ", "))
		case s.Nth < 1 || s.Count < 0 || s.Count > 1<<20:
			return fmt.Errorf("fault %s: calls %d (+%d): the first is 1 or more", s.ID, s.Nth, s.Count)
		case !slices.Contains(Triggers, s.Trigger):
			return fmt.Errorf("fault %s: unknown trigger %q (reopen, reprobe)", s.ID, s.Trigger)
		}
		return nil
	case ClassData:
		return s.validateData()
	}
	return fmt.Errorf("fault %s: unknown class %q (%s)", s.ID, s.Class, strings.Join(Classes, ", "))
}

func validReg(r string) bool {
	h, ok := strings.CutPrefix(r, "0x")
	_, err := strconv.ParseUint(h, 16, 20)
	return ok && err == nil
}

// Bytes returns the original and replacement bytes of a code or hang fault.
func (s *Spec) Bytes() (orig, repl []byte) {
	orig, _ = hex.DecodeString(s.Orig)
	repl, _ = hex.DecodeString(s.New)
	return orig, repl
}

// Calls is Count with its default.
func (s *Spec) Calls() int { return max(s.Count, 1) }

// Detail is how the driver reports a code or hang fault that fired, and
// how the runner recognises it (FiredID).
func (s *Spec) Detail() string {
	switch s.Class {
	case ClassCode:
		return fmt.Sprintf("id=%s class=code mut=%s addr=%#x", s.ID, s.Mut, s.Addr)
	case ClassHang:
		return fmt.Sprintf("id=%s class=hang addr=%#x", s.ID, s.Addr)
	}
	return "id=" + s.ID
}

// FiredID returns the id of a fault-fired event's detail ("id=ID ...").
func FiredID(detail string) string {
	first, _, _ := strings.Cut(detail, " ")
	id, _ := strings.CutPrefix(first, "id=")
	return id
}

// Prefix starts every fault note.
const Prefix = "inject "

// Note encodes s as an operator note.
func (s *Spec) Note() ([]byte, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	js, err := json.Marshal(s)
	if err != nil {
		return nil, err
	}
	n := append([]byte(Prefix), js...)
	if len(n) > abi.MaxNote {
		return nil, fmt.Errorf("fault %s: note of %d bytes, at most %d", s.ID, len(n), abi.MaxNote)
	}
	return n, nil
}

// WatchNotes encodes function entries to watch, as few notes as fit.
func WatchNotes(addrs []uint64) ([][]byte, error) {
	per := (abi.MaxNote - len(Prefix+"watch ")) / 4 * 3 / 4 // addresses per note, base64 of 4 bytes each
	var notes [][]byte
	for len(addrs) > 0 {
		n := min(per, len(addrs))
		b := make([]byte, 4*n)
		for i, a := range addrs[:n] {
			if a == 0 || a > 0xffffffff {
				return nil, fmt.Errorf("fault: watch address %#x is not a 32-bit text address", a)
			}
			binary.LittleEndian.PutUint32(b[4*i:], uint32(a))
		}
		notes = append(notes, []byte(Prefix+"watch "+base64.StdEncoding.EncodeToString(b)))
		addrs = addrs[n:]
	}
	return notes, nil
}

// ProfileNote asks for the watch report.
var ProfileNote = []byte(Prefix + "profile")

// Note kinds ParseNote returns.
const (
	NoteOperator = "operator" // Word is segv, hang or exit
	NoteSpec     = "spec"
	NoteWatch    = "watch"
	NoteProfile  = "profile"
)

// Parsed is a decoded fault note.
type Parsed struct {
	Kind  string
	Word  string   // NoteOperator
	Spec  Spec     // NoteSpec
	Watch []uint64 // NoteWatch
}

// ErrNotFault is the error of a note that is not a fault note.
var ErrNotFault = errors.New("fault: not a fault note")

// ParseNote decodes a fault note. A note from the operator: it is
// checked, never trusted.
func ParseNote(note []byte) (Parsed, error) {
	rest, ok := bytes.CutPrefix(note, []byte(Prefix))
	if !ok || len(note) > abi.MaxNote {
		return Parsed{}, ErrNotFault
	}
	switch s := string(rest); {
	case s == "segv" || s == "hang" || s == "exit":
		return Parsed{Kind: NoteOperator, Word: s}, nil
	case s == "profile":
		return Parsed{Kind: NoteProfile}, nil
	case strings.HasPrefix(s, "watch "):
		b, err := base64.StdEncoding.DecodeString(s[len("watch "):])
		if err != nil || len(b)%4 != 0 || len(b) == 0 {
			return Parsed{}, fmt.Errorf("fault: watch note: want base64 of 32-bit addresses")
		}
		p := Parsed{Kind: NoteWatch}
		for i := 0; i < len(b); i += 4 {
			a := uint64(binary.LittleEndian.Uint32(b[i:]))
			if a == 0 {
				return Parsed{}, fmt.Errorf("fault: watch note: address 0")
			}
			p.Watch = append(p.Watch, a)
		}
		return p, nil
	case strings.HasPrefix(s, "{"):
		p := Parsed{Kind: NoteSpec}
		dec := json.NewDecoder(strings.NewReader(s))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&p.Spec); err != nil {
			return Parsed{}, fmt.Errorf("fault: spec: %w", err)
		}
		if dec.More() {
			return Parsed{}, errors.New("fault: spec: trailing data")
		}
		if err := p.Spec.Validate(); err != nil {
			return Parsed{}, err
		}
		return p, nil
	}
	return Parsed{}, fmt.Errorf("fault: unknown note %q (segv, hang, exit, a JSON spec, watch, profile)", rest)
}

// ProfileDetail formats the watch report: how many entries are watched
// and which ran, as a hex bitmap (bit i of byte i/8: entry i).
func ProfileDetail(hits []bool) string {
	b := make([]byte, (len(hits)+7)/8)
	for i, h := range hits {
		if h {
			b[i/8] |= 1 << (i % 8)
		}
	}
	return fmt.Sprintf("%d %s", len(hits), hex.EncodeToString(b))
}

// ParseProfile decodes ProfileDetail.
func ParseProfile(detail string) ([]bool, error) {
	var n int
	var h string
	if _, err := fmt.Sscanf(detail, "%d %s", &n, &h); err != nil {
		if _, err2 := fmt.Sscanf(detail, "%d", &n); err2 != nil || n != 0 {
			return nil, fmt.Errorf("fault: profile %q: %v", detail, err)
		}
	}
	b, err := hex.DecodeString(h)
	if err != nil || n < 0 || len(b) != (n+7)/8 {
		return nil, fmt.Errorf("fault: profile %q: bad bitmap", detail)
	}
	hits := make([]bool, n)
	for i := range hits {
		hits[i] = b[i/8]&(1<<(i%8)) != 0
	}
	return hits, nil
}
