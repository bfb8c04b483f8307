package abi

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestMessageRoundTrip(t *testing.T) {
	tests := []Message{
		{Header: Header{Op: OpCall, Seq: 7, Cap: MakeHandle(3, 9), Arg0: 1, Arg1: 2}},
		{Header: Header{Op: OpResult, Status: ErrRights, Seq: 1}, Payload: []byte("hi")},
		{Header: Header{Op: OpReply, Arg0: 99}, Caps: []CapRef{{MakeHandle(1, 1), RightCall}, {MakeHandle(2, 5), RightRead | RightWrite}}, Payload: make([]byte, MaxPayload)},
	}
	for _, m := range tests {
		b, err := m.Append(nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(b) != m.Size() {
			t.Fatalf("encoded %d bytes, Size says %d", len(b), m.Size())
		}
		got, err := Decode(b)
		if err != nil {
			t.Fatalf("%v: %v", m.Op, err)
		}
		if got.Payload == nil {
			got.Payload = nil
		}
		if len(got.Payload) == 0 && len(m.Payload) == 0 {
			got.Payload, m.Payload = nil, nil
		}
		if d := cmp.Diff(m, got); d != "" {
			t.Errorf("round trip (-want +got):\n%s", d)
		}
	}
}

func TestAppendLimits(t *testing.T) {
	m := Message{Header: Header{Op: OpCall}, Caps: make([]CapRef, MaxCaps+1)}
	if _, err := m.Append(nil); err == nil {
		t.Error("too many caps encoded without error")
	}
	m = Message{Header: Header{Op: OpCall}, Payload: make([]byte, MaxPayload+1)}
	if _, err := m.Append(nil); err == nil {
		t.Error("oversized payload encoded without error")
	}
}

func TestDecodeRejects(t *testing.T) {
	good, _ := (&Message{Header: Header{Op: OpCall}, Caps: []CapRef{{1, 1}}, Payload: []byte("abc")}).Append(nil)
	mut := func(f func(b []byte) []byte) []byte { return f(append([]byte(nil), good...)) }
	tests := []struct {
		name string
		b    []byte
		want string
	}{
		{"short", good[:10], "malformed message: 10 bytes is shorter than the 40-byte header"},
		{"magic", mut(func(b []byte) []byte { b[0] = 0; return b }), "malformed message: magic 0x4700, want 0x4752"},
		{"version", mut(func(b []byte) []byte { b[2] = 2; return b }), "malformed message: version 2, want 1"},
		{"op zero", mut(func(b []byte) []byte { b[3] = 0; return b }), "malformed message: unknown op 0"},
		{"op high", mut(func(b []byte) []byte { b[3] = 200; return b }), "malformed message: unknown op 200"},
		{"length", mut(func(b []byte) []byte { return b[:len(b)-1] }), "malformed message: length field 51 but message is 50 bytes"},
		{"reserved", mut(func(b []byte) []byte { b[20] = 1; return b }), "malformed message: reserved field is 0x1, want 0"},
		{"ncaps", mut(func(b []byte) []byte { b[12] = 17; return b }), "malformed message: 17 capability slots (max 16)"},
		{"caps overflow", mut(func(b []byte) []byte { b[12] = 2; return b }), "malformed message: 2 capability slots do not fit in 51 bytes"},
	}
	for _, tc := range tests {
		_, err := Decode(tc.b)
		if err == nil || err.Error() != tc.want || !errors.Is(err, ErrBadMessage) {
			t.Errorf("%s: got %v, want %q", tc.name, err, tc.want)
		}
	}
}

func TestBootRoundTrip(t *testing.T) {
	b := &Boot{Task: "echo", Args: []string{"-v", ""}, Caps: []NamedCap{{"echo", MakeHandle(1, 1), ObjEndpoint, RightReceive}}, Config: []byte("x=1")}
	got, err := DecodeBoot(b.Encode())
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(b, got); d != "" {
		t.Error(d)
	}
	if _, err := DecodeBoot(b.Encode()[:5]); !errors.Is(err, ErrBadMessage) {
		t.Errorf("truncated boot: %v", err)
	}
}

func TestSpawnSpecRoundTrip(t *testing.T) {
	s := &SpawnSpec{Name: "a", Binary: "b", Role: "server", Args: []string{"x"}, MemoryBytes: 1 << 20, Pids: 5, CPUMilli: 500, CapNames: []string{"c"}, Config: []byte{}}
	got, err := DecodeSpawnSpec(s.Encode())
	if err != nil {
		t.Fatal(err)
	}
	got.Config, s.Config = nil, nil
	if d := cmp.Diff(s, got); d != "" {
		t.Error(d)
	}
	enc := s.Encode()
	if _, err := DecodeSpawnSpec(append(enc, 0)); err == nil || err.Error() != "malformed message: payload: 1 trailing bytes" {
		t.Errorf("trailing byte: %v", err)
	}
}

func TestReaderHostileLength(t *testing.T) {
	var w Writer
	w.U32(1 << 31) // claims a 2 GiB string
	r := NewReader(w.Data())
	if s := r.String(1 << 31); s != "" {
		t.Errorf("got %q", s)
	}
	if err := r.Done(); err == nil || err.Error() != "malformed message: payload: string needs 2147483648 bytes, 0 left" {
		t.Errorf("got %v", err)
	}
	var w2 Writer
	w2.U32(1000)
	r2 := NewReader(w2.Data())
	r2.Strings(10, 10)
	if err := r2.Done(); err == nil || err.Error() != "malformed message: payload: 1000 strings exceed 10" {
		t.Errorf("got %v", err)
	}
}

func TestStatusErrors(t *testing.T) {
	err := Errorf(ErrRights, "cap %d lacks %v", 3, RightCall)
	if !errors.Is(err, ErrRights) || errors.Is(err, ErrInvalidCap) {
		t.Errorf("errors.Is mismatch for %v", err)
	}
	if err.Error() != "insufficient rights: cap 3 lacks call" {
		t.Errorf("got %q", err.Error())
	}
	if OK.Err() != nil || ErrBusy.Err() == nil {
		t.Error("Err()")
	}
	if got := (RightCall | RightGrant).String(); got != "call|grant" {
		t.Errorf("rights string %q", got)
	}
}

func TestCheckName(t *testing.T) {
	for _, ok := range []string{"echo", "nic.e1000", "a_b-1"} {
		if err := CheckName(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range []string{"", ".x", "../x", "a/b", "A", string(make([]byte, 65))} {
		if err := CheckName(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func FuzzDecode(f *testing.F) {
	good, _ := (&Message{Header: Header{Op: OpCall}, Caps: []CapRef{{1, 1}}, Payload: []byte("abc")}).Append(nil)
	f.Add(good)
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Decode(b)
		if err != nil {
			return
		}
		if m.Size() != len(b) || len(m.Caps) > MaxCaps || len(m.Payload) > MaxPayload {
			t.Fatalf("accepted inconsistent message: size %d len %d", m.Size(), len(b))
		}
		again, err := m.Append(nil)
		if err != nil || string(again) != string(b) {
			t.Fatalf("re-encoding differs: %v", err)
		}
	})
}

func FuzzPayloads(f *testing.F) {
	f.Add((&Boot{Task: "x", Caps: []NamedCap{{"a", 1, 1, 1}}}).Encode())
	f.Add((&SpawnSpec{Name: "a"}).Encode())
	f.Add((&Trace{Kind: "k"}).Encode())
	f.Fuzz(func(t *testing.T, b []byte) {
		if boot, err := DecodeBoot(b); err == nil && len(boot.Caps) > MaxBootCap {
			t.Fatal("too many boot caps accepted")
		}
		if s, err := DecodeSpawnSpec(b); err == nil && len(s.CapNames) > MaxCaps {
			t.Fatal("too many cap names accepted")
		}
		DecodeTrace(b)
	})
}
