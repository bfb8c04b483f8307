package fault

import (
	"bytes"
	"encoding/hex"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"grailos/kernel/abi"
)

func TestSpecNoteRoundTrip(t *testing.T) {
	for _, s := range []Spec{
		{ID: "f0", Class: ClassCode, Mut: MutFlip, Addr: 0x575ed2, Orig: "4989f9", New: "4989fb"},
		{ID: "f1", Class: ClassHang, Addr: 0x575ed0, Orig: "4157", New: "ebfe"},
		{ID: "f2", Class: ClassAPI, Site: "irq", Nth: 1, Trigger: "reopen"},
		{ID: "f3", Class: ClassAPI, Site: "alloc", Nth: 7, Count: 3},
		{ID: "f4", Class: ClassDMA, Site: "rx", Nth: 16},
		{ID: "f5", Class: ClassDevice, Site: "reg-garbage", Nth: 2, Count: 3, Reg: "0xc0", Seed: 1 << 63},
		{ID: "f6", Class: ClassDevice, Site: "irq-lost", Nth: 1, Count: 4},
		// The longest code fault: two 15-byte instructions' worth of hex.
		{ID: "f123456789", Class: ClassCode, Mut: MutNop, Addr: 0xffffffff, Orig: strings.Repeat("48", 15), New: strings.Repeat("90", 15)},
	} {
		n, err := s.Note()
		if err != nil {
			t.Fatalf("%+v: %v", s, err)
		}
		if len(n) > abi.MaxNote {
			t.Errorf("%s: note of %d bytes", s.ID, len(n))
		}
		p, err := ParseNote(n)
		if err != nil || p.Kind != NoteSpec || !reflect.DeepEqual(p.Spec, s) {
			t.Errorf("%s: parsed %+v, %v; want %+v", n, p.Spec, err, s)
		}
	}
}

func TestSpecValidate(t *testing.T) {
	for _, tc := range []struct {
		s    Spec
		want string
	}{
		{Spec{Class: ClassAPI, Site: "irq", Nth: 1}, "id"},
		{Spec{ID: "a b", Class: ClassAPI, Site: "irq", Nth: 1}, "id"},
		{Spec{ID: "x", Class: "bogus"}, "unknown class"},
		{Spec{ID: "x", Class: ClassCode, Mut: MutFlip, Addr: 1, Orig: "90", New: "9090"}, "replaced by"},
		{Spec{ID: "x", Class: ClassCode, Mut: MutFlip, Addr: 1, Orig: "90", New: "90"}, "equals"},
		{Spec{ID: "x", Class: ClassCode, Mut: MutFlip, Orig: "90", New: "91"}, "no address"},
		{Spec{ID: "x", Class: ClassCode, Mut: "swap", Addr: 1, Orig: "90", New: "91"}, "unknown mutation"},
		{Spec{ID: "x", Class: ClassCode, Mut: MutFlip, Addr: 1, Orig: "zz", New: "91"}, "hex"},
		{Spec{ID: "x", Class: ClassAPI, Site: "disk", Nth: 1}, "unknown api site"},
		{Spec{ID: "x", Class: ClassAPI, Site: "irq"}, "first is 1"},
		{Spec{ID: "x", Class: ClassAPI, Site: "irq", Nth: 1, Trigger: "reboot"}, "unknown trigger"},
		{Spec{ID: "x", Class: ClassDMA, Site: "alloc", Nth: 1}, "unknown dma site"},
		{Spec{ID: "x", Class: ClassDevice, Site: "irq-late", Nth: 1}, "unknown device site"},
		{Spec{ID: "x", Class: ClassDevice, Site: "irq-lost", Nth: 1, Trigger: "reopen"}, "no trigger"},
		{Spec{ID: "x", Class: ClassDevice, Site: "irq-lost", Nth: 1, Reg: "0xc0"}, "reg-garbage only"},
		{Spec{ID: "x", Class: ClassAPI, Site: "irq", Nth: 1, Seed: 1}, "reg-garbage only"},
		{Spec{ID: "x", Class: ClassDevice, Site: "reg-garbage", Nth: 1, Reg: "c0"}, "hexadecimal"},
	} {
		if err := tc.s.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want an error about %q", tc.s, err, tc.want)
		}
	}
}

