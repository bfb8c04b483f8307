package inject

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"grailos/arch/machine/hw"
	"grailos/dde/linux/fault"
)

// Two small functions: one whose entry holds a branch, a call and a
// register move; one that is a single return (no candidates).
var hot = []fault.Function{
	{Name: "drv_clean", Source: "drivers/x/x.c", Addr: 0x401000,
		Code: must("4157 4989fa e800000000 31ff 83e501 0f844a050000 c3")},
	{Name: "drv_tiny", Source: "drivers/x/x.c", Addr: 0x402000, Code: must("c3 90")},
}

// Two structures for data faults: a private area with a pointer, a
// counter and an array of flags, and a ring reached through its pointer.
var via = uint32(8)
var targets = []fault.Target{
	{Struct: fault.StructPriv, Type: "drv_priv", Size: 64, Members: [][]fault.Word{
		{{Name: "drv_priv.dev", Off: 0, Width: 8, Pointer: true}},
		{{Name: "drv_priv.ring", Off: 8, Width: 8, Pointer: true}},
		{{Name: "drv_priv.count", Off: 16, Width: 4}},
		{{Name: "drv_priv.flags[0]", Off: 20, Width: 1}, {Name: "drv_priv.flags[1]", Off: 21, Width: 1}},
	}},
	{Struct: fault.StructPriv, Via: &via, Type: "drv_ring", Size: 24, Members: [][]fault.Word{
		{{Name: "drv_priv.ring->desc", Off: 0, Width: 8, Pointer: true}},
		{{Name: "drv_priv.ring->next", Off: 8, Width: 2}},
	}},
}

func must(s string) []byte {
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		panic(err)
	}
	return b
}

// A fault depends only on the seed and its index: the same plan twice,
// another seed another plan; classes cycle in the order given.
func TestPlanDeterministic(t *testing.T) {
	p := &Planner{Seed: 9, Classes: fault.Classes, Hot: hot, Data: targets}
	var a, b []Planned
	for i := range 40 {
		x, err := p.Plan(i)
		if err != nil {
			t.Fatalf("fault %d: %v", i, err)
		}
		if err := x.Spec.Validate(); err != nil {
			t.Fatalf("fault %d: %v", i, err)
		}
		if want := ClassOf(fault.Classes, i); x.Spec.Class != want {
			t.Errorf("fault %d is %s, want %s", i, x.Spec.Class, want)
		}
		a = append(a, x)
	}
	for i := 39; i >= 0; i-- { // in another order: no state between faults
		x, _ := p.Plan(i)
		b = append([]Planned{x}, b...)
	}
	if !reflect.DeepEqual(a, b) {
		t.Error("the plan depends on the order faults are planned in")
	}
	q := &Planner{Seed: 10, Classes: fault.Classes, Hot: hot, Data: targets}
	same := 0
	for i := range 40 {
		x, _ := q.Plan(i)
		if reflect.DeepEqual(x, a[i]) {
			same++
		}
	}
	if same == 40 {
		t.Error("another seed gives the same plan")
	}
}

// Code faults land only in the entry regions of the functions that ran,
// on instructions their mutation can change; hangs on entries.
func TestPlanPlacement(t *testing.T) {
	for _, mut := range fault.Mutations {
		p := &Planner{Seed: 1, Classes: []string{"code/" + mut}, Hot: hot}
		for i := range 20 {
			x, err := p.Plan(i)
			if err != nil {
				t.Fatalf("%s: %v", mut, err)
			}
			s := x.Spec
			orig, repl := s.Bytes()
			fn := hot[0]
			if s.Addr >= hot[1].Addr {
				fn = hot[1] // a ret can be flipped or skipped
			}
			code := fn.Code[s.Addr-fn.Addr:]
			if s.Mut != mut || !strings.HasPrefix(x.Function, fn.Name+"+") || !bytes.HasPrefix(code, orig) || bytes.Equal(orig, repl) ||
				(fn.Name == "drv_tiny" && mut != fault.MutFlip && mut != fault.MutNop) {
				t.Fatalf("%s: %+v at %s", mut, s, x.Function)
			}
		}
	}
	p := &Planner{Seed: 1, Classes: []string{"hang"}, Hot: hot}
	x, _ := p.Plan(0)
	if x.Spec.New != "ebfe" || (x.Spec.Addr != hot[0].Addr && x.Spec.Addr != hot[1].Addr) {
		t.Errorf("hang %+v", x.Spec)
	}
	if _, err := (&Planner{Seed: 1, Classes: []string{"code"}}).Plan(0); err == nil {
		t.Error("a code fault without functions that ran")
	}
}

// Open-time and probe-time sites come with the trigger that runs them.
func TestPlanAPITriggers(t *testing.T) {
	want := map[string]string{"irq": "reopen", "dma-alloc": "reopen", "pci-config": "reprobe", "dma-map": "", "timer": ""}
	for site, trig := range want {
		p := &Planner{Seed: 4, Classes: []string{"api/" + site}}
		for i := range 8 {
			x, err := p.Plan(i)
			if err != nil || x.Spec.Site != site || x.Spec.Trigger != trig || x.Spec.Nth < 1 {
				t.Errorf("%s: %+v %v", site, x.Spec, err)
			}
		}
	}
}

