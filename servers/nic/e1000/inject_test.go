//go:build dde

package main

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"grailos/arch/machine/e1000"
	dde "grailos/dde/linux"
	"grailos/dde/linux/fault"
)

// donor returns the e1000 functions of this test binary, by name.
func donor(t *testing.T) ([]fault.Function, map[string]fault.Function) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	_, fns, err := fault.DonorFunctions(exe)
	if err != nil {
		t.Fatal(err)
	}
	by := map[string]fault.Function{}
	for _, f := range fns {
		by[f.Name] = f
	}
	return fns, by
}

// sameMov finds, in the entry region of fn, a register-to-register mov
// stored as 89 /r and returns it with its other encoding (8b /r, the
// ModRM fields and the REX R and B bits swapped): a code fault that
// changes the bytes but not what they do.
func sameMov(t *testing.T, fn fault.Function) (fault.Insn, []byte) {
	t.Helper()
	for _, in := range fault.Region(fn.Code) {
		b := in.Bytes
		if len(b) == 3 && b[0]&0xf0 == 0x40 && b[1] == 0x89 && b[2]>>6 == 3 {
			rex := b[0]&^0x05 | (b[0]&0x04)>>2 | (b[0]&0x01)<<2
			modrm := 0xc0 | (b[2]&7)<<3 | (b[2]>>3)&7
			return in, []byte{rex, 0x8b, modrm}
		}
	}
	t.Skipf("no REX mov reg, reg in the entry of %s", fn.Name)
	return fault.Insn{}, nil
}

func waitFired(t *testing.T, r *rig) string {
	t.Helper()
	select {
	case d := <-r.fired:
		return d
	case <-time.After(5 * time.Second):
		t.Fatal("no fault fired")
	}
	return ""
}

func noneFired(t *testing.T, r *rig) {
	t.Helper()
	select {
	case d := <-r.fired:
		t.Fatalf("fired before the code ran: %s", d)
	default:
	}
}

// A code fault fires when, and only when, the driver reaches the
// instruction: planted as a breakpoint, it becomes the mutated
// instruction at the first transmit, is reported before it runs, and
// stays.
func TestInjectCodeFiresWhenReached(t *testing.T) {
	_, by := donor(t)
	xmit, ok := by["e1000_xmit_frame"]
	if !ok {
		t.Fatal("e1000_xmit_frame is not among the donor's functions")
	}
	in, repl := sameMov(t, xmit)
	r := newRig(t)
	r.up()
	spec := fault.CodeSpec("t1", fault.MutReg, xmit.Addr+uint64(in.Off), in, repl)
	bad := spec
	bad.Orig = strings.Repeat("cc", len(in.Bytes))
	if err := r.rt.Inject(bad); err == nil || !strings.Contains(err.Error(), "is not") {
		t.Errorf("planting over other bytes: %v", err)
	}
	if err := r.rt.Inject(spec); err != nil {
		t.Fatal(err)
	}
	r.rt.RunPending(r.rt.Now())
	noneFired(t, r)
	f := udpLike(ourMAC, peerMAC, 100, 1)
	if err := r.rt.Xmit(f); err != nil {
		t.Fatal(err)
	}
	if d := waitFired(t, r); d != spec.Detail() || fault.FiredID(d) != "t1" {
		t.Errorf("fired %q, want %q", d, spec.Detail())
	}
	// The mutation is in the text now (the same mov): frames still go.
	if err := r.rt.Xmit(udpLike(ourMAC, peerMAC, 100, 2)); err != nil {
		t.Fatal(err)
	}
	noneFired(t, r)
	if n := len(r.wire.frames); n != 2 {
		t.Errorf("%d frames on the wire, want 2", n)
	}
	if err := r.rt.Inject(spec); err == nil {
		t.Error("planting over the already mutated instruction worked")
	}
}

// A kernel-API fault fails exactly the Nth call of its site, counted
// from arming, and names the driver's call site: the second transmit's
// DMA map fails (e1000 drops that frame), the first and third go.
func TestInjectAPIFailsNthCall(t *testing.T) {
	fns, _ := donor(t)
	r := newRig(t)
	r.up()
	if err := r.rt.Inject(fault.Spec{ID: "t2", Class: fault.ClassAPI, Site: "dma-map", Nth: 2}); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if err := r.rt.Xmit(udpLike(ourMAC, peerMAC, 200, i)); err != nil {
			t.Fatal(err)
		}
	}
	d := waitFired(t, r)
	if fault.FiredID(d) != "t2" || !strings.Contains(d, "site=dma-map call=2 ") {
		t.Errorf("fired %q", d)
	}
	var caller uint64
	fmt.Sscanf(d[strings.Index(d, "caller=")+len("caller="):], "%v", &caller)
	if at := fault.Symbolize(fns, caller); !strings.HasPrefix(at, "e1000_") {
		t.Errorf("the failed map was called from %#x (%q), not from the driver", caller, at)
	}
	if calls, failed, armed := r.rt.FaultState("dma-map"); calls != 2 || failed != 1 || armed {
		t.Errorf("dma-map: %d calls, %d failed, armed %v; want 2, 1, false", calls, failed, armed)
	}
	if n := len(r.wire.frames); n != 2 {
		t.Errorf("%d frames on the wire, want 2 (the second dropped)", n)
	}
}

