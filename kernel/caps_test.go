package kernel

import (
	"errors"
	"testing"

	"grailos/kernel/abi"
)

func newTestTask(name string) *Task {
	return &Task{name: name, caps: newCapTable(), serving: map[uint64]*pending{}}
}

func TestCapLookupErrors(t *testing.T) {
	k := &Kernel{tokens: map[uint64]*pending{}}
	a := newTestTask("a")
	ep := &object{typ: abi.ObjEndpoint, ep: &endpoint{}}
	c := newRootCap(ep, abi.RightCall|abi.RightGrant)
	h, err := a.caps.insert(a, c)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		h    abi.Handle
		typ  abi.ObjectType
		need abi.Rights
		want abi.Status
	}{
		{"ok", h, abi.ObjEndpoint, abi.RightCall, abi.OK},
		{"null", 0, abi.ObjNone, 0, abi.ErrInvalidCap},
		{"index beyond table", abi.MakeHandle(500, 1), abi.ObjNone, 0, abi.ErrInvalidCap},
		{"forged generation", abi.MakeHandle(h.Index(), h.Gen()+1), abi.ObjNone, 0, abi.ErrInvalidCap},
		{"wrong type", h, abi.ObjMemory, 0, abi.ErrWrongType},
		{"missing right", h, abi.ObjEndpoint, abi.RightReceive, abi.ErrRights},
	}
	for _, tc := range tests {
		_, err := a.caps.lookup(tc.h, tc.typ, tc.need)
		if got := statusOf(err); err == nil && tc.want != abi.OK || err != nil && got != tc.want {
			t.Errorf("%s: got %v, want %v", tc.name, err, tc.want)
		}
	}
	k.deleteCap(c)
	if _, err := a.caps.lookup(h, abi.ObjNone, 0); !errors.Is(err, abi.ErrStaleCap) {
		t.Errorf("after delete: %v, want stale", err)
	}
	// The slot is reused with a new generation; the old handle stays stale.
	c2 := newRootCap(ep, abi.RightCall)
	h2, _ := a.caps.insert(a, c2)
	if h2.Index() != h.Index() || h2.Gen() == h.Gen() {
		t.Fatalf("slot reuse: %#x then %#x", uint32(h), uint32(h2))
	}
	if _, err := a.caps.lookup(h, abi.ObjNone, 0); !errors.Is(err, abi.ErrStaleCap) {
		t.Errorf("old handle after reuse: %v, want stale", err)
	}
}

func TestDeriveRevokeDestroy(t *testing.T) {
	k := &Kernel{tokens: map[uint64]*pending{}}
	a, b := newTestTask("a"), newTestTask("b")
	o := &object{typ: abi.ObjEndpoint, ep: &endpoint{}}
	root := newRootCap(o, abi.RightCall|abi.RightReceive|abi.RightGrant)
	a.caps.insert(a, root)
	child, err := derive(root, abi.RightCall|abi.RightGrant, 7)
	if err != nil {
		t.Fatal(err)
	}
	if child.rights != abi.RightCall|abi.RightGrant || child.badge != 7 {
		t.Fatalf("child rights %v badge %d", child.rights, child.badge)
	}
	b.caps.insert(b, child)
	grand, _ := derive(child, abi.RightsAll, 0)
	if grand.rights != abi.RightCall|abi.RightGrant || grand.badge != 7 {
		t.Fatalf("grandchild widened rights to %v or lost the badge (%d)", grand.rights, grand.badge)
	}
	if _, err := derive(child, abi.RightCall, 9); !errors.Is(err, abi.ErrDenied) {
		t.Fatalf("rebadging: %v", err)
	}
	b.caps.insert(b, grand)
	if o.refs != 3 {
		t.Fatalf("refs %d, want 3", o.refs)
	}
	// Deleting the middle moves the grandchild up to the root.
	k.deleteCap(child)
	if grand.parent != root {
		t.Fatal("grandchild not re-parented")
	}
	if n := k.revoke(root); n != 1 {
		t.Fatalf("revoke deleted %d, want 1", n)
	}
	if b.caps.n != 0 || a.caps.n != 1 {
		t.Fatalf("tables after revoke: a %d b %d", a.caps.n, b.caps.n)
	}
	if o.refs != 1 {
		t.Fatalf("refs %d, want 1", o.refs)
	}
	k.deleteCap(root)
	if o.refs != 0 {
		t.Fatalf("refs %d after last delete", o.refs)
	}
}

func TestCapTableQuota(t *testing.T) {
	a := newTestTask("a")
	o := &object{typ: abi.ObjNotification}
	for i := 0; i < maxCaps; i++ {
		if _, err := a.caps.insert(a, newRootCap(o, abi.RightSignal)); err != nil {
			t.Fatalf("insert %d: %v", i, err)
		}
	}
	if _, err := a.caps.insert(a, newRootCap(o, abi.RightSignal)); !errors.Is(err, abi.ErrQuota) {
		t.Fatalf("insert past the limit: %v", err)
	}
}

func TestListenerClearedWhenItsCapGoes(t *testing.T) {
	k := &Kernel{tokens: map[uint64]*pending{}}
	srv, cli := newTestTask("srv"), newTestTask("cli")
	cli.out = make(chan outMsg, 16)
	srv.out = make(chan outMsg, 16)
	o := &object{typ: abi.ObjEndpoint, ep: &endpoint{}}
	root := newRootCap(o, abi.RightCall|abi.RightReceive|abi.RightGrant)
	hs, _ := srv.caps.insert(srv, root)
	cc, _ := derive(root, abi.RightCall, 0)
	hc, _ := cli.caps.insert(cli, cc)
	if err := k.listen(srv, hs); err != nil {
		t.Fatal(err)
	}
	// A call is delivered; the server then loses its capability (dies):
	// the caller gets "peer died", and later calls queue.
	if err := k.call(cli, &abi.Message{Header: abi.Header{Op: abi.OpCall, Cap: hc, Seq: 5}}); err != nil {
		t.Fatal(err)
	}
	if got := (<-srv.out).m; got.Op != abi.OpRequest {
		t.Fatalf("server got %v", got.Op)
	}
	for _, p := range srv.serving {
		k.failCall(p, abi.Errorf(abi.ErrPeerDied, "srv died"))
	}
	k.deleteCap(root)
	if o.ep.listener != nil {
		t.Fatal("listener kept after its capability went")
	}
	if got := (<-cli.out).m; got.Op != abi.OpResult || got.Seq != 5 || got.Status != abi.ErrPeerDied {
		t.Fatalf("caller got %v seq %d status %v", got.Op, got.Seq, got.Status)
	}
	if err := k.call(cli, &abi.Message{Header: abi.Header{Op: abi.OpCall, Cap: hc, Seq: 6}}); err != nil {
		t.Fatal(err)
	}
	if len(o.ep.queue) != 1 {
		t.Fatalf("queue %d, want 1", len(o.ep.queue))
	}
}
