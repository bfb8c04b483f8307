package kernel

import (
	"os"

	"golang.org/x/sys/unix"

	"grailos/kernel/abi"
	"grailos/kernel/shm"
)

// maxQueued bounds the calls an endpoint holds while it has no listener
// (e.g. while its server restarts).
const maxQueued = 256

// endpoint is a synchronous call/reply rendezvous.
type endpoint struct {
	id       uint64
	listener *Task
	lhandle  abi.Handle // the listener's handle for this endpoint
	queue    []*pending // calls waiting for a listener
}

// pending is a call between its arrival and its reply.
type pending struct {
	token     uint64
	caller    *Task
	callerSeq uint32
	ep        *endpoint
	server    *Task // set when delivered
	badge     uint64
	payload   []byte
	caps      []*capability // in transit: owner nil until delivered
}

// memory is a shared memory object: a sealed memfd.
type memory struct {
	f    *os.File
	size int
	by   *Task // charged to this task's quota
}

// notification is an eventfd-backed signal; IRQ objects use it too.
type notification struct{ fd int }

// device is a machine device handed to the kernel at boot: a description
// (opaque to the kernel) and the descriptors a driver needs, e.g. its access
// channel and DMA pool. They belong to the machine; the kernel only passes
// duplicates on.
type device struct {
	name  string
	info  []byte
	files []*os.File
}

func newMemory(by *Task, size int) (*object, error) {
	f, err := shm.Create("grail-mem", size)
	if err != nil {
		return nil, abi.Errorf(abi.ErrQuota, "creating %d bytes of shared memory: %v", size, err)
	}
	return &object{typ: abi.ObjMemory, mem: &memory{f: f, size: size, by: by}}, nil
}

func newNotification() (*object, error) {
	fd, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		return nil, abi.Errorf(abi.ErrQuota, "eventfd: %v", err)
	}
	return &object{typ: abi.ObjNotification, ntf: &notification{fd: fd}}, nil
}

// destroy releases what a dead object holds. Called with k.mu held when its
// last capability goes.
func (k *Kernel) destroy(o *object) {
	switch o.typ {
	case abi.ObjMemory:
		o.mem.f.Close()
		if o.mem.by != nil {
			o.mem.by.memBytes -= int64(o.mem.size)
		}
	case abi.ObjNotification:
		unix.Close(o.ntf.fd)
	case abi.ObjIRQ, abi.ObjDevice:
		// Machine-owned: the kernel's copies live as long as the kernel.
	case abi.ObjEndpoint:
		for _, p := range o.ep.queue {
			k.failCall(p, abi.Errorf(abi.ErrClosed, "endpoint destroyed"))
		}
		o.ep.queue = nil
	}
}
