//go:build dde

package linux

// The //export functions host.c calls, on the DDE thread, when the C
// runtime needs its host. A file with //export may only declare in its
// preamble.

// #include <stddef.h>
import "C"

import (
	"fmt"
	"unsafe"
)

func rt() *Runtime {
	r := current.Load()
	if r == nil {
		panic("dde: C runtime called back without a Runtime")
	}
	return r
}

//export ddeGoMMIORead
func ddeGoMMIORead(bar C.int, off C.uint, size C.int) C.ulonglong {
	return C.ulonglong(rt().cfg.Device.MMIORead(int(bar), uint32(off), int(size)))
}

//export ddeGoMMIOWrite
func ddeGoMMIOWrite(bar C.int, off C.uint, size C.int, v C.ulonglong) {
	rt().cfg.Device.MMIOWrite(int(bar), uint32(off), int(size), uint64(v))
}

//export ddeGoIORead
func ddeGoIORead(bar C.int, off C.uint, size C.int) C.uint {
	return C.uint(rt().cfg.Device.IORead(int(bar), uint32(off), int(size)))
}

//export ddeGoIOWrite
func ddeGoIOWrite(bar C.int, off C.uint, size C.int, v C.uint) {
	rt().cfg.Device.IOWrite(int(bar), uint32(off), int(size), uint32(v))
}

//export ddeGoConfigRead
func ddeGoConfigRead(off C.uint, size C.int) C.uint {
	return C.uint(rt().cfg.Device.ConfigRead(uint32(off), int(size)))
}

//export ddeGoConfigWrite
func ddeGoConfigWrite(off C.uint, size C.int, v C.uint) {
	rt().cfg.Device.ConfigWrite(uint32(off), int(size), uint32(v))
}

//export ddeGoLog
func ddeGoLog(level C.int, line *C.char, n C.int) {
	rt().cfg.Log(C.GoStringN(line, n))
}

//export ddeGoNetReceive
func ddeGoNetReceive(frame unsafe.Pointer, n C.int) {
	if h := rt().cfg.Net; h != nil {
		h.Receive(C.GoBytes(frame, n))
	}
}

//export ddeGoIRQLevel
func ddeGoIRQLevel() C.int {
	d, ok := rt().cfg.Device.(LevelIRQ)
	switch {
	case !ok:
		return -1
	case d.IRQLevel():
		return 1
	}
	return 0
}

//export ddeGoCarrier
func ddeGoCarrier(up C.int) {
	if h := rt().cfg.Net; h != nil {
		h.Carrier(up != 0)
	}
}

//export ddeGoTxReady
func ddeGoTxReady() {
	if w, ok := rt().cfg.Net.(TxWaker); ok {
		w.TxReady()
	}
}

//export ddeGoTxTimeout
func ddeGoTxTimeout(queue C.int) {
	if w, ok := rt().cfg.Net.(TxTimeouter); ok {
		w.TxTimeout(int(queue))
	}
}

//export ddeGoAbort
func ddeGoAbort(why *C.char) {
	// A hard stop of the server: the supervisor restarts it. Unwinding
	// through the C frames below is not possible, so this ends the
	// process with the message.
	panic(fmt.Sprintf("dde: stopped: %s", C.GoString(why)))
}
