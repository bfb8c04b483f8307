package kernel

import (
	"fmt"

	"grailos/kernel/abi"
)

// transfer validates the capability slots of a message from t and derives
// in-transit copies with the requested rights. Each source must carry
// RightGrant; the copy has at most the source's rights.
func (k *Kernel) transfer(t *Task, refs []abi.CapRef) ([]*capability, error) {
	var out []*capability
	for i, r := range refs {
		c, err := t.caps.lookup(r.Handle, abi.ObjNone, abi.RightGrant)
		if err == nil && r.Rights&^c.rights != 0 {
			err = abi.Errorf(abi.ErrRights, "capability slot %d asks for %v but the handle has only %v", i, r.Rights, c.rights)
		}
		var d *capability
		if err == nil {
			d, err = derive(c, r.Rights, 0)
		}
		if err != nil {
			k.dropTransit(out)
			return nil, err
		}
		out = append(out, d)
	}
	return out, nil
}

// dropTransit releases in-transit capabilities that will not be delivered.
func (k *Kernel) dropTransit(cs []*capability) {
	for _, c := range cs {
		if !c.dead {
			k.deleteCap(c)
		}
	}
}

// land inserts in-transit capabilities into t's table and returns the
// message slots naming them there. Capabilities revoked in transit, or that
// do not fit, are dropped: the slot then holds handle 0.
func (k *Kernel) land(t *Task, cs []*capability) []abi.CapRef {
	var refs []abi.CapRef
	for _, c := range cs {
		if c.dead {
			refs = append(refs, abi.CapRef{})
			continue
		}
		h, err := t.caps.insert(t, c)
		if err != nil {
			k.deleteCap(c)
			refs = append(refs, abi.CapRef{})
			continue
		}
		refs = append(refs, abi.CapRef{Handle: h, Rights: c.rights})
	}
	return refs
}

// call starts a call from t on an endpoint.
func (k *Kernel) call(t *Task, m *abi.Message) error {
	c, err := t.caps.lookup(m.Cap, abi.ObjEndpoint, abi.RightCall)
	if err != nil {
		return err
	}
	ep := c.obj.ep
	if ep.listener == nil && len(ep.queue) >= maxQueued {
		return abi.Errorf(abi.ErrBusy, "endpoint has %d calls waiting for its server", len(ep.queue))
	}
	caps, err := k.transfer(t, m.Caps)
	if err != nil {
		return err
	}
	k.nextToken++
	p := &pending{token: k.nextToken, caller: t, callerSeq: m.Seq, ep: ep, badge: c.badge,
		payload: append([]byte(nil), m.Payload...), caps: caps}
	k.tokens[p.token] = p
	if ep.listener != nil {
		k.deliver(ep.listener, ep.lhandle, p)
	} else {
		ep.queue = append(ep.queue, p)
	}
	return nil
}

// deliver hands p to server s, which knows the endpoint as h.
func (k *Kernel) deliver(s *Task, h abi.Handle, p *pending) {
	p.server = s
	s.serving[p.token] = p
	refs := k.land(s, p.caps)
	p.caps = nil
	k.send(s, abi.Message{Header: abi.Header{Op: abi.OpRequest, Cap: h, Arg0: p.token, Arg1: p.badge},
		Caps: refs, Payload: p.payload})
	p.payload = nil
}

// listen makes t the receiver of an endpoint and delivers queued calls.
func (k *Kernel) listen(t *Task, h abi.Handle) error {
	c, err := t.caps.lookup(h, abi.ObjEndpoint, abi.RightReceive)
	if err != nil {
		return err
	}
	ep := c.obj.ep
	if ep.listener != nil && ep.listener != t {
		return abi.Errorf(abi.ErrDenied, "endpoint already has a listener (%s)", ep.listener.name)
	}
	ep.listener, ep.lhandle = t, h
	q := ep.queue
	ep.queue = nil
	for _, p := range q {
		k.deliver(t, h, p)
	}
	return nil
}

