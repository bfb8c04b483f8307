package hw

import (
	"errors"
	"reflect"
	"testing"
)

func TestEventString(t *testing.T) {
	for _, tc := range []struct {
		e    Event
		want string
	}{
		{Event{Kind: EventDMARefused, Ring: "rx", Addr: 0x1000, Len: 60, What: "receive ring write", Err: errors.New("outside the pool")},
			"rx dma-refused: receive ring write (addr 0x1000 len 60): outside the pool"},
		{Event{Kind: EventRingInvalid, Ring: "tx", What: "TDT has bits above 15", Addr: 0x10000, Len: 4},
			"tx ring-invalid: TDT has bits above 15 (addr 0x10000 len 4)"},
		{Event{Kind: EventBadAccess, What: "x"}, "bad-access: x"},
		{Event{Kind: EventKind(99), What: "x"}, "event(99): x"},
		{Event{What: "x"}, "event(0): x"},
	} {
		if got := tc.e.String(); got != tc.want {
			t.Errorf("%+v: %q, want %q", tc.e, got, tc.want)
		}
	}
}

// The first access to an offset is reported once, with the model's
// width of offsets; later ones only count; the list is sorted.
func TestUnknownRegisters(t *testing.T) {
	var u UnknownRegisters
	e, first := u.Note(0x5B00, 4, 5, false, 0)
	want := Event{Kind: EventUnknownRegister, Addr: 0x5B00, Len: 4, What: "first read of unmodelled register 0x05b00"}
	if !first || e != want {
		t.Errorf("first read: %+v %v, want %+v", e, first, want)
	}
	if _, first := u.Note(0x5B00, 4, 5, true, 7); first {
		t.Error("second access reported again")
	}
	e, first = u.Note(0xE0, 1, 2, true, 1)
	if want := "first write of unmodelled register 0xe0"; !first || e.What != want || e.Len != 1 {
		t.Errorf("first write: %+v, want %q", e, want)
	}
	wantList := []UnknownAccess{{Off: 0xE0, Writes: 1, LastWrite: 1}, {Off: 0x5B00, Reads: 1, Writes: 1, LastWrite: 7}}
	if got := u.List(); !reflect.DeepEqual(got, wantList) {
		t.Errorf("List() = %+v, want %+v", got, wantList)
	}
	var empty UnknownRegisters
	if got := empty.List(); len(got) != 0 {
		t.Errorf("empty List() = %+v", got)
	}
}