// Data faults: a word of the kind asked for, in a structure the planner
// was given, changed as documented (pointer: bit flip, NULL, moved by
// 1 to 32 words; field: bit flip, random, zero), at loop turn 1 to 16.
func TestPlanData(t *testing.T) {
	for _, kind := range fault.DataSites {
		p := &Planner{Seed: 2, Classes: []string{"data/" + kind}, Data: targets}
		ops := map[string]bool{}
		for i := range 60 {
			x, err := p.Plan(i)
			if err != nil {
				t.Fatalf("%s %d: %v", kind, i, err)
			}
			s, d := x.Spec, x.Spec.Data
			var word *fault.Word
			for _, tg := range targets {
				for _, m := range tg.Members {
					for j := range m {
						if m[j].Name == d.Name && tg.Size == d.Size && tg.Via == d.Via {
							word = &m[j]
						}
					}
				}
			}
			switch {
			case word == nil || word.Off != d.Off || word.Width != d.Width || word.Pointer != (kind == "pointer"):
				t.Fatalf("%s %d: %+v is no %s word of the targets", kind, i, d, kind)
			case s.Site != kind || s.Nth < 1 || s.Nth > 16 || x.Function != d.Name || Kind(s) != "data/"+kind:
				t.Fatalf("%s %d: %+v", kind, i, s)
			case d.Op == fault.OpXor && d.Val&(d.Val-1) != 0,
				d.Op == fault.OpAdd && (kind != "pointer" || d.Val%8 != 0 || min(d.Val, -d.Val) > 256),
				d.Op == fault.OpSet && kind == "pointer" && d.Val != 0:
				t.Fatalf("%s %d: change %s %#x", kind, i, d.Op, d.Val)
			}
			ops[d.Op] = true
		}
		if want := map[string]int{"pointer": 3, "field": 2}[kind]; len(ops) != want { // field: set covers random and zero
			t.Errorf("%s: changes %v", kind, ops)
		}
	}
	if _, err := (&Planner{Seed: 1, Classes: []string{"data"}}).Plan(0); err == nil {
		t.Error("a data fault without structures")
	}
}

func TestParseClasses(t *testing.T) {
	if got, err := ParseClasses("data,data/pointer,data/field"); err != nil || len(got) != 3 {
		t.Errorf("data: %v %v", got, err)
	}
	if _, err := ParseClasses("data/heap"); err == nil {
		t.Error("data/heap accepted")
	}
	got, err := ParseClasses("code/flip, api ,hang,dma/rx")
	if err != nil || !reflect.DeepEqual(got, []string{"code/flip", "api", "hang", "dma/rx"}) {
		t.Errorf("%v %v", got, err)
	}
	if got, _ := ParseClasses("all"); !reflect.DeepEqual(got, fault.Classes) {
		t.Errorf("all: %v", got)
	}
	for _, bad := range []string{"code/swap", "disk", "api/nothing", "hang/x"} {
		if _, err := ParseClasses(bad); err == nil && bad != "hang/x" {
			t.Errorf("%q accepted", bad)
		}
	}
}

// The monitor follows the download through the kernel's output lines,
// checks each round, and notes the machine's refusals.
func TestMonitor(t *testing.T) {
	m := &monitor{client: "fetch", want: "abc", size: 100}
	out := "fetch   | PROGRESS 1 0 100\nfetch   | PROGRESS 1 60 100\nnet     | PROGRESS 9 9 9\n" +
		"fetch   | RESULT 1 100 abc 0.1 3 1\nfetch   | PROGRESS 2 40 100\n" +
		"machine | device: tx dma-refused: transmit buffer read (addr 0x11003440 len 66): outside the pool\n" +
		"fetch   | RESULT 2 100 bad 0.1 3 1\nfetch   | ERROR 3 connection reset\nfetch   | RESULT 4 100 abc 0.1 3 2\nfetch   | PROG"
	// Written in pieces that split lines.
	for i := 0; i < len(out); i += 7 {
		m.Write([]byte(out[i:min(i+7, len(out))]))
	}
	if p, at := m.progress(); p != 200 || at == 0 { // rounds 1 and 2, counted to their RESULT lines
		t.Errorf("progress %d at %d, want 200", p, at)
	}
	errs, bad, iommu := m.since(0)
	if len(bad) != 1 || !strings.Contains(bad[0], "round 2") {
		t.Errorf("mismatches %v", bad)
	}
	if len(errs) != 2 || errs[0] != "ERROR 3 connection reset" || !strings.Contains(errs[1], "2 connections") {
		t.Errorf("client errors %v", errs)
	}
	if len(iommu) != 1 {
		t.Errorf("refusals %v", iommu)
	}
	m.forget(1 << 62)
	if e, b, i := m.since(0); len(e)+len(b)+len(i) != 0 {
		t.Errorf("forget kept %v %v %v", e, b, i)
	}
}