func TestParseNoteForms(t *testing.T) {
	for _, w := range []string{"segv", "hang", "exit"} {
		if p, err := ParseNote([]byte("inject " + w)); err != nil || p.Kind != NoteOperator || p.Word != w {
			t.Errorf("%s: %+v %v", w, p, err)
		}
	}
	if p, err := ParseNote(ProfileNote); err != nil || p.Kind != NoteProfile {
		t.Errorf("profile: %+v %v", p, err)
	}
	if _, err := ParseNote([]byte("hello")); err != ErrNotFault {
		t.Errorf("not a fault note: %v", err)
	}
	for _, bad := range []string{"inject bogus", `inject {"id":"x","c":"api","s":"irq","k":1,"zz":1}`,
		`inject {"id":"x","c":"api","s":"irq","k":1} {}`, "inject watch !!", "inject watch AAAAAA=="} {
		if _, err := ParseNote([]byte(bad)); err == nil || err == ErrNotFault {
			t.Errorf("%q accepted (%v)", bad, err)
		}
	}
}

// Watch notes split a long list; every address comes back in order.
func TestWatchNotes(t *testing.T) {
	var addrs []uint64
	for i := range 170 {
		addrs = append(addrs, 0x400000+uint64(i)*0x40)
	}
	notes, err := WatchNotes(addrs)
	if err != nil {
		t.Fatal(err)
	}
	var got []uint64
	for _, n := range notes {
		if len(n) > abi.MaxNote {
			t.Fatalf("note of %d bytes", len(n))
		}
		p, err := ParseNote(n)
		if err != nil || p.Kind != NoteWatch {
			t.Fatalf("%q: %v", n, err)
		}
		got = append(got, p.Watch...)
	}
	if len(notes) != 4 || !reflect.DeepEqual(got, addrs) {
		t.Errorf("%d notes, %d addresses back (want 4, 170)", len(notes), len(got))
	}
	if _, err := WatchNotes([]uint64{1 << 33}); err == nil {
		t.Error("a 64-bit address was accepted")
	}
}

func TestProfileDetail(t *testing.T) {
	for _, hits := range [][]bool{nil, {true}, {false, true, false, false, false, false, false, false, true}} {
		got, err := ParseProfile(ProfileDetail(hits))
		if err != nil || len(got) != len(hits) || (len(hits) > 0 && !reflect.DeepEqual(got, hits)) {
			t.Errorf("%v: %v %v", hits, got, err)
		}
	}
	if _, err := ParseProfile("3 ff00"); err == nil {
		t.Error("a bitmap of the wrong size was accepted")
	}
}

func TestFiredID(t *testing.T) {
	s := Spec{ID: "f17", Class: ClassCode, Mut: MutBranch, Addr: 0x10}
	if got := FiredID(s.Detail()); got != "f17" {
		t.Errorf("FiredID(%q) = %q", s.Detail(), got)
	}
	if got := FiredID("id=f3 class=api site=irq call=1"); got != "f3" {
		t.Errorf("api detail: %q", got)
	}
}

func mustHex(s string) []byte {
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		panic(err)
	}
	return b
}

// The entry region of e1000_clean as gcc 12 compiled it: pushes, loads,
// arithmetic, ending at the first conditional branch (a call inside does
// not end it); nothing after the branch.
var cleanEntry = mustHex("4157 488d8750fdffff 4989fa 4156 e8 00000000 31ff 83e501 0f844a050000 c3")

