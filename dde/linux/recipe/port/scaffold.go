package port

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Scaffold is a new port's folder: the donor manifest and the glue
// skeleton of its NIC server.
type Scaffold struct {
	Name    string   // port name: donors/linux/NAME.toml, servers/nic/NAME
	Module  string   // the Kbuild module the files build, e.g. 8139too
	Kbuild  string   // the Makefile that lists its objects
	Files   []string // donor files (.c first, then the private headers they include)
	Source  string   // Debian source package, linux-source-6.1
	Tarball string   // its tarball
	Headers string   // configured headers package
	Command string   // the command that scaffolded it, for the comments
}

// Files of a scaffold, relative to the repository root, in writing order.
func (s *Scaffold) Paths() []string {
	dir := filepath.Join("servers", "nic", s.Name)
	return []string{filepath.Join("donors", "linux", s.Name+".toml"), filepath.Join(dir, "doc.go"),
		filepath.Join(dir, "port_cgo.go"), filepath.Join(dir, "main_nodde.go")}
}

// Render returns the content of each file of Paths.
func (s *Scaffold) Render() map[string][]byte {
	p := s.Paths()
	return map[string][]byte{p[0]: s.manifest(), p[1]: s.docGo(), p[2]: s.portCgo(), p[3]: s.mainNoDDE()}
}

func (s *Scaffold) manifest() []byte {
	var b strings.Builder
	fmt.Fprintf(&b, `# Donor manifest: the Linux %s driver, taken unmodified from Debian's
# kernel source package. Scaffolded by
#   %s
#
# Fetch with `+"`scripts/donor-fetch.sh %s`"+`; the files land under
# build/donors/linux-<debian version>/ with their SHA-256 in PROVENANCE.json.

port = %q

# The module Kbuild links from the .c files below (%s.ko). The fetch step
# checks the .c list against "<module>-objs"/"<module>-y" in the Kbuild file.
module = %q
kbuild = %q

# Paths inside the kernel tree. The .c files are compiled; the .h files are
# the driver's private headers, included by the .c files next to them.
files = [
`, s.Module, s.Command, s.Name, s.Name, s.Module, s.Module, s.Kbuild)
	for _, f := range s.Files {
		fmt.Fprintf(&b, "    %q,\n", f)
	}
	fmt.Fprintf(&b, `]

# Changes to donor files, as paths of patch files relative to this manifest.
# The goal is none: differences belong in dde/linux/shadow headers instead.
patches = []

[debian]
# The kernel source tarball and the configured headers it must agree with.
source = %q
tarball = %q
headers = %q
`, s.Source, s.Tarball, s.Headers)
	return []byte(b.String())
}

func (s *Scaffold) docGo() []byte {
	return []byte(fmt.Sprintf(`// Command %[1]s is the NIC server for the unmodified Linux %[2]s driver,
// compiled from Debian's kernel source (donors/linux/%[1]s.toml), running
// on the Linux DDE (package grailos/dde/linux). Scaffolded by
//
//	%[3]s
//
// which also reports which kernel symbols the DDE still lacks (re-run it
// after DDE changes); build/dde/%[1]s/stubs_generated.c stops the server
// at each of them.
//
// The port is this folder's glue: port_cgo.go puts the donor archive on
// the link line and names the module's entry points; everything else is
// the DDE's. Still to write, after servers/nic/e1000: main.go (build tag
// dde) serving the NIC session, and a machine model the driver can probe.
//
// Donor code is GPL and links only into this binary and its tests. Build
// with the tag dde after the DDE build (scripts/build-nic.sh %[1]s);
// without the tag the command only says so.
package main
`, s.Name, s.Module, s.Command))
}

func (s *Scaffold) portCgo() []byte {
	lib := "${SRCDIR}/../../../build/dde/" + s.Name + "/"
	return []byte(fmt.Sprintf(`//go:build dde

package main

// The %[1]s port: the donor archive (compiled unmodified by ddebuild
// compile), the DDE runtime (listed again after it so the link works
// whichever order the packages' flags arrive in), the generated stubs for
// whatever the runtime lacks, the provenance of all of them
// (dde.Provenance), and the module's entry points as Kbuild's
// module_init/module_exit name them. Linked statically so the server runs
// in an empty root.

/*
#cgo LDFLAGS: %[2]slib%[1]s.a ${SRCDIR}/../../../build/dde/libdde.a
#cgo LDFLAGS: %[2]sstubs_generated.o %[2]sprovenance.o
#cgo LDFLAGS: -static
int init_module(void);
void cleanup_module(void);
*/
import "C"

import (
	"unsafe"

	dde "grailos/dde/linux"
)

// module is the %[3]s driver's entry points.
var module = dde.Module{
	Name: %[3]q,
	Init: unsafe.Pointer(C.init_module),
	Exit: unsafe.Pointer(C.cleanup_module),
}
`, s.Name, lib, s.Module))
}

func (s *Scaffold) mainNoDDE() []byte {
	return []byte(fmt.Sprintf(`//go:build !dde

package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "%s: built without the dde tag: the donor driver is not linked in (build the DDE, then go build -tags dde)")
	os.Exit(2)
}
`, s.Name))
}

// ErrExists is matched by the error Write returns when a scaffold file
// exists already and force is not set.
var ErrExists = errors.New("exists already")

// Write writes the scaffold below root. Unless force is set it writes
// nothing when any of the files exists, and says which. It returns the
// paths written.
func (s *Scaffold) Write(root string, force bool) ([]string, error) {
	files := s.Render()
	if !force {
		var exist []string
		for _, p := range s.Paths() {
			if _, err := os.Lstat(filepath.Join(root, p)); err == nil {
				exist = append(exist, p)
			} else if !errors.Is(err, fs.ErrNotExist) {
				return nil, err
			}
		}
		if len(exist) > 0 {
			return nil, fmt.Errorf("%s: %w (use --force to overwrite)", strings.Join(exist, ", "), ErrExists)
		}
	}
	var written []string
	for _, p := range s.Paths() {
		name := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
			return written, err
		}
		if err := os.WriteFile(name, files[p], 0o644); err != nil {
			return written, err
		}
		written = append(written, p)
	}
	return written, nil
}
