package port

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func testScaffold() *Scaffold {
	return &Scaffold{Name: "rtl8139", Module: "8139too", Kbuild: "drivers/net/ethernet/realtek/Makefile",
		Files:  []string{"drivers/net/ethernet/realtek/8139too.c", "drivers/net/ethernet/realtek/x.h"},
		Source: "linux-source-6.1", Tarball: "/usr/src/linux-source-6.1.tar.xz", Headers: "linux-headers-amd64",
		Command: "grail port rtl8139 --from linux:drivers/net/ethernet/realtek/8139too.c"}
}

// wantScaffold is the exact content of each scaffold file.
var wantScaffold = map[string]string{
	"donors/linux/rtl8139.toml": `# Donor manifest: the Linux 8139too driver, taken unmodified from Debian's
# kernel source package. Scaffolded by
#   grail port rtl8139 --from linux:drivers/net/ethernet/realtek/8139too.c
#
# Fetch with ` + "`" + `scripts/donor-fetch.sh rtl8139` + "`" + `; the files land under
# build/donors/linux-<debian version>/ with their SHA-256 in PROVENANCE.json.

port = "rtl8139"

# The module Kbuild links from the .c files below (8139too.ko). The fetch step
# checks the .c list against "<module>-objs"/"<module>-y" in the Kbuild file.
module = "8139too"
kbuild = "drivers/net/ethernet/realtek/Makefile"

# Paths inside the kernel tree. The .c files are compiled; the .h files are
# the driver's private headers, included by the .c files next to them.
files = [
    "drivers/net/ethernet/realtek/8139too.c",
    "drivers/net/ethernet/realtek/x.h",
]

# Changes to donor files, as paths of patch files relative to this manifest.
# The goal is none: differences belong in dde/linux/shadow headers instead.
patches = []

[debian]
# The kernel source tarball and the configured headers it must agree with.
source = "linux-source-6.1"
tarball = "/usr/src/linux-source-6.1.tar.xz"
headers = "linux-headers-amd64"
`,
	"servers/nic/rtl8139/doc.go": `// Command rtl8139 is the NIC server for the unmodified Linux 8139too driver,
// compiled from Debian's kernel source (donors/linux/rtl8139.toml), running
// on the Linux DDE (package grailos/dde/linux). Scaffolded by
//
//	grail port rtl8139 --from linux:drivers/net/ethernet/realtek/8139too.c
//
// which also reports which kernel symbols the DDE still lacks (re-run it
// after DDE changes); build/dde/rtl8139/stubs_generated.c stops the server
// at each of them.
//
// The port is this folder's glue: port_cgo.go puts the donor archive on
// the link line and names the module's entry points; everything else is
// the DDE's. Still to write, after servers/nic/e1000: main.go (build tag
// dde) serving the NIC session, and a machine model the driver can probe.
//
// Donor code is GPL and links only into this binary and its tests. Build
// with the tag dde after the DDE build (scripts/build-nic.sh rtl8139);
// without the tag the command only says so.
package main
`,
	"servers/nic/rtl8139/port_cgo.go": `//go:build dde

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
`,
	"servers/nic/rtl8139/main_nodde.go": `//go:build !dde

package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "rtl8139: built without the dde tag: the donor driver is not linked in (build the DDE, then go build -tags dde)")
	os.Exit(2)
}
`,
}

func TestScaffoldRender(t *testing.T) {
	s := testScaffold()
	want := []string{"donors/linux/rtl8139.toml", "servers/nic/rtl8139/doc.go", "servers/nic/rtl8139/port_cgo.go",
		"servers/nic/rtl8139/main_nodde.go"}
	if got := s.Paths(); !reflect.DeepEqual(got, want) {
		t.Fatalf("Paths = %q, want %q", got, want)
	}
	files := s.Render()
	if len(files) != len(wantScaffold) {
		t.Errorf("Render gave %d files, want %d", len(files), len(wantScaffold))
	}
	for p, w := range wantScaffold {
		if got := string(files[p]); got != w {
			t.Errorf("%s:\n%s\nwant:\n%s", p, got, w)
		}
	}
}

