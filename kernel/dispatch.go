package kernel

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"

	"grailos/kernel/abi"
	"grailos/kernel/shm"
)

// maxMemory bounds one Memory object.
const maxMemory = 1 << 30

// dispatch handles one message from t. Every field of m came from the task
// and is checked before use.
func (k *Kernel) dispatch(t *Task, m *abi.Message) {
	if m.Op == abi.OpSpawn {
		k.opSpawn(t, m) // takes the lock itself: starting a process is slow
		return
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if t.exited {
		return
	}
	var err error
	res := abi.Message{Header: abi.Header{Op: abi.OpResult, Seq: m.Seq}}
	var fds []*os.File
	switch m.Op {
	case abi.OpCall:
		if err = k.call(t, m); err == nil {
			return // the result comes with the reply
		}
	case abi.OpReply:
		err = k.reply(t, m)
		if err == nil {
			return // replies are not acknowledged
		}
		k.events.Add("kernel", t.name, "bad-reply", err.Error())
		return
	case abi.OpListen:
		err = k.listen(t, m.Cap)
	case abi.OpMint:
		var c, d *capability
		if c, err = t.caps.lookup(m.Cap, abi.ObjNone, 0); err == nil {
			if d, err = derive(c, abi.Rights(m.Arg0), m.Arg1); err == nil {
				res.Arg0, err = k.insertOrDrop(t, d)
				res.Arg1 = uint64(d.rights)
			}
		}
	case abi.OpDelete:
		var c *capability
		if c, err = t.caps.lookup(m.Cap, abi.ObjNone, 0); err == nil {
			k.deleteCap(c)
		}
	case abi.OpRevoke:
		var c *capability
		if c, err = t.caps.lookup(m.Cap, abi.ObjNone, 0); err == nil {
			res.Arg0 = uint64(k.revoke(c))
		}
	case abi.OpNewEndpoint:
		k.nextEP++
		o := &object{typ: abi.ObjEndpoint, ep: &endpoint{id: k.nextEP}}
		res.Arg0, err = k.insertOrDrop(t, newRootCap(o, abi.RightCall|abi.RightReceive|abi.RightGrant))
	case abi.OpNewMemory:
		size := m.Arg0
		limit := int64(t.spec.MemoryBytes)
		switch {
		case size == 0 || size > maxMemory:
			err = abi.Errorf(abi.ErrBadRequest, "memory size %d not in 1..%d", size, maxMemory)
		case limit > 0 && t.memBytes+int64(size) > limit:
			err = abi.Errorf(abi.ErrQuota, "%d bytes of shared memory would exceed the task's %d-byte limit", t.memBytes+int64(size), limit)
		default:
			var o *object
			if o, err = newMemory(t, int(size)); err == nil {
				t.memBytes += int64(o.mem.size)
				res.Arg0, err = k.insertOrDrop(t, newRootCap(o, abi.RightRead|abi.RightWrite|abi.RightGrant))
				res.Arg1 = uint64(o.mem.size)
			}
		}
	case abi.OpNewNotification:
		var o *object
		if o, err = newNotification(); err == nil {
			res.Arg0, err = k.insertOrDrop(t, newRootCap(o, abi.RightSignal|abi.RightWait|abi.RightGrant))
		}
	case abi.OpMemoryFD:
		var c *capability
		if c, err = t.caps.lookup(m.Cap, abi.ObjMemory, abi.RightRead); err == nil {
			var f *os.File
			if c.rights&abi.RightWrite != 0 {
				f, err = dupFile(c.obj.mem.f)
			} else {
				f, err = shm.ReadOnly(c.obj.mem.f)
			}
			if err == nil {
				fds = append(fds, f)
				res.Arg0 = uint64(c.obj.mem.size)
				res.Arg1 = uint64(c.rights)
			}
		}
	case abi.OpNotifyFD:
		var c *capability
		c, err = t.caps.lookup(m.Cap, abi.ObjNone, abi.RightWait)
		if err == nil && c.obj.typ != abi.ObjNotification && c.obj.typ != abi.ObjIRQ {
			err = abi.Errorf(abi.ErrWrongType, "a %v capability has no descriptor to wait on", c.obj.typ)
		}
		if err == nil {
			var nfd int
			if nfd, err = unix.Dup(c.obj.ntf.fd); err == nil {
				unix.CloseOnExec(nfd)
				fds = append(fds, os.NewFile(uintptr(nfd), "notification"))
			}
		}
	case abi.OpSignal:
		var c *capability
		if c, err = t.caps.lookup(m.Cap, abi.ObjNotification, abi.RightSignal); err == nil {
			var one = [8]byte{1}
			unix.Write(c.obj.ntf.fd, one[:])
		}
	case abi.OpKill:
		var c *capability
		if c, err = t.caps.lookup(m.Cap, abi.ObjTask, abi.RightControl); err == nil {
			k.kill(c.obj.task, "killed by "+t.name)
		}
	case abi.OpTrace:
		var tr *abi.Trace
		if tr, err = abi.DecodeTrace(m.Payload); err == nil {
			k.trace(t, tr, int64(m.Arg0))
		}
	case abi.OpReady:
		if !t.ready {
			t.ready = true
			k.events.Add("kernel", t.name, "ready", "")
			if k.wantsSpare(t.name) && !k.stopping {
				k.spareWG.Add(1)
				go func() {
					defer k.spareWG.Done()
					k.prepareSpare(t.spec)
				}()
			}
			if t.parent != nil {
				k.send(t.parent, abi.Message{Header: abi.Header{Op: abi.OpEvent, Cap: t.phandle, Arg0: uint64(abi.EventReady)}, Payload: []byte(t.name)})
			}
		}
	case abi.OpDeviceOpen:
		var c *capability
		if c, err = t.caps.lookup(m.Cap, abi.ObjDevice, abi.RightRead|abi.RightWrite); err == nil {
			for _, f := range c.obj.dev.files {
				var d *os.File
				if d, err = dupFile(f); err != nil {
					break
				}
				fds = append(fds, d)
			}
			res.Payload = c.obj.dev.info
		}
	case abi.OpInspect:
		var c *capability
		if c, err = t.caps.lookup(m.Cap, abi.ObjNone, 0); err == nil {
			res.Arg0, res.Arg1 = uint64(c.obj.typ), uint64(c.rights)
			res.Payload = []byte(c.obj.typ.String())
		}
	default:
		err = abi.Errorf(abi.ErrBadRequest, "%v is not a request a task may send", m.Op)
	}
	if err != nil {
		res.Status, res.Payload = statusOf(err), []byte(detailOf(err))
		res.Arg0, res.Arg1 = 0, 0
		for _, f := range fds {
			f.Close()
		}
		fds = nil
	}
	k.send(t, res, fds...)
}

// insertOrDrop puts c into t's table, releasing it if the table is full.
func (k *Kernel) insertOrDrop(t *Task, c *capability) (uint64, error) {
	h, err := t.caps.insert(t, c)
	if err != nil {
		k.deleteCap(c)
		return 0, err
	}
	return uint64(h), nil
}

// statusOf maps an error to the status code sent to the task.
func statusOf(err error) abi.Status {
	var se *abi.StatusError
	if errors.As(err, &se) {
		return se.Status
	}
	var s abi.Status
	if errors.As(err, &s) {
		return s
	}
	return abi.ErrBadRequest
}

// detailOf is the text sent with an error status: the detail without the
// status text, which the task side puts back in front.
func detailOf(err error) string {
	var se *abi.StatusError
	if errors.As(err, &se) {
		return se.Detail
	}
	return err.Error()
}

func dupFile(f *os.File) (*os.File, error) {
	fd, err := unix.FcntlInt(f.Fd(), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	return os.NewFile(uintptr(fd), f.Name()), nil
}

// deleteCap removes c from its owner's table (if any) and from the derivation
// tree; its children move up to c's parent. The object dies with its last
// capability. Called with k.mu held.
func (k *Kernel) deleteCap(c *capability) {
	if c.dead {
		return
	}
	c.dead = true
	if c.owner != nil {
		c.owner.caps.remove(c)
		if c.obj.typ == abi.ObjEndpoint && c.obj.ep.listener == c.owner && c.obj.ep.lhandle == c.handle {
			c.obj.ep.listener = nil
		}
		c.owner = nil
	}
	if c.parent != nil {
		delete(c.parent.children, c)
	}
	for ch := range c.children {
		ch.parent = c.parent
		if c.parent != nil {
			if c.parent.children == nil {
				c.parent.children = map[*capability]struct{}{}
			}
			c.parent.children[ch] = struct{}{}
		}
	}
	c.children = nil
	c.parent = nil
	c.obj.refs--
	if c.obj.refs == 0 {
		k.destroy(c.obj)
	}
}

// revoke deletes every capability derived from c, in every task; c stays.
// It returns how many were deleted.
func (k *Kernel) revoke(c *capability) int {
	n := 0
	for len(c.children) > 0 {
		for ch := range c.children {
			n += k.revoke(ch)
			k.deleteCap(ch)
			n++
			break
		}
	}
	return n
}
