//go:build dde

package linux

// const char *dde_host_provenance(void);
// const char *dde_host_build_id(void);
import "C"

import "fmt"

// BuildID identifies the C objects linked into this binary: the first 16
// hex digits of the SHA-256 of the port's provenance.json, which names
// every donor, runtime and stub object with its hash (ddebuild provenance
// prints it). The build sets it with
//
//	go build -ldflags "-X grailos/dde/linux.BuildID=$(ddebuild provenance build/dde/PORT/libPORT.a)"
//
// because the go command does not notice when an archive named in #cgo
// LDFLAGS changes; a changed -X value makes it link again. New refuses a
// binary whose embedded provenance does not match a set BuildID.
var BuildID string

// Provenance is the provenance.json the port linked in (as the C object
// provenance.o): package, version and SHA-256 of every donor source, and
// the hashes of every object. Empty if the port did not link one.
func Provenance() string {
	p := C.dde_host_provenance()
	if p == nil {
		return ""
	}
	return C.GoString(p)
}

// checkBuild compares the build ID linked in with provenance.o to the
// one the build set.
func checkBuild() error {
	p := C.dde_host_build_id()
	if BuildID == "" || p == nil {
		return nil
	}
	if got := C.GoString(p); got != BuildID {
		return fmt.Errorf("dde: the linked C objects are build %s but the build says %s: relink", got, BuildID)
	}
	return nil
}
