//go:build dde

package linux

/*
#cgo CFLAGS: -I${SRCDIR}/runtime
#include <stdlib.h>
#include "api.h"

int dde_inject_init(int fired, int ack);
int dde_inject_code(unsigned long addr, const unsigned char *orig, const unsigned char *repl, int len, const char *detail);
int dde_inject_watch(const unsigned long *addrs, int n);
int dde_inject_watch_hits(unsigned char *hits, int n);

typedef int (*dde_init_fn)(void);
typedef void (*dde_exit_fn)(void);
*/
import "C"

import (
	"errors"
	"fmt"
	"os"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"

	"grailos/dde/linux/fault"
)

// injector is the host side of inject.c's report pipes: a fault that
// fires writes its detail line to fired and waits for a byte on ack.
type injector struct {
	fired *os.File // read end (Go)
	ack   *os.File // write end (Go)
	cEnds [2]int   // the C ends: fired's write end, ack's read end
	done  chan struct{}
}

// startInjector makes the pipes, hands their C ends to inject.c and
// serves reports until stopInjector.
func (r *Runtime) startInjector() error {
	var f, a [2]int
	if err := unix.Pipe2(f[:], unix.O_CLOEXEC); err != nil {
		return fmt.Errorf("dde: injector pipe: %w", err)
	}
	if err := unix.Pipe2(a[:], unix.O_CLOEXEC); err != nil {
		unix.Close(f[0])
		unix.Close(f[1])
		return fmt.Errorf("dde: injector pipe: %w", err)
	}
	// Go's ends go through the poller: non-blocking.
	unix.SetNonblock(f[0], true)
	unix.SetNonblock(a[1], true)
	in := &injector{fired: os.NewFile(uintptr(f[0]), "dde-fired"), ack: os.NewFile(uintptr(a[1]), "dde-ack"),
		cEnds: [2]int{f[1], a[0]}, done: make(chan struct{})}
	if rc := C.dde_inject_init(C.int(f[1]), C.int(a[0])); rc != 0 {
		in.close()
		return fmt.Errorf("dde: installing the SIGTRAP handler: %w", syscall.Errno(-rc))
	}
	r.inj = in
	go in.serve(r.cfg)
	return nil
}

func (in *injector) serve(cfg Config) {
	defer close(in.done)
	buf := make([]byte, 1024)
	for {
		n, err := in.fired.Read(buf)
		if err != nil {
			return
		}
		detail := string(buf[:n])
		if cfg.Fired != nil {
			cfg.Fired(detail)
		} else {
			cfg.Log("dde: fault fired: " + detail)
		}
		in.ack.Write([]byte{1})
	}
}

func (in *injector) close() {
	C.dde_inject_init(-1, -1)
	in.fired.Close()
	in.ack.Close()
	unix.Close(in.cEnds[0])
	unix.Close(in.cEnds[1])
}

// stopInjector closes the pipes (after the DDE thread ended).
func (r *Runtime) stopInjector() {
	if r.inj != nil {
		r.inj.close()
		<-r.inj.done
		r.inj = nil
	}
}

var apiSites = map[string]C.int{"alloc": C.DDE_FAULT_ALLOC, "dma-map": C.DDE_FAULT_DMA_MAP,
	"dma-alloc": C.DDE_FAULT_DMA_ALLOC, "irq": C.DDE_FAULT_IRQ, "timer": C.DDE_FAULT_TIMER,
	"pci-config": C.DDE_FAULT_PCI_CONFIG}

var dmaSites = map[string]C.int{"tx": C.DDE_FAULT_WILD_DMA_TX, "rx": C.DDE_FAULT_WILD_DMA_RX}

