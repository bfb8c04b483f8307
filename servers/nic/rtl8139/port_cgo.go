//go:build dde

package main

// The rtl8139 port: the donor archive (compiled unmodified by ddebuild
// compile), the DDE runtime (listed again after it so the link works
// whichever order the packages' flags arrive in), the generated stubs for
// whatever the runtime lacks, the provenance of all of them
// (dde.Provenance), and the module's entry points as Kbuild's
// module_init/module_exit name them. Linked statically so the server runs
// in an empty root.

/*
#cgo LDFLAGS: ${SRCDIR}/../../../build/dde/rtl8139/librtl8139.a ${SRCDIR}/../../../build/dde/libdde.a
#cgo LDFLAGS: ${SRCDIR}/../../../build/dde/rtl8139/stubs_generated.o ${SRCDIR}/../../../build/dde/rtl8139/provenance.o
#cgo LDFLAGS: -static
int init_module(void);
void cleanup_module(void);
*/
import "C"

import (
	"unsafe"

	dde "grailos/dde/linux"
)

// module is the 8139too driver's entry points.
var module = dde.Module{
	Name: "8139too",
	Init: unsafe.Pointer(C.init_module),
	Exit: unsafe.Pointer(C.cleanup_module),
}