func TestScaffoldWrite(t *testing.T) {
	s := testScaffold()
	root := t.TempDir()
	written, err := s.Write(root, false)
	if err != nil || !reflect.DeepEqual(written, s.Paths()) {
		t.Fatalf("first Write = %q, %v", written, err)
	}
	for p, w := range wantScaffold {
		if b, err := os.ReadFile(filepath.Join(root, p)); err != nil || string(b) != w {
			t.Errorf("%s on disk differs (%v)", p, err)
		}
	}
	// The glue is edited by hand; a second scaffold must not touch it.
	doc := filepath.Join(root, "servers/nic/rtl8139/doc.go")
	os.WriteFile(doc, []byte("package main // edited\n"), 0o644)
	os.Remove(filepath.Join(root, "servers/nic/rtl8139/main_nodde.go"))
	written, err = s.Write(root, false)
	wantErr := "donors/linux/rtl8139.toml, servers/nic/rtl8139/doc.go, servers/nic/rtl8139/port_cgo.go: exists already (use --force to overwrite)"
	if err == nil || err.Error() != wantErr || !errors.Is(err, ErrExists) || written != nil {
		t.Errorf("second Write = %q, %v; want error %q", written, err, wantErr)
	}
	if b, _ := os.ReadFile(doc); string(b) != "package main // edited\n" {
		t.Errorf("refused Write changed doc.go: %q", b)
	}
	if _, err := os.Stat(filepath.Join(root, "servers/nic/rtl8139/main_nodde.go")); !os.IsNotExist(err) {
		t.Errorf("refused Write wrote main_nodde.go: %v", err)
	}
	written, err = s.Write(root, true)
	if err != nil || len(written) != 4 {
		t.Fatalf("forced Write = %q, %v", written, err)
	}
	if b, _ := os.ReadFile(doc); string(b) != wantScaffold["servers/nic/rtl8139/doc.go"] {
		t.Errorf("forced Write left doc.go %q", b)
	}
}

// writeScaffold lets a re-run with identical files through, keeps the
// port's edited glue (and restores a deleted file) while the manifest is
// the same, and refuses an edited manifest unless forced.
func TestWriteScaffoldRerun(t *testing.T) {
	s := testScaffold()
	root := t.TempDir()
	manifest := filepath.Join(root, "donors/linux/rtl8139.toml")
	tests := []struct {
		name    string
		edit    func()
		force   bool
		written int
		err     string
	}{
		{"fresh", func() {}, false, 4, ""},
		{"identical: a re-run", func() {}, false, 0, ""},
		{"edited glue: a re-run goes on", func() {
			os.WriteFile(filepath.Join(root, "servers/nic/rtl8139/doc.go"), []byte("package main\n"), 0o644)
		}, false, 0, ""},
		{"deleted glue: written again", func() { os.Remove(filepath.Join(root, "servers/nic/rtl8139/main_nodde.go")) }, false, 1, ""},
		{"edited manifest", func() { os.WriteFile(manifest, []byte("port = \"rtl8139\"\n"), 0o644) }, false, 0,
			"donors/linux/rtl8139.toml, servers/nic/rtl8139/doc.go, servers/nic/rtl8139/port_cgo.go, servers/nic/rtl8139/main_nodde.go: exists already (use --force to overwrite)"},
		{"edited manifest, forced", func() {}, true, 4, ""},
	}
	for _, tt := range tests {
		tt.edit()
		written, err := writeScaffold(root, s, tt.force)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("%s: err = %v, want %s", tt.name, err, tt.err)
			}
			continue
		}
		if err != nil || len(written) != tt.written {
			t.Errorf("%s: wrote %q, %v; want %d files", tt.name, written, err, tt.written)
		}
	}
}