func TestRecordsSummaryMerge(t *testing.T) {
	dir := t.TempDir()
	rec := func(i int, kind, outcome string) Record {
		cls, site, _ := strings.Cut(kind, "/")
		s := fault.Spec{ID: fmt.Sprintf("f%d", i), Class: cls, Site: site, Nth: 1}
		return Record{Index: i, Seed: 5, Driver: "e1000", Binary: "b", Spec: s, Kind: kind, Outcome: outcome, Fired: outcome != OutcomeLatent,
			Detail: "d", RecoveryMS: float64(10 * i)}
	}
	write := func(name string, recs ...Record) string {
		f, _ := os.Create(filepath.Join(dir, name))
		for _, r := range recs {
			WriteRecord(f, r)
		}
		f.Close()
		return filepath.Join(dir, name)
	}
	a := write("a.jsonl", rec(0, "api/irq", OutcomeCrash), rec(2, "dma/tx", OutcomeOutside))
	b := write("b.jsonl", rec(1, "api/irq", OutcomeLatent), rec(3, "api/alloc", OutcomeNone))
	recs, err := Merge([]string{b, a})
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range recs {
		if r.Index != i {
			t.Fatalf("merged order %v", recs)
		}
	}
	s := Summarize(recs, "all.jsonl")
	if s.Faults != 4 || s.Fired != 3 || s.ByKind["api/irq"][OutcomeCrash] != 1 || s.Outcomes[OutcomeOutside] != 1 ||
		len(s.Outside) != 1 || !strings.Contains(s.Outside[0], "--replay all.jsonl:3") {
		t.Errorf("summary %+v", s)
	}
	var tbl bytes.Buffer
	s.Print(&tbl)
	if !strings.Contains(tbl.String(), "failures outside the driver: 1") || !strings.Contains(tbl.String(), "api/irq") {
		t.Errorf("table:\n%s", tbl.String())
	}
	if _, err := Merge([]string{a, a}); err == nil || !strings.Contains(err.Error(), "in both") {
		t.Errorf("a shard twice: %v", err)
	}
	other := rec(5, "hang", OutcomeHang)
	other.Seed = 6
	if _, err := Merge([]string{a, write("c.jsonl", other)}); err == nil || !strings.Contains(err.Error(), "another campaign") {
		t.Errorf("another campaign: %v", err)
	}
	r, err := ReadLine(a + ":2")
	if err != nil || r.Index != 2 || r.Kind != "dma/tx" {
		t.Errorf("ReadLine: %+v %v", r, err)
	}
	for _, bad := range []string{a, a + ":0", a + ":9"} {
		if _, err := ReadLine(bad); err == nil {
			t.Errorf("ReadLine(%q) worked", bad)
		}
	}
	if err := s.Plot(filepath.Join(dir, "o.svg"), "test"); err != nil {
		t.Errorf("plot: %v", err)
	}
}

// Device faults: every kind, a few events from the next few, registers
// the driver reads under load; and what the planner makes, the machine's
// decoder takes as the same fault (the spec's JSON is the request).
func TestPlanDevice(t *testing.T) {
	if got, err := ParseClasses("device, device/irq-lost"); err != nil || !reflect.DeepEqual(got, []string{"device", "device/irq-lost"}) {
		t.Errorf("%v %v", got, err)
	}
	if _, err := ParseClasses("device/irq-late"); err == nil {
		t.Error("device/irq-late accepted")
	}
	for _, drv := range []string{"e1000", "rtl8139"} {
		p := &Planner{Seed: 6, Classes: []string{"device"}, Driver: drv}
		kinds := map[string]bool{}
		for i := range 60 {
			x, err := p.Plan(i)
			if err != nil {
				t.Fatal(err)
			}
			s := x.Spec
			kinds[s.Site] = true
			if err := s.Validate(); err != nil || s.Nth < 1 || s.Nth > 4 || s.Count < 1 || s.Count > 1000 {
				t.Fatalf("%s fault %d: %+v %v", drv, i, s, err)
			}
			if s.Site == "reg-garbage" && !slices.Contains(deviceRegs[drv], s.Reg) {
				t.Errorf("%s fault %d: register %q", drv, i, s.Reg)
			}
			js, _ := json.Marshal(s)
			f, err := hw.ParseRequest(append([]byte(hw.RequestFault), js...))
			reg, _ := hw.ParseRegister(s.Reg)
			if err != nil || f.ID != s.ID || f.Kind.String() != s.Site || f.Nth != s.Nth || f.Count != s.Calls() ||
				(s.Site == "reg-garbage" && (f.Reg != reg || f.Seed != s.Seed)) {
				t.Fatalf("%s fault %d: %s → %+v %v", drv, i, js, f, err)
			}
			if Kind(s) != "device/"+s.Site || !strings.HasPrefix(Describe(x), "device/"+s.Site+": ") {
				t.Errorf("%q %q", Kind(s), Describe(x))
			}
		}
		if len(kinds) != len(fault.DeviceSites) {
			t.Errorf("%s: kinds %v in 60 faults", drv, kinds)
		}
	}
}
