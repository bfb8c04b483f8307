//go:build dde

package linux

/*
#cgo CFLAGS: -I${SRCDIR}/runtime
#cgo LDFLAGS: ${SRCDIR}/../../build/dde/libdde.a
#include <stdlib.h>
#include "api.h"

void dde_traps_install(void);
void dde_host_clock_reset(void);
unsigned long long dde_host_now(void);
int dde_traps_take(char *buf, int size);

typedef int (*dde_init_fn)(void);
typedef void (*dde_exit_fn)(void);
*/
import "C"

import (
	"errors"
	"fmt"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Module is a donor driver's entry points, C function pointers from the
// port's glue: Init is its init_module (int (*)(void)), Exit its
// cleanup_module (void (*)(void), may be nil).
type Module struct {
	Name string
	Init unsafe.Pointer
	Exit unsafe.Pointer
}

func errno(rc C.int) error {
	switch {
	case rc == 0:
		return nil
	case rc == -C.int(syscall.ENETDOWN):
		return ErrDown
	default:
		return fmt.Errorf("dde: %w", syscall.Errno(-rc))
	}
}

func (r *Runtime) cInit() error {
	C.dde_traps_install()
	C.dde_host_clock_reset()
	name := C.CString(r.cfg.Module.Name)
	// The name must outlive dde_init only: the runtime copies it.
	defer C.free(unsafe.Pointer(name))
	cfg := C.struct_dde_config{
		pool:      unsafe.Pointer(unsafe.SliceData(r.cfg.Pool)),
		pool_size: C.ulong(len(r.cfg.Pool)),
		pool_bus:  C.ulonglong(r.cfg.PoolBus),
		module:    name,
	}
	if r.cfg.VirtualTime {
		cfg.virtual_time = 1
	}
	return errno(C.dde_init(&cfg))
}

func (r *Runtime) cStart() error {
	return errno(C.dde_start(C.dde_init_fn(r.cfg.Module.Init)))
}

func (r *Runtime) cStop() error {
	return errno(C.dde_stop(C.dde_exit_fn(r.cfg.Module.Exit)))
}

func (r *Runtime) cOpen() error { return errno(C.dde_net_open()) }

// cInjectFault overwrites the entry of the donor's ndo_start_xmit with
// code that faults when the driver next transmits: a load from address 0
// (SIGSEGV inside donor code) or a jump to itself (the driver's thread
// hangs there).
func (r *Runtime) cInjectFault(kind Fault) error {
	fn := C.dde_net_xmit_fn()
	if fn == nil {
		return errors.New("dde: no interface to inject into")
	}
	var code []byte
	switch kind {
	case FaultSegv:
		code = []byte{0x48, 0x8b, 0x04, 0x25, 0, 0, 0, 0} // mov 0x0, %rax
	case FaultHang:
		code = []byte{0xeb, 0xfe} // jmp .
	default:
		return fmt.Errorf("dde: unknown fault %d", kind)
	}
	off := uintptr(fn) & 4095
	pages := unsafe.Slice((*byte)(unsafe.Add(fn, -int(off))), 8192)
	if err := unix.Mprotect(pages, unix.PROT_READ|unix.PROT_WRITE|unix.PROT_EXEC); err != nil {
		return fmt.Errorf("dde: making the donor's text writable: %w", err)
	}
	copy(pages[off:], code)
	return unix.Mprotect(pages, unix.PROT_READ|unix.PROT_EXEC)
}

func (r *Runtime) cSetRxMode(promisc, allmulti bool) error {
	var f C.int
	if promisc {
		f |= C.DDE_RX_PROMISC
	}
	if allmulti {
		f |= C.DDE_RX_ALLMULTI
	}
	return errno(C.dde_net_set_rx_mode(f))
}
func (r *Runtime) cClose() error { return errno(C.dde_net_close()) }

func (r *Runtime) cXmit(frame []byte) error {
	if len(frame) == 0 {
		return errno(-C.int(syscall.EMSGSIZE))
	}
	rc := C.dde_net_xmit(unsafe.Pointer(unsafe.SliceData(frame)), C.int(len(frame)))
	if rc == -C.int(syscall.EBUSY) {
		return ErrQueueFull
	}
	return errno(rc)
}

func (r *Runtime) cXmitBatch(buf []byte, lens []int32) (int, error) {
	var sent C.int
	rc := C.dde_net_xmit_batch((*C.uchar)(unsafe.Pointer(unsafe.SliceData(buf))), (*C.int)(unsafe.Pointer(unsafe.SliceData(lens))),
		C.int(len(lens)), &sent)
	if rc == -C.int(syscall.EBUSY) {
		return int(sent), ErrQueueFull
	}
	return int(sent), errno(rc)
}

func cIRQNotify() { C.dde_irq_notify() }

func cElapsed() time.Duration { return time.Duration(C.dde_host_now()) }

// cTraps returns the WARNs the trap handler noted since the last call.
func cTraps() []string {
	var out []string
	var buf [512]C.char
	for C.dde_traps_take(&buf[0], C.int(len(buf))) != 0 {
		out = append(out, C.GoString(&buf[0]))
	}
	return out
}

func cRun(now time.Duration) { C.dde_run(C.ulonglong(now)) }

func cFini() { C.dde_fini() }

func cNextDeadline() (time.Duration, bool) {
	var ns C.ulonglong
	if C.dde_next_deadline(&ns) == 0 {
		return 0, false
	}
	return time.Duration(ns), true
}

func cMAC() (mac [6]byte) {
	var m [6]C.uchar
	if C.dde_net_mac(&m[0]) == 0 {
		for i := range mac {
			mac[i] = byte(m[i])
		}
	}
	return mac
}

func cStats() Stats {
	var s C.struct_dde_stats
	C.dde_get_stats(&s)
	return Stats{
		Now: time.Duration(s.now_ns), Jiffies: uint64(s.jiffies),
		PoolPages: int(s.pool_pages), PoolPagesUsed: int(s.pool_pages_used),
		KmallocLive: int(s.kmalloc_live), PagesLive: int(s.pages_live),
		DMACoherentLive: int(s.dma_coherent_live), DMAMapsLive: int(s.dma_maps_live),
		DMARefused:  int(s.dma_refused),
		IRQsHandled: int(s.irqs_handled), IRQsUnhandled: int(s.irqs_unhandled),
		NAPIPolls: int(s.napi_polls), TimersRun: int(s.timers_run), WorksRun: int(s.works_run),
		TxPackets: int(s.tx_packets), TxBusy: int(s.tx_busy), RxPackets: int(s.rx_packets),
		Warnings: int(s.warnings),
	}
}

// The runtime's own tests reach the DMA API and kmalloc through these.

func (r *Runtime) dmaMap(p unsafe.Pointer, n int) (bus uint64, err error) {
	r.do(func() {
		var b C.ulonglong
		if rc := C.dde_test_dma_map(p, C.ulong(n), &b); rc != 0 {
			err = errno(rc)
		}
		bus = uint64(b)
	})
	return bus, err
}

func (r *Runtime) dmaUnmap(bus uint64, n int) {
	r.do(func() { C.dde_test_dma_unmap(C.ulonglong(bus), C.ulong(n)) })
}

func (r *Runtime) kmalloc(n int) (p unsafe.Pointer) {
	r.do(func() { p = C.dde_test_kmalloc(C.ulong(n)) })
	return p
}

func (r *Runtime) kfree(p unsafe.Pointer) {
	r.do(func() { C.dde_test_kfree(p) })
}

func (r *Runtime) warn(x int) (y int) {
	r.do(func() { y = int(C.dde_test_warn(C.int(x))) })
	return y
}

// etherCRC is the runtime's ether_crc(6, addr) (crc32_le and
// byte_rev_table), for its tests. Pure C: no DDE thread needed.
func etherCRC(addr [6]byte) uint32 {
	return uint32(C.dde_test_ether_crc((*C.uchar)(unsafe.Pointer(&addr[0]))))
}

// csumDev runs the runtime's skb_copy_and_csum_dev on a CHECKSUM_PARTIAL
// copy of frame (checksum from start, stored at start+offset), for its
// tests.
func (r *Runtime) csumDev(frame []byte, start, offset int) (out []byte, err error) {
	cf := C.CBytes(frame)
	defer C.free(cf)
	co := (*C.uchar)(C.calloc(C.size_t(len(frame)), 1))
	defer C.free(unsafe.Pointer(co))
	r.do(func() {
		if rc := C.dde_test_csum_dev((*C.uchar)(cf), C.int(len(frame)), C.int(start), C.int(offset), co); rc != 0 {
			err = syscall.Errno(-rc)
		}
	})
	return C.GoBytes(unsafe.Pointer(co), C.int(len(frame))), err
}