// Wild DMA: the driver is handed a bus address outside the pool for a
// frame to send, writes it into its descriptor, and the device's read of
// it is refused (the machine's IOMMU, here the in-process pool check).
func TestInjectWildDMARefused(t *testing.T) {
	r := newRig(t)
	r.up()
	if err := r.rt.Inject(fault.Spec{ID: "t3", Class: fault.ClassDMA, Site: "tx", Nth: 1}); err != nil {
		t.Fatal(err)
	}
	if err := r.rt.Xmit(udpLike(ourMAC, peerMAC, 300, 1)); err != nil {
		t.Fatal(err)
	}
	if d := waitFired(t, r); !strings.Contains(d, "site=wild-dma-tx") {
		t.Errorf("fired %q", d)
	}
	var refused bool
	for _, e := range r.m.events {
		refused = refused || e.Kind == e1000.EventDMARefused && strings.Contains(e.String(), "outside the DMA pool")
	}
	if !refused || len(r.wire.frames) != 0 {
		t.Errorf("device DMA refused %v, %d frames sent; events %v", refused, len(r.wire.frames), r.m.events)
	}
}

// Triggers: a request_irq failure armed before a reopen makes the
// driver's ndo_open fail (the server then exits, ErrTrigger); an
// allocation failure in probe, armed before a reprobe, is reported.
func TestInjectTriggers(t *testing.T) {
	fns, _ := donor(t)
	r := newRig(t)
	r.up()
	err := r.rt.Inject(fault.Spec{ID: "t4", Class: fault.ClassAPI, Site: "irq", Nth: 1, Trigger: "reopen"})
	if d := waitFired(t, r); !strings.Contains(d, "site=irq call=1") {
		t.Errorf("fired %q", d)
	}
	if !errors.Is(err, dde.ErrTrigger) {
		t.Errorf("reopen with request_irq failing: %v, want ErrTrigger", err)
	}

	r.rt.Stop()
	r2 := newRig2(t)
	err = r2.rt.Inject(fault.Spec{ID: "t5", Class: fault.ClassAPI, Site: "pci-config", Nth: 1, Trigger: "reprobe"})
	d := waitFired(t, r2)
	var caller uint64
	fmt.Sscanf(d[strings.Index(d, "caller=")+len("caller="):], "%v", &caller)
	if at := fault.Symbolize(fns, caller); !strings.Contains(d, "site=pci-config call=1") || !strings.HasPrefix(at, "e1000_probe+") {
		t.Errorf("fired %q (called from %q), want the first configuration read of e1000_probe", d, at)
	}
	t.Logf("reprobe with the first configuration read failing: %v", err)
}

// newRig2 is a second rig in the same test, after the first stopped.
func newRig2(t *testing.T) *rig {
	t.Helper()
	r := newRig(t)
	r.up()
	return r
}

// Watch points report which function entries ran.
func TestInjectWatch(t *testing.T) {
	_, by := donor(t)
	r := newRig(t)
	r.up()
	addrs := []uint64{by["e1000_xmit_frame"].Addr, by["e1000_set_mac"].Addr}
	if n, err := r.rt.Watch(addrs); err != nil || n != 2 {
		t.Fatalf("Watch: %d, %v", n, err)
	}
	if err := r.rt.Xmit(udpLike(ourMAC, peerMAC, 100, 1)); err != nil {
		t.Fatal(err)
	}
	if got := r.rt.WatchHits(); len(got) != 2 || !got[0] || got[1] {
		t.Errorf("hits %v, want [true false] (transmitted, no MAC change)", got)
	}
	if len(r.wire.frames) != 1 {
		t.Errorf("%d frames on the wire, want 1", len(r.wire.frames))
	}
}

// dataWord finds a word of a data-fault target by its member name.
func dataWord(t *testing.T, targets []fault.Target, name string) (fault.Target, fault.Word) {
	t.Helper()
	for _, tg := range targets {
		for _, m := range tg.Members {
			for _, w := range m {
				if w.Name == name {
					return tg, w
				}
			}
		}
	}
	t.Fatalf("no word %s in the debug info", name)
	return fault.Target{}, fault.Word{}
}