// reply answers a call t is serving.
func (k *Kernel) reply(t *Task, m *abi.Message) error {
	p, ok := t.serving[m.Arg0]
	if !ok {
		return abi.Errorf(abi.ErrBadRequest, "reply token %d names no call %s is serving", m.Arg0, t.name)
	}
	caps, err := k.transfer(t, m.Caps)
	if err != nil {
		// The call still ends: the caller learns the reply was refused.
		delete(t.serving, p.token)
		k.failCall(p, abi.Errorf(statusOf(err), "the server's reply was refused: %v", err))
		return err
	}
	delete(t.serving, p.token)
	delete(k.tokens, p.token)
	if p.caller == nil || p.caller.exited {
		k.dropTransit(caps)
		return nil
	}
	refs := k.land(p.caller, caps)
	k.send(p.caller, abi.Message{Header: abi.Header{Op: abi.OpResult, Seq: p.callerSeq, Status: m.Status, Arg1: m.Arg1},
		Caps: refs, Payload: m.Payload})
	return nil
}

// failCall ends p with an error for its caller.
func (k *Kernel) failCall(p *pending, err error) {
	delete(k.tokens, p.token)
	k.dropTransit(p.caps)
	p.caps = nil
	if p.server != nil && p.server.serving != nil {
		delete(p.server.serving, p.token)
	}
	if p.caller != nil && !p.caller.exited {
		k.send(p.caller, abi.Message{Header: abi.Header{Op: abi.OpResult, Seq: p.callerSeq, Status: statusOf(err)},
			Payload: []byte(detailOf(err))})
	}
}

// opSpawn handles a spawn request.
func (k *Kernel) opSpawn(t *Task, m *abi.Message) {
	res := abi.Message{Header: abi.Header{Op: abi.OpResult, Seq: m.Seq}}
	fail := func(err error) {
		res.Status, res.Payload = statusOf(err), []byte(detailOf(err))
		k.mu.Lock()
		k.send(t, res)
		k.mu.Unlock()
	}
	k.mu.Lock()
	_, err := t.caps.lookup(m.Cap, abi.ObjSpawner, abi.RightSpawn)
	var spec *abi.SpawnSpec
	if err == nil {
		spec, err = abi.DecodeSpawnSpec(m.Payload)
	}
	if err == nil && len(spec.CapNames) != len(m.Caps) {
		err = abi.Errorf(abi.ErrBadRequest, "%d capability names for %d capabilities", len(spec.CapNames), len(m.Caps))
	}
	var caps []*capability
	if err == nil {
		caps, err = k.transfer(t, m.Caps)
	}
	k.mu.Unlock()
	if err != nil {
		fail(err)
		return
	}
	named := make([]namedCap, len(caps))
	for i, c := range caps {
		if err := abi.CheckName(spec.CapNames[i]); err != nil {
			k.mu.Lock()
			k.dropTransit(caps)
			k.mu.Unlock()
			fail(abi.Errorf(abi.ErrBadRequest, "capability %v", err))
			return
		}
		named[i] = namedCap{spec.CapNames[i], c}
	}
	child, start, err := k.spawn(t, spec, named)
	if err != nil {
		k.mu.Lock()
		k.dropTransit(caps)
		k.mu.Unlock()
		fail(err)
		return
	}
	k.mu.Lock()
	res.Arg0 = uint64(child.phandle)
	res.Arg1 = uint64(child.proc.Pid)
	k.send(t, res)
	k.mu.Unlock()
	start()
}

// trace records an event a task reports.
//
// Only the root task (init, the supervisor) may write events about another
// task; anyone else's events are about itself. A stamp from the future is
// clamped to now (a task cannot reorder the log past the present).
func (k *Kernel) trace(t *Task, tr *abi.Trace, mono int64) {
	subject := tr.Subject
	if subject == "" || t != k.root {
		subject = t.name
	}
	if now := Monotonic(); mono > now || mono <= 0 {
		mono = now
	}
	k.events.AddAt(mono, t.name, subject, tr.Kind, tr.Detail)
	switch tr.Kind {
	case "gave-up", "escalate":
		k.status[subject] = fmt.Sprintf("%s: %s", tr.Kind, tr.Detail)
	case "spawning", "restarting":
		delete(k.status, subject)
	}
}
