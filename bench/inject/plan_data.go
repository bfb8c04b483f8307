package inject

import (
	"errors"
	"fmt"
	"math/rand/v2"

	"grailos/dde/linux/fault"
)

// data plans a data fault: a structure (the net_device, the private
// area, a structure of the donor's its pointers lead to), one of its
// top-level members, one word of that member holding a pointer or not
// (kind, or one chosen), each uniformly; then the change — a pointer gets
// one bit flipped, NULL, or moved by 1 to 32 words either way; a field
// one bit flipped, a random value, or zero — at loop turn 1 to 16.
func (p *Planner) data(id, kind string, rng *rand.Rand) (Planned, error) {
	if len(p.Data) == 0 {
		return Planned{}, errors.New("no structure for data faults (the server's debug info was not read)")
	}
	if kind == "" {
		kind = fault.DataSites[rng.IntN(len(fault.DataSites))]
	}
	pointer := kind == "pointer"
	type member struct {
		t     *fault.Target
		words []fault.Word
	}
	var targets [][]member // per structure, its members that have such words
	for i := range p.Data {
		var ms []member
		for _, m := range p.Data[i].Members {
			var ws []fault.Word
			for _, w := range m {
				if w.Pointer == pointer {
					ws = append(ws, w)
				}
			}
			if len(ws) > 0 {
				ms = append(ms, member{&p.Data[i], ws})
			}
		}
		if len(ms) > 0 {
			targets = append(targets, ms)
		}
	}
	if len(targets) == 0 {
		return Planned{}, fmt.Errorf("no %s word in %d structures", kind, len(p.Data))
	}
	ms := targets[rng.IntN(len(targets))]
	m := ms[rng.IntN(len(ms))]
	w := m.words[rng.IntN(len(m.words))]
	d := &fault.Data{Struct: m.t.Struct, Via: m.t.Via, Size: m.t.Size, Off: w.Off, Width: w.Width, Name: w.Name}
	if len(d.Name) > 64 {
		d.Name = d.Name[len(d.Name)-64:]
	}
	bits := 8 * int(w.Width)
	switch op := rng.IntN(3); {
	case op == 0:
		d.Op, d.Val = fault.OpXor, 1<<rng.IntN(bits)
	case op == 1 && pointer, op == 2 && !pointer:
		d.Op, d.Val = fault.OpSet, 0
	case op == 1:
		d.Op, d.Val = fault.OpSet, rng.Uint64()>>(64-bits)
	default:
		d.Op, d.Val = fault.OpAdd, uint64(8*(1+rng.IntN(32)))
		if rng.IntN(2) == 0 {
			d.Val = -d.Val
		}
	}
	s := fault.Spec{ID: id, Class: fault.ClassData, Site: kind, Nth: 1 + rng.IntN(16), Data: d}
	return Planned{Spec: s, Function: w.Name}, s.Validate()
}