// cInject carries out s on the DDE thread.
func (r *Runtime) cInject(s fault.Spec) error {
	switch s.Class {
	case fault.ClassCode, fault.ClassHang:
		orig, repl := s.Bytes()
		detail := C.CString(s.Detail())
		defer C.free(unsafe.Pointer(detail))
		co, cr := C.CBytes(orig), C.CBytes(repl)
		defer C.free(co)
		defer C.free(cr)
		switch rc := C.dde_inject_code(C.ulong(s.Addr), (*C.uchar)(co), (*C.uchar)(cr), C.int(len(orig)), detail); rc {
		case 0:
			return nil
		case -C.int(syscall.EILSEQ):
			return fmt.Errorf("dde: the text at %#x is not %s: another binary?", s.Addr, s.Orig)
		case -C.int(syscall.EEXIST):
			return errors.New("dde: a code fault is already planted")
		default:
			return fmt.Errorf("dde: planting at %#x: %w", s.Addr, syscall.Errno(-rc))
		}
	case fault.ClassAPI, fault.ClassDMA:
		site, ok := apiSites[s.Site]
		if s.Class == fault.ClassDMA {
			site, ok = dmaSites[s.Site]
		}
		if !ok {
			return fmt.Errorf("dde: unknown %s site %q", s.Class, s.Site)
		}
		id := C.CString(s.ID)
		defer C.free(unsafe.Pointer(id))
		if err := errno(C.dde_fault_arm(site, C.ulong(s.Nth), C.ulong(s.Calls()), id)); err != nil {
			return err
		}
		switch s.Trigger {
		case "reopen":
			if err := errno(C.dde_net_reopen()); err != nil {
				return fmt.Errorf("%w: %w", ErrTrigger, err)
			}
		case "reprobe":
			if err := errno(C.dde_reprobe(C.dde_init_fn(r.cfg.Module.Init), C.dde_exit_fn(r.cfg.Module.Exit))); err != nil {
				return fmt.Errorf("%w: %w", ErrTrigger, err)
			}
		}
		return nil
	case fault.ClassData:
		return cInjectData(s)
	}
	return fmt.Errorf("dde: unknown fault class %q", s.Class)
}

var dataOps = map[string]C.int{fault.OpXor: C.DDE_DATA_XOR, fault.OpSet: C.DDE_DATA_SET, fault.OpAdd: C.DDE_DATA_ADD}

// cInjectData arms a data fault (s is valid): it fires at the start of
// loop turn s.Nth from now.
func cInjectData(s fault.Spec) error {
	d := s.Data
	f := C.struct_dde_data_fault{structure: C.DDE_DATA_NETDEV, via: -1, size: C.ulong(d.Size), off: C.ulong(d.Off),
		width: C.int(d.Width), op: dataOps[d.Op], val: C.ulonglong(d.Val), nth: C.ulong(s.Nth)}
	if d.Struct == fault.StructPriv {
		f.structure = C.DDE_DATA_PRIV
	}
	if d.Via != nil {
		f.via = C.long(*d.Via)
	}
	if s.Site == "pointer" {
		f.pointer = 1
	}
	if d.Old != nil {
		f.check_old, f.old = 1, C.ulonglong(*d.Old)
	}
	id, name := C.CString(s.ID), C.CString(d.Name)
	defer C.free(unsafe.Pointer(id))
	defer C.free(unsafe.Pointer(name))
	switch rc := C.dde_fault_data_arm(&f, id, name); rc {
	case 0:
		return nil
	case -C.int(syscall.ENODEV):
		return errors.New("dde: no interface (or no private area) to corrupt")
	case -C.int(syscall.EMSGSIZE):
		return fmt.Errorf("dde: %s is not %d bytes here: another binary?", d.Struct, d.Size)
	case -C.int(syscall.ERANGE):
		return fmt.Errorf("dde: %s is outside the structure", d.Where())
	case -C.int(syscall.EFAULT):
		return fmt.Errorf("dde: the pointer at %s+%#x does not lead into a live allocation of %d bytes", d.Struct, *d.Via, d.Size)
	case -C.int(syscall.EILSEQ):
		return fmt.Errorf("dde: %s does not hold what the fault expects (a pointer, or its old value)", d.Where())
	case -C.int(syscall.EEXIST):
		return errors.New("dde: a data fault is already armed")
	default:
		return fmt.Errorf("dde: data fault: %w", syscall.Errno(-rc))
	}
}

func (r *Runtime) cWatch(addrs []uint64) (int, error) {
	a := make([]C.ulong, len(addrs))
	for i, x := range addrs {
		a[i] = C.ulong(x)
	}
	if len(a) == 0 {
		return int(C.dde_inject_watch(nil, 0)), nil
	}
	rc := C.dde_inject_watch(&a[0], C.int(len(a)))
	if rc < 0 {
		return 0, fmt.Errorf("dde: watch: %w", syscall.Errno(-rc))
	}
	return int(rc), nil
}

func (r *Runtime) cWatchHits() []bool {
	n := int(C.dde_inject_watch_hits(nil, 0))
	if n == 0 {
		return nil
	}
	b := make([]C.uchar, n)
	C.dde_inject_watch_hits(&b[0], C.int(n))
	hits := make([]bool, n)
	for i := range b {
		hits[i] = b[i] != 0
	}
	return hits
}

func (r *Runtime) cFaultState(site string) (calls, fired int, armed bool) {
	s, ok := apiSites[site]
	if !ok {
		s, ok = dmaSites[site]
	}
	if !ok {
		return 0, 0, false
	}
	var c, f C.ulong
	a := C.dde_fault_state(s, &c, &f)
	return int(c), int(f), a > 0
}
