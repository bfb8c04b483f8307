package fault

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// ClassData faults change one word of a structure the driver keeps (Site
// says what the word holds): in its net_device, its private area
// (netdev_priv: e1000_adapter, rtl8139_private), or an allocation one of
// the private area's pointers leads to (e1000's transmit and receive ring
// bookkeeping). The change happens at the start of the Nth turn of the
// DDE's loop after arming — between two entries into the driver — and is
// reported (structure, offset, old and new value) before it is made.
const ClassData = "data"

// DataSites are the kinds of ClassData: a word holding a pointer (one bit
// flipped, NULL, moved by a few words), or another field (one bit
// flipped, a random value, zero).
var DataSites = []string{"pointer", "field"}

// Structures a data fault can go in (Data.Struct).
const (
	StructNetdev = "netdev" // the interface's struct net_device
	StructPriv   = "priv"   // its private area, netdev_priv(dev)
)

// Changes of a data fault (Data.Op): the word becomes old ^ Val, Val, or
// old + Val (modulo its width).
const (
	OpXor = "xor"
	OpSet = "set"
	OpAdd = "add"
)

// PrivTypes names the private-area type of each port (alloc_etherdev's
// sizeof): the planner looks its layout up in the server's debug info,
// and the driver checks its size. A new port adds its line.
var PrivTypes = map[string]string{"e1000": "e1000_adapter", "rtl8139": "rtl8139_private"}

// Data is the word a ClassData fault changes and how: everything the
// driver needs, so a recorded fault replays exactly.
type Data struct {
	Struct string `json:"st"` // StructNetdev, StructPriv
	// Via, when set, is the offset in Struct of a pointer to follow: the
	// structure is the one it points to, which must lie in one live
	// allocation of at least Size bytes.
	Via  *uint32 `json:"v,omitempty"`
	Size uint32  `json:"sz"` // the structure's size as planned (debug info); the driver checks it
	Off  uint32  `json:"o"`  // the word's offset in the structure, a multiple of Width
	// Width is the word's size in bytes: 1, 2, 4 or 8 (pointers 8).
	Width uint8  `json:"w"`
	Op    string `json:"op"`
	Val   uint64 `json:"x"`
	// Old, when set, is the value the word must hold (else the driver
	// refuses the fault); a pointer fault's word must hold a pointer
	// (NULL, or into the pool or the program) either way.
	Old  *uint64 `json:"old,omitempty"`
	Name string  `json:"n,omitempty"` // the member, from debug info (e1000_adapter.tx_ring), echoed when it fires
}

var dataName = regexp.MustCompile(`^[A-Za-z0-9_.\[\]>-]{1,64}$`)

// validateData checks a ClassData spec; s.Data must be complete and
// consistent: the offset inside the structure and aligned, the value
// within the word, a change that changes something.
func (s *Spec) validateData() error {
	d := s.Data
	switch {
	case !slices.Contains(DataSites, s.Site):
		return fmt.Errorf("fault %s: unknown data site %q (%s)", s.ID, s.Site, strings.Join(DataSites, ", "))
	case s.Nth < 1 || s.Nth > 1<<20 || s.Count != 0 || s.Trigger != "":
		return fmt.Errorf("fault %s: a data fault fires at loop turn 1 to 2^20 (k), once, without trigger", s.ID)
	case d == nil:
		return fmt.Errorf("fault %s: a data fault without its word (d)", s.ID)
	case d.Struct != StructNetdev && d.Struct != StructPriv:
		return fmt.Errorf("fault %s: unknown structure %q (netdev, priv)", s.ID, d.Struct)
	case d.Via != nil && *d.Via%8 != 0:
		return fmt.Errorf("fault %s: the pointer to follow at %#x is not aligned", s.ID, *d.Via)
	case d.Width != 1 && d.Width != 2 && d.Width != 4 && d.Width != 8, s.Site == "pointer" && d.Width != 8:
		return fmt.Errorf("fault %s: a %s of %d bytes (1, 2, 4, 8; pointers 8)", s.ID, s.Site, d.Width)
	case d.Size == 0 || d.Size > 1<<20 || d.Off%uint32(d.Width) != 0 || uint64(d.Off)+uint64(d.Width) > uint64(d.Size):
		return fmt.Errorf("fault %s: a %d-byte word at %#x of a %d-byte structure (inside, aligned)", s.ID, d.Width, d.Off, d.Size)
	case d.Name != "" && !dataName.MatchString(d.Name):
		return fmt.Errorf("fault %s: member name %q", s.ID, d.Name)
	}
	mask := ^uint64(0)
	if d.Width < 8 {
		mask = 1<<(8*d.Width) - 1
	}
	switch {
	case d.Op != OpXor && d.Op != OpSet && d.Op != OpAdd:
		return fmt.Errorf("fault %s: unknown change %q (xor, set, add)", s.ID, d.Op)
	case d.Val&^mask != 0 || d.Old != nil && *d.Old&^mask != 0:
		return fmt.Errorf("fault %s: a value wider than the %d-byte word", s.ID, d.Width)
	case d.Op != OpSet && d.Val == 0:
		return fmt.Errorf("fault %s: %s 0 changes nothing", s.ID, d.Op)
	case d.Op == OpSet && d.Old != nil && *d.Old == d.Val:
		return fmt.Errorf("fault %s: the word already holds %#x", s.ID, d.Val)
	}
	return nil
}

// Where names a data fault's word for a person: priv+0x240, or
// priv->0x240+0x18 through a pointer, with the member if known.
func (d *Data) Where() string {
	w := fmt.Sprintf("%s+%#x", d.Struct, d.Off)
	if d.Via != nil {
		w = fmt.Sprintf("%s->%#x+%#x", d.Struct, *d.Via, d.Off)
	}
	if d.Name != "" {
		w += " (" + d.Name + ")"
	}
	return w
}