// A data fault changes its word at the start of the Nth loop turn after
// arming, reports structure, offset, old and new value first, and is
// checked against the structure when armed: another size, a pointer
// that does not lead into live memory, or an old value that is not there
// are refused. The structures come from the test binary's debug info.
func TestInjectData(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	targets, err := fault.DataTargets(exe, "e1000")
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	for _, tg := range targets {
		types = append(types, tg.Type)
	}
	if want := []string{"net_device", "e1000_adapter", "e1000_tx_ring", "e1000_rx_ring"}; !slices.Equal(types, want) {
		t.Errorf("data targets %v, want %v", types, want)
	}
	r := newRig(t)
	r.up()
	priv, w := dataWord(t, targets, "e1000_adapter.tx_timeout_count")
	zero, v, other := uint64(0), uint64(0x1234), uint64(0x99)
	spec := fault.Spec{ID: "t6", Class: fault.ClassData, Site: "field", Nth: 2, Data: &fault.Data{Struct: fault.StructPriv,
		Size: priv.Size, Off: w.Off, Width: w.Width, Op: fault.OpSet, Val: v, Old: &zero, Name: w.Name}}
	for _, bad := range []struct {
		change func(d *fault.Data)
		want   string
	}{
		{func(d *fault.Data) { d.Size += 8 }, "another binary"},
		{func(d *fault.Data) { d.Old = &other }, "does not hold"},
		{func(d *fault.Data) { d.Struct = fault.StructNetdev }, "another binary"},
	} {
		s := spec
		d := *spec.Data
		bad.change(&d)
		s.Data = &d
		if err := r.rt.Inject(s); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("%+v: %v, want an error about %q", d, err, bad.want)
		}
	}
	if err := r.rt.Inject(spec); err != nil {
		t.Fatal(err)
	}
	r.rt.RunPending(r.rt.Now()) // turn 1
	noneFired(t, r)
	r.rt.RunPending(r.rt.Now()) // turn 2
	want := fmt.Sprintf("id=t6 class=data site=field struct=priv off=%#x width=4 set=0x1234 old=0x0 new=0x1234 field=e1000_adapter.tx_timeout_count", w.Off)
	if d := waitFired(t, r); d != want {
		t.Errorf("fired %q, want %q", d, want)
	}
	// The word holds the new value now: a fault expecting it arms, and
	// fires at the next turn.
	again := spec
	again.ID, again.Nth, again.Data = "t7", 1, &fault.Data{Struct: fault.StructPriv, Size: priv.Size, Off: w.Off,
		Width: w.Width, Op: fault.OpXor, Val: 0x1000, Old: &v}
	if err := r.rt.Inject(again); err != nil {
		t.Fatal(err)
	}
	r.rt.RunPending(r.rt.Now())
	if d := waitFired(t, r); !strings.HasSuffix(d, fmt.Sprintf("off=%#x width=4 xor=0x1000 old=0x1234 new=0x234", w.Off)) {
		t.Errorf("fired %q", d)
	}
	// Through a pointer: the transmit ring's bookkeeping (kcalloc'd),
	// a pointer word in it; armed far ahead, it stays armed.
	ring, desc := dataWord(t, targets, "e1000_adapter.tx_ring->desc")
	ptr := fault.Spec{ID: "t8", Class: fault.ClassData, Site: "pointer", Nth: 1 << 20, Data: &fault.Data{Struct: fault.StructPriv,
		Via: ring.Via, Size: ring.Size, Off: desc.Off, Width: 8, Op: fault.OpSet, Val: 0}}
	bigger := ptr
	bigger.Data = &fault.Data{Struct: fault.StructPriv, Via: ring.Via, Size: 4096, Off: desc.Off, Width: 8, Op: fault.OpSet}
	if err := r.rt.Inject(bigger); err == nil || !strings.Contains(err.Error(), "live allocation") {
		t.Errorf("a 4096-byte structure behind tx_ring: %v", err)
	}
	if err := r.rt.Inject(ptr); err != nil {
		t.Fatal(err)
	}
	if err := r.rt.Inject(ptr); err == nil || !strings.Contains(err.Error(), "already armed") {
		t.Errorf("a second data fault: %v", err)
	}
	if err := r.rt.Xmit(udpLike(ourMAC, peerMAC, 100, 1)); err != nil || len(r.wire.frames) != 1 {
		t.Errorf("transmit with a data fault armed far ahead: %v, %d frames", err, len(r.wire.frames))
	}
	noneFired(t, r)
}