func TestRegion(t *testing.T) {
	r := Region(cleanEntry)
	var offs []int
	for _, in := range r {
		offs = append(offs, in.Off)
	}
	if want := []int{0, 2, 9, 12, 14, 19, 21, 24}; !reflect.DeepEqual(offs, want) {
		t.Fatalf("region offsets %v, want %v", offs, want)
	}
	if n := len(Candidates(r, MutBranch)); n != 1 {
		t.Errorf("%d branch candidates, want 1", n)
	}
	if c := Candidates(r, MutCall); len(c) != 1 || c[0].Off != 14 {
		t.Errorf("call candidates %v", c)
	}
	if c := Candidates(r, MutReg); len(c) != 2 || c[0].Off != 9 || c[1].Off != 19 {
		t.Errorf("register candidates at %v", c)
	}
	if got := Region(append(bytes.Clone(endbr64), 0xc3)); len(got) != 2 || len(Candidates(got, MutNop)) != 1 {
		t.Errorf("endbr64 is a candidate: %v", got)
	}
}

func TestMutate(t *testing.T) {
	r := Region(cleanEntry)
	rng := rand.New(rand.NewPCG(1, 2))
	at := func(off int) Insn {
		for _, in := range r {
			if in.Off == off {
				return in
			}
		}
		t.Fatalf("no instruction at %d", off)
		return Insn{}
	}
	for _, tc := range []struct {
		off  int
		mut  string
		want string
	}{
		{24, MutBranch, "0f854a050000"}, // je → jne
		{14, MutCall, "9090909090"},
		{21, MutNop, "909090"},
	} {
		got, err := Mutate(at(tc.off), tc.mut, rng)
		if err != nil || hex.EncodeToString(got) != tc.want {
			t.Errorf("%s at %d: %x %v, want %s", tc.mut, tc.off, got, err, tc.want)
		}
	}
	short := Region(mustHex("7405 c3"))
	if got, _ := Mutate(short[0], MutBranch, rng); !bytes.Equal(got, mustHex("7505")) {
		t.Errorf("short je → %x, want 7505", got)
	}
	// A flip changes exactly one bit; a register change only the ModRM reg field.
	for range 50 {
		in := at(2)
		got, _ := Mutate(in, MutFlip, rng)
		diff := 0
		for i := range got {
			diff += popcount(got[i] ^ in.Bytes[i])
		}
		if diff != 1 {
			t.Fatalf("flip %x → %x changes %d bits", in.Bytes, got, diff)
		}
		mov := at(9) // 49 89 fa: mov %rdi,%r10
		got, _ = Mutate(mov, MutReg, rng)
		if got[0] != 0x49 || got[1] != 0x89 || got[2]&0xc7 != 0xc2 || got[2] == 0xfa {
			t.Fatalf("register change %x → %x", mov.Bytes, got)
		}
	}
	if _, err := Mutate(at(0), MutCall, rng); err == nil {
		t.Error("removed a call that is a push")
	}
	if _, err := Mutate(at(0), MutBranch, rng); err == nil {
		t.Error("inverted a push")
	}
}

func popcount(b byte) int {
	n := 0
	for ; b != 0; b &= b - 1 {
		n++
	}
	return n
}

func TestHangSpec(t *testing.T) {
	s, err := HangSpec("h", 0x1000, cleanEntry)
	if err != nil || s.Orig != "4157" || s.New != "ebfe" || s.Validate() != nil {
		t.Errorf("%+v %v", s, err)
	}
	if _, err := HangSpec("h", 0x1000, []byte{0xc3}); err == nil {
		t.Error("a one-byte function took a hang")
	}
}

func TestSymbolize(t *testing.T) {
	fns := []Function{{Name: "a", Addr: 0x100, Size: 0x10}, {Name: "b", Addr: 0x200, Size: 0x20}}
	for addr, want := range map[uint64]string{0x100: "a+0x0", 0x10f: "a+0xf", 0x110: "", 0x21f: "b+0x1f", 0x50: "", 0x300: ""} {
		if got := Symbolize(fns, addr); got != want {
			t.Errorf("Symbolize(%#x) = %q, want %q", addr, got, want)
		}
	}
}

