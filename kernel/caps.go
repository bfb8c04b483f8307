package kernel

import (
	"grailos/kernel/abi"
)

// maxCaps bounds one task's capability table.
const maxCaps = 4096

// object is a kernel object. It lives while capabilities designate it; when
// the last one goes, destroy releases what it holds.
type object struct {
	typ  abi.ObjectType
	refs int
	ep   *endpoint
	mem  *memory
	ntf  *notification // ObjNotification and ObjIRQ
	dev  *device
	task *Task // ObjTask: the task it controls
}

// capability is one entry of a task's table. Derived capabilities form a tree
// (as seL4's derivation tree) so Revoke can find every copy made from one.
type capability struct {
	obj      *object
	rights   abi.Rights
	badge    uint64
	owner    *Task // nil while in transit inside a message
	handle   abi.Handle
	parent   *capability
	children map[*capability]struct{}
	dead     bool // deleted (possibly while in transit)
}

type slot struct {
	gen uint16
	cap *capability
}

// capTable is a task's capability table. Slot 0 is never used, so handle 0
// is never valid; a freed slot's generation is bumped so old handles to it
// are recognisably stale.
type capTable struct {
	slots []slot
	free  []uint16
	n     int
}

func newCapTable() capTable { return capTable{slots: make([]slot, 1, 16)} }

// lookup resolves h to a capability of type typ holding rights need.
func (ct *capTable) lookup(h abi.Handle, typ abi.ObjectType, need abi.Rights) (*capability, error) {
	i := int(h.Index())
	if i == 0 || i >= len(ct.slots) {
		return nil, abi.Errorf(abi.ErrInvalidCap, "handle %#x names no slot", uint32(h))
	}
	s := &ct.slots[i]
	if s.gen != h.Gen() || s.cap == nil {
		if h.Gen() < s.gen {
			return nil, abi.Errorf(abi.ErrStaleCap, "handle %#x: slot %d was freed since", uint32(h), i)
		}
		return nil, abi.Errorf(abi.ErrInvalidCap, "handle %#x names no capability", uint32(h))
	}
	c := s.cap
	if typ != abi.ObjNone && c.obj.typ != typ {
		return nil, abi.Errorf(abi.ErrWrongType, "handle %#x is a %v capability, not %v", uint32(h), c.obj.typ, typ)
	}
	if c.rights&need != need {
		return nil, abi.Errorf(abi.ErrRights, "handle %#x has %v, needs %v", uint32(h), c.rights, need)
	}
	return c, nil
}

// insert places c in the table and sets its owner and handle.
func (ct *capTable) insert(t *Task, c *capability) (abi.Handle, error) {
	if ct.n >= maxCaps {
		return 0, abi.Errorf(abi.ErrQuota, "capability table full (%d)", maxCaps)
	}
	var i uint16
	if n := len(ct.free); n > 0 {
		i = ct.free[n-1]
		ct.free = ct.free[:n-1]
	} else {
		ct.slots = append(ct.slots, slot{gen: 1})
		i = uint16(len(ct.slots) - 1)
	}
	ct.slots[i].cap = c
	ct.n++
	c.owner = t
	c.handle = abi.MakeHandle(i, ct.slots[i].gen)
	return c.handle, nil
}

// remove frees c's slot.
func (ct *capTable) remove(c *capability) {
	i := c.handle.Index()
	if int(i) < len(ct.slots) && ct.slots[i].cap == c {
		ct.slots[i].cap = nil
		ct.slots[i].gen++
		if ct.slots[i].gen == 0 {
			ct.slots[i].gen = 1
		}
		ct.free = append(ct.free, i)
		ct.n--
	}
}

// all returns every capability in the table.
func (ct *capTable) all() []*capability {
	var cs []*capability
	for _, s := range ct.slots {
		if s.cap != nil {
			cs = append(cs, s.cap)
		}
	}
	return cs
}

// newRootCap makes the first capability to a fresh object.
func newRootCap(o *object, rights abi.Rights) *capability {
	o.refs++
	return &capability{obj: o, rights: rights}
}

// derive makes a child of c with at most c's rights. A badge may be set only
// on an unbadged capability (badges identify clients and cannot be rewritten).
func derive(c *capability, mask abi.Rights, badge uint64) (*capability, error) {
	if badge != 0 && c.badge != 0 && badge != c.badge {
		return nil, abi.Errorf(abi.ErrDenied, "capability already carries badge %d", c.badge)
	}
	if badge == 0 {
		badge = c.badge
	}
	d := &capability{obj: c.obj, rights: c.rights & mask, badge: badge, parent: c}
	if c.children == nil {
		c.children = map[*capability]struct{}{}
	}
	c.children[d] = struct{}{}
	c.obj.refs++
	return d, nil
}
