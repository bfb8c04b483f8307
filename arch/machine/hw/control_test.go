package hw

import (
	"strings"
	"testing"
)

func TestParseRequest(t *testing.T) {
	for _, tc := range []struct {
		msg  string
		want Fault
		err  string // a part of the error; "" for none
	}{
		{`fault {"id":"f1","c":"device","s":"irq-lost","k":1,"x":3}`, Fault{ID: "f1", Kind: FaultIRQLost, Nth: 1, Count: 3}, ""},
		{`fault {"id":"f2","c":"device","s":"dma-dup","k":4}`, Fault{ID: "f2", Kind: FaultDMADup, Nth: 4, Count: 1}, ""},
		{`fault {"id":"f3","c":"device","s":"reg-garbage","k":1,"x":2,"r":"0xc0","g":7}`,
			Fault{ID: "f3", Kind: FaultRegGarbage, Nth: 1, Count: 2, Reg: 0xC0, Seed: 7}, ""},
		{`fault {"id":"f4","c":"device","s":"reg-garbage","k":1}`, Fault{ID: "f4", Kind: FaultRegGarbage, Nth: 1, Count: 1, Reg: AnyRegister}, ""},
		{``, Fault{}, "unknown request"},
		{`hello`, Fault{}, "unknown request"},
		{`fault`, Fault{}, "unknown request"},
		{`fault `, Fault{}, "EOF"},
		{`fault {`, Fault{}, "unexpected EOF"},
		{`fault []`, Fault{}, "cannot unmarshal"},
		{`fault {"id":"f","c":"device","s":"irq-lost","k":1} {}`, Fault{}, "trailing data"},
		{`fault {"id":"f","c":"device","s":"irq-lost","k":1,"m":"flip"}`, Fault{}, "unknown field"},
		{`fault {"id":"f","c":"code","s":"irq-lost","k":1}`, Fault{}, "want device"},
		{`fault {"id":"f","c":"device","s":"irq-late","k":1}`, Fault{}, "unknown device fault"},
		{`fault {"id":"f","c":"device","s":"irq-lost"}`, Fault{}, "events 0"},
		{`fault {"id":"f","c":"device","s":"irq-lost","k":1,"x":-1}`, Fault{}, "-1 events"},
		{`fault {"id":"f","c":"device","s":"irq-lost","k":1,"x":2000000}`, Fault{}, "1 to 1048576"},
		{`fault {"id":"","c":"device","s":"irq-lost","k":1}`, Fault{}, "fault id"},
		{`fault {"id":"a b","c":"device","s":"irq-lost","k":1}`, Fault{}, "fault id"},
		{`fault {"id":"f","c":"device","s":"irq-lost","k":1,"r":"0xc0"}`, Fault{}, "reg-garbage only"},
		{`fault {"id":"f","c":"device","s":"dma-drop","k":1,"g":3}`, Fault{}, "reg-garbage only"},
		{`fault {"id":"f","c":"device","s":"reg-garbage","k":1,"r":"c0"}`, Fault{}, "hexadecimal"},
		{`fault {"id":"f","c":"device","s":"reg-garbage","k":1,"r":"0x100000"}`, Fault{}, "hexadecimal"},
		{"fault " + strings.Repeat(" ", MaxControlMessage), Fault{}, "at most"},
	} {
		got, err := ParseRequest([]byte(tc.msg))
		switch {
		case tc.err == "" && err != nil:
			t.Errorf("%q: %v", tc.msg, err)
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("%q: error %v, want one with %q", tc.msg, err, tc.err)
		case tc.err == "" && got != tc.want:
			t.Errorf("%q: %+v, want %+v", tc.msg, got, tc.want)
		}
	}
}

func TestMessages(t *testing.T) {
	for _, m := range []Message{
		{State: FaultArmed, ID: "f1", T: 12, Detail: "irq-lost: events 1 to 2"},
		{State: FaultFired, ID: "f1", T: 13, Detail: "irq-lost: assertion 1"},
		{State: FaultDone, ID: "f1", T: 14},
		{State: MessageError, Detail: "unknown request \"x\""},
	} {
		got, err := ParseMessage(m.Encode())
		if err != nil || got != m {
			t.Errorf("%q: %+v %v, want %+v", m.Encode(), got, err, m)
		}
	}
	for _, bad := range []string{"", "armed", "armed f1", "fired f1 x y", "done f1 -3 d", "hello f1 1 d", " armed f1 1"} {
		if m, err := ParseMessage([]byte(bad)); err == nil {
			t.Errorf("%q parsed: %+v", bad, m)
		}
	}
}

// FuzzControl: no request or message makes the decoders panic, and what
// they accept is consistent (a request's fault is valid; a message
// re-encodes to itself).
func FuzzControl(f *testing.F) {
	f.Add([]byte(`fault {"id":"f3","c":"device","s":"reg-garbage","k":1,"x":2,"r":"0xc0","g":7}`))
	f.Add([]byte(`fired f1 13 irq-lost: assertion 1`))
	f.Add([]byte(`error no`))
	f.Fuzz(func(t *testing.T, b []byte) {
		if fl, err := ParseRequest(b); err == nil {
			if err := fl.Validate(); err != nil {
				t.Fatalf("accepted an invalid fault %+v: %v", fl, err)
			}
		}
		if m, err := ParseMessage(b); err == nil {
			if again, err := ParseMessage(m.Encode()); err != nil || again != m {
				t.Fatalf("%q → %+v → %q → %+v %v", b, m, m.Encode(), again, err)
			}
		}
	})
}