// ParseNote decodes notes from the operator: nothing may make it panic,
// and what it accepts is valid.
func FuzzParseNote(f *testing.F) {
	f.Add([]byte("inject segv"))
	f.Add(ProfileNote)
	n, _ := (&Spec{ID: "f1", Class: ClassAPI, Site: "alloc", Nth: 3}).Note()
	f.Add(n)
	w, _ := WatchNotes([]uint64{0x401000, 0x402000})
	f.Add(w[0])
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := ParseNote(b)
		if err == nil && p.Kind == NoteSpec {
			if err := p.Spec.Validate(); err != nil {
				t.Fatalf("accepted an invalid spec: %v", err)
			}
		}
	})
}

// Data faults travel whole and are checked: inside the structure,
// aligned, values within the word, a change that changes something.
func TestDataSpec(t *testing.T) {
	via, old := uint32(576), uint64(7)
	good := []Spec{
		{ID: "d1", Class: ClassData, Site: "pointer", Nth: 3, Data: &Data{Struct: StructPriv, Size: 2480, Off: 576, Width: 8,
			Op: OpXor, Val: 1 << 63, Name: "e1000_adapter.tx_ring"}},
		{ID: "d2", Class: ClassData, Site: "field", Nth: 16, Data: &Data{Struct: StructPriv, Via: &via, Size: 48, Off: 36, Width: 2,
			Op: OpSet, Val: 0xffff, Old: &old, Name: "e1000_adapter.tx_ring->next_to_use"}},
		{ID: "d3", Class: ClassData, Site: "pointer", Nth: 1, Data: &Data{Struct: StructNetdev, Size: 2432, Off: 2424, Width: 8,
			Op: OpAdd, Val: 1<<64 - 256, Name: strings.Repeat("n", 64)}},
	}
	for _, s := range good {
		n, err := s.Note()
		if err != nil {
			t.Fatalf("%s: %v", s.ID, err)
		}
		p, err := ParseNote(n)
		if err != nil || !reflect.DeepEqual(p.Spec, s) {
			t.Errorf("%s: parsed %+v, %v", n, p.Spec, err)
		}
	}
	for _, tc := range []struct {
		change func(s *Spec)
		want   string
	}{
		{func(s *Spec) { s.Site = "heap" }, "unknown data site"},
		{func(s *Spec) { s.Nth = 0 }, "loop turn"},
		{func(s *Spec) { s.Trigger = "reopen" }, "without trigger"},
		{func(s *Spec) { s.Data = nil }, "without its word"},
		{func(s *Spec) { s.Data.Struct = "skb" }, "unknown structure"},
		{func(s *Spec) { v := uint32(4); s.Data.Via = &v }, "not aligned"},
		{func(s *Spec) { s.Data.Width = 4 }, "pointers 8"},
		{func(s *Spec) { s.Data.Off = 2480 }, "inside, aligned"},
		{func(s *Spec) { s.Data.Off = 580 }, "inside, aligned"},
		{func(s *Spec) { s.Data.Size = 0 }, "inside, aligned"},
		{func(s *Spec) { s.Data.Op = "rol" }, "unknown change"},
		{func(s *Spec) { s.Data.Val = 0 }, "changes nothing"},
		{func(s *Spec) { s.Data.Name = "a b" }, "member name"},
		{func(s *Spec) { s.Site, s.Data.Width, s.Data.Off, s.Data.Val = "field", 1, 577, 0x100 }, "wider than"},
		{func(s *Spec) { z := uint64(0); s.Data.Op, s.Data.Val, s.Data.Old = OpSet, 0, &z }, "already holds"},
	} {
		s := good[0]
		d := *s.Data
		s.Data = &d
		tc.change(&s)
		if err := s.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want an error about %q", s.Data, err, tc.want)
		}
	}
}
