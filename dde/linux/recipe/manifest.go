package recipe

import (
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/BurntSushi/toml"
)

// Manifest describes one donor port: which Debian packages provide the
// kernel source and the configured headers, and which files of the source
// tree the port uses. It is the data in donors/linux/<port>.toml.
type Manifest struct {
	Port    string   `toml:"port"`    // name of the port; the manifest's file name without .toml
	Module  string   `toml:"module"`  // the module Kbuild links from the .c files (e1000 for e1000.ko)
	Kbuild  string   `toml:"kbuild"`  // the Kbuild Makefile that lists the module's objects
	Files   []string `toml:"files"`   // donor files, paths inside the kernel tree
	Patches []string `toml:"patches"` // patch files relative to the manifest; the goal is none
	Debian  Debian   `toml:"debian"`
}

// Debian names the packages a manifest's donor files come from.
type Debian struct {
	Source  string `toml:"source"`  // kernel source package, e.g. linux-source-6.1
	Tarball string `toml:"tarball"` // the source package's tarball, e.g. /usr/src/linux-source-6.1.tar.xz
	Headers string `toml:"headers"` // configured headers package (or metapackage), e.g. linux-headers-amd64
}

// Sources returns the manifest's .c files, in manifest order.
func (m *Manifest) Sources() []string {
	var out []string
	for _, f := range m.Files {
		if strings.HasSuffix(f, ".c") {
			out = append(out, f)
		}
	}
	return out
}

// TreeFiles returns every file the fetch step extracts for the manifest:
// the top-level Makefile (it carries the kernel version), the Kbuild file
// and the donor files, sorted and without duplicates.
func (m *Manifest) TreeFiles() []string {
	out := append([]string{"Makefile", m.Kbuild}, m.Files...)
	slices.Sort(out)
	return slices.Compact(out)
}

// TarPrefix is the folder every member of the source tarball lives in:
// Debian's linux-source-X.Y packs linux-source-X.Y/...
func (m *Manifest) TarPrefix() string { return m.Debian.Source + "/" }

var (
	portName   = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,31}$`)
	debName    = regexp.MustCompile(`^[a-z0-9][a-z0-9+.-]+$`)
	treePathEl = regexp.MustCompile(`^[A-Za-z0-9_.+-]+$`)
)

// ErrManifest is matched (errors.Is) by every error describing an invalid
// manifest.
var ErrManifest = errors.New("invalid manifest")

// ManifestError lists every problem found in one manifest file.
type ManifestError struct {
	File     string   // as given to LoadManifest / ParseManifest
	Problems []string // one line each, in the order found
}

func (e *ManifestError) Error() string {
	return e.File + ": " + strings.Join(e.Problems, "; ")
}

// Unwrap lets errors.Is(err, ErrManifest) recognise a ManifestError.
func (e *ManifestError) Unwrap() error { return ErrManifest }

// LoadManifest reads and checks a manifest file. The port name must equal
// the file name without .toml.
func LoadManifest(file string) (*Manifest, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	m, err := ParseManifest(file, data)
	if err != nil {
		return nil, err
	}
	if want := strings.TrimSuffix(filepath.Base(file), ".toml"); m.Port != want {
		return nil, &ManifestError{File: file, Problems: []string{fmt.Sprintf("port %q differs from the file name (want %q)", m.Port, want)}}
	}
	return m, nil
}

// ParseManifest decodes and checks manifest text; file names it in errors.
// All problems are reported together, in a fixed order.
func ParseManifest(file string, data []byte) (*Manifest, error) {
	var m Manifest
	md, err := toml.Decode(string(data), &m)
	if err != nil {
		return nil, &ManifestError{File: file, Problems: []string{err.Error()}}
	}
	var p []string
	for _, k := range md.Undecoded() {
		p = append(p, fmt.Sprintf("unknown key %q", k.String()))
	}
	bad := func(format string, args ...any) { p = append(p, fmt.Sprintf(format, args...)) }
	if !portName.MatchString(m.Port) {
		bad("port %q must match %s", m.Port, portName)
	}
	if !portName.MatchString(m.Module) {
		bad("module %q must match %s", m.Module, portName)
	}
	if err := checkTreePath(m.Kbuild); err != nil {
		bad("kbuild %q: %v", m.Kbuild, err)
	} else if b := path.Base(m.Kbuild); b != "Makefile" && b != "Kbuild" {
		bad("kbuild %q must name a Makefile or Kbuild file", m.Kbuild)
	}
	if len(m.Files) == 0 {
		bad("files is empty")
	}
	seen := map[string]bool{}
	for i, f := range m.Files {
		if err := checkTreePath(f); err != nil {
			bad("files[%d] %q: %v", i, f, err)
			continue
		}
		if seen[f] {
			bad("files[%d] %q is listed twice", i, f)
		}
		seen[f] = true
		if ext := path.Ext(f); ext != ".c" && ext != ".h" {
			bad("files[%d] %q: want a .c or .h file", i, f)
		}
	}
	if len(m.Files) > 0 && len(m.Sources()) == 0 {
		bad("files has no .c file")
	}
	for i, f := range m.Patches {
		if !filepath.IsLocal(f) || !strings.HasSuffix(f, ".patch") {
			bad("patches[%d] %q must be a .patch file below the manifest's folder", i, f)
		}
	}
	if !debName.MatchString(m.Debian.Source) {
		bad("debian.source %q is not a Debian package name", m.Debian.Source)
	}
	if !debName.MatchString(m.Debian.Headers) {
		bad("debian.headers %q is not a Debian package name", m.Debian.Headers)
	}
	if !strings.HasPrefix(m.Debian.Tarball, "/usr/src/") || !strings.HasSuffix(m.Debian.Tarball, ".tar.xz") {
		bad("debian.tarball %q must be a /usr/src/*.tar.xz file", m.Debian.Tarball)
	}
	if len(p) > 0 {
		return nil, &ManifestError{File: file, Problems: p}
	}
	return &m, nil
}

// checkTreePath accepts clean relative slash paths inside a kernel tree.
func checkTreePath(p string) error {
	if p == "" {
		return errors.New("empty path")
	}
	if path.Clean(p) != p || strings.HasPrefix(p, "/") {
		return errors.New("must be a clean relative path inside the kernel tree")
	}
	for _, el := range strings.Split(p, "/") {
		if el == ".." || el == "." || !treePathEl.MatchString(el) {
			return errors.New("must be a clean relative path inside the kernel tree")
		}
	}
	return nil
}
