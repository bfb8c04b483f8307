package inject

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"

	"golang.org/x/arch/x86/x86asm"

	"grailos/dde/linux/fault"
)

// Planner chooses faults: fault i of a campaign depends only on the seed,
// i, the classes and the donor's functions (the binary and its profile),
// never on what happened to earlier faults.
type Planner struct {
	Seed    uint64
	Classes []string         // taken in turn: fault i has class ClassOf(Classes, i)
	Hot     []fault.Function // donor functions that ran under the workload (code and hang faults)
	Data    []fault.Target   // structures data faults go in (fault.DataTargets)
	Driver  string           // the driver server, e.g. e1000 (device faults: which registers)
}

// Planned is a fault and what a person needs to read it.
type Planned struct {
	Spec     fault.Spec
	Function string // e.g. e1000_clean+0x1c
	Source   string // the donor file
	Insn     string // the instruction it changes, disassembled
}

// ParseClasses parses a --types list: classes (code, api, hang, dma,
// data, device) or code mutations and sites given as class/name
// (code/flip, api/alloc, dma/rx, data/pointer, device/irq-lost); "all" is
// every class.
func ParseClasses(list string) ([]string, error) {
	if list == "" || list == "all" {
		return slices.Clone(fault.Classes), nil
	}
	var out []string
	for _, t := range strings.Split(list, ",") {
		t = strings.TrimSpace(t)
		class, sub, _ := strings.Cut(t, "/")
		var subs []string
		switch class {
		case fault.ClassCode:
			subs = fault.Mutations
		case fault.ClassAPI:
			subs = fault.APISites
		case fault.ClassDMA:
			subs = fault.DMASites
		case fault.ClassData:
			subs = fault.DataSites
		case fault.ClassDevice:
			subs = fault.DeviceSites
		case fault.ClassHang:
		default:
			return nil, fmt.Errorf("unknown fault type %q (classes: %s)", t, strings.Join(fault.Classes, ", "))
		}
		if sub != "" && !slices.Contains(subs, sub) {
			return nil, fmt.Errorf("unknown fault type %q (%s/: %s)", t, class, strings.Join(subs, ", "))
		}
		out = append(out, t)
	}
	return out, nil
}

// ClassOf is the class (or class/kind) of fault i: the classes in turn,
// the order rotating by one each round, so that every shard of a campaign
// (faults i ≡ I mod N) gets every class, not every N-th.
func ClassOf(classes []string, i int) string {
	n := len(classes)
	return classes[(i+i/n)%n]
}

// Plan returns fault i.
func (p *Planner) Plan(i int) (Planned, error) {
	rng := rand.New(rand.NewPCG(p.Seed, uint64(i)))
	id := fmt.Sprintf("f%d", i)
	class, sub, _ := strings.Cut(ClassOf(p.Classes, i), "/")
	switch class {
	case fault.ClassCode:
		return p.code(id, sub, rng)
	case fault.ClassHang:
		if len(p.Hot) == 0 {
			return Planned{}, fmt.Errorf("no donor function ran under the workload")
		}
		fn := p.Hot[rng.IntN(len(p.Hot))]
		s, err := fault.HangSpec(id, fn.Addr, fn.Code)
		return Planned{Spec: s, Function: fn.Name, Source: fn.Source}, err
	case fault.ClassAPI:
		return Planned{Spec: apiSpec(id, sub, rng)}, nil
	case fault.ClassDMA:
		if sub == "" {
			sub = fault.DMASites[rng.IntN(len(fault.DMASites))]
		}
		return Planned{Spec: fault.Spec{ID: id, Class: fault.ClassDMA, Site: sub, Nth: 1 + rng.IntN(16)}}, nil
	case fault.ClassData:
		return p.data(id, sub, rng)
	case fault.ClassDevice:
		return Planned{Spec: p.deviceSpec(id, sub, rng)}, nil
	}
	return Planned{}, fmt.Errorf("unknown fault class %q", class)
}

// code places a mutation (mut, or one chosen) on an instruction of the
// straight-line entry of a function that ran.
func (p *Planner) code(id, mut string, rng *rand.Rand) (Planned, error) {
	if len(p.Hot) == 0 {
		return Planned{}, fmt.Errorf("no donor function ran under the workload")
	}
	muts := fault.Mutations
	if mut != "" {
		muts = []string{mut}
	}
	for range 64 {
		m := muts[rng.IntN(len(muts))]
		fn := p.Hot[rng.IntN(len(p.Hot))]
		cands := fault.Candidates(fault.Region(fn.Code), m)
		if len(cands) == 0 {
			continue // this function's entry has no such instruction: draw again
		}
		in := cands[rng.IntN(len(cands))]
		repl, err := fault.Mutate(in, m, rng)
		if err != nil {
			return Planned{}, err
		}
		return Planned{Spec: fault.CodeSpec(id, m, fn.Addr+uint64(in.Off), in, repl),
			Function: fmt.Sprintf("%s+%#x", fn.Name, in.Off), Source: fn.Source,
			Insn: x86asm.GNUSyntax(in.Inst, fn.Addr+uint64(in.Off), nil)}, nil
	}
	return Planned{}, fmt.Errorf("no instruction for mutation %q in the entries of %d functions", mut, len(p.Hot))
}

// apiSpec fails a kernel-API call: sites the driver calls all the time
// (allocation, DMA maps, timers) fail at a call soon after arming; sites
// called only when the interface opens (request_irq, coherent DMA for the
// rings) or the driver probes (PCI configuration reads) come with the
// trigger that makes that code run.
func apiSpec(id, site string, rng *rand.Rand) fault.Spec {
	if site == "" {
		site = fault.APISites[rng.IntN(len(fault.APISites))]
	}
	s := fault.Spec{ID: id, Class: fault.ClassAPI, Site: site, Nth: 1}
	switch site {
	case "alloc":
		if rng.IntN(2) == 0 {
			s.Trigger = "reopen"
		}
		s.Nth = 1 + rng.IntN(16)
	case "dma-map":
		s.Nth = 1 + rng.IntN(16)
	case "dma-alloc":
		s.Trigger, s.Nth = "reopen", 1+rng.IntN(2)
	case "irq":
		s.Trigger = "reopen"
	case "pci-config":
		s.Trigger = "reprobe"
	case "timer":
	}
	return s
}

// Describe is a fault in a few words, for a person.
func Describe(p Planned) string {
	s := p.Spec
	switch s.Class {
	case fault.ClassCode:
		return fmt.Sprintf("code/%s at %s (%s)", s.Mut, p.Function, p.Insn)
	case fault.ClassHang:
		return "hang at " + p.Function
	case fault.ClassDMA:
		return fmt.Sprintf("wild DMA (%s) at map %d", s.Site, s.Nth)
	case fault.ClassData:
		return fmt.Sprintf("data/%s %s %#x at %s, loop turn %d", s.Site, s.Data.Op, s.Data.Val, s.Data.Where(), s.Nth)
	case fault.ClassDevice:
		return describeDevice(s)
	}
	t := ""
	if s.Trigger != "" {
		t = " after " + s.Trigger
	}
	return fmt.Sprintf("api/%s fails call %d%s", s.Site, s.Nth, t)
}

// Kind is the class of a fault as the summary groups it: code/MUT,
// api/SITE, hang, dma/DIR, data/KIND, device/KIND.
func Kind(s fault.Spec) string {
	switch s.Class {
	case fault.ClassCode:
		return "code/" + s.Mut
	case fault.ClassAPI, fault.ClassDMA, fault.ClassData, fault.ClassDevice:
		return s.Class + "/" + s.Site
	}
	return s.Class
}
