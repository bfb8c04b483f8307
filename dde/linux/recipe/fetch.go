package recipe

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
)

// FetchOptions configure Fetch.
type FetchOptions struct {
	Manifest *Manifest
	OutDir   string // parent of the donor trees, normally build/donors
	Install  bool   // install missing packages with apt-get
	Deep     bool   // re-read the tarball even when the recorded hashes match
	Run      Runner
	Log      io.Writer // progress and results for a person
	Terminal bool      // Log is a terminal: rewrite progress lines in place
}

// FetchResult is what Fetch produced.
type FetchResult struct {
	Dir        string // the donor tree, OutDir/linux-<source package version>
	Provenance *Provenance
	Extracted  []string // tree paths written by this run (empty when all were present)
}

// TreeDir returns the donor tree folder for a source package version.
func TreeDir(outDir, sourceVersion string) string {
	return filepath.Join(outDir, "linux-"+strings.ReplaceAll(sourceVersion, ":", "_"))
}

// Fetch makes the manifest's donor files available under OutDir: it
// installs the Debian packages when asked, resolves their exact versions,
// checks that source and headers are the same kernel, extracts the files
// from the tarball (only those missing or changed), verifies each against
// its tarball member and records everything in PROVENANCE.json. Run again
// with everything present it only hashes: the tarball and the files.
func Fetch(ctx context.Context, o FetchOptions) (*FetchResult, error) {
	m, run, log := o.Manifest, o.Run, o.Log
	if log == nil {
		log = io.Discard
	}
	if len(m.Patches) > 0 {
		return nil, fmt.Errorf("%s: patches are not supported: donor files stay unmodified (write a shadow header in dde/linux/shadow instead)", m.Port)
	}
	if o.Install {
		if err := run.EnsureInstalled(ctx, log, m.Debian.Source, m.Debian.Headers); err != nil {
			return nil, err
		}
	}
	srcVer, err := run.PackageVersion(ctx, m.Debian.Source)
	if err != nil {
		return nil, err
	}
	if srcVer == "" {
		return nil, fmt.Errorf("package %s is not installed (run scripts/donor-fetch.sh %s, which installs it)", m.Debian.Source, m.Port)
	}
	hdr, err := run.ResolveHeaders(ctx, m.Debian.Headers)
	if err != nil {
		return nil, fmt.Errorf("%w (run scripts/donor-fetch.sh %s, which installs it)", err, m.Port)
	}
	facts, err := readHeaderFacts(hdr)
	if err != nil {
		return nil, err
	}
	facts.Source = Package{Name: m.Debian.Source, Version: srcVer}
	fmt.Fprintf(log, "source  %s %s (%s)\nheaders %s %s (%s, kernel.release %s)\n",
		m.Debian.Source, srcVer, m.Debian.Tarball, hdr.Flavour.Name, hdr.Flavour.Version, hdr.Dir, facts.KernelRelease)

	dir := TreeDir(o.OutDir, srcVer)
	prov := &Provenance{
		Format:   provenanceFormat,
		Packages: append([]Package{facts.Source}, hdr.Packages...),
		Headers: HeadersRef{Package: hdr.Flavour.Name, Version: hdr.Flavour.Version, Dir: hdr.Dir,
			CommonDir: hdr.CommonDir, KernelRelease: facts.KernelRelease},
	}
	prog := &Progress{W: log, Terminal: o.Terminal, What: "hashing " + filepath.Base(m.Debian.Tarball)}
	sha, md, size, err := hashTarball(m.Debian.Tarball, prog)
	if err != nil {
		return nil, fmt.Errorf("%w (is %s installed?)", err, m.Debian.Source)
	}
	if want, err := run.PackageMD5(ctx, m.Debian.Source, m.Debian.Tarball); err != nil {
		return nil, err
	} else if want != md {
		return nil, fmt.Errorf("%s: MD5 %s differs from dpkg's record %s for %s %s: reinstall the package", m.Debian.Tarball, md, want, m.Debian.Source, srcVer)
	}
	prov.Tarball = Tarball{Path: m.Debian.Tarball, Package: m.Debian.Source, Size: size, SHA256: sha, MD5: md}

	// One fetch at a time per tree: ports share PROVENANCE.json.
	unlock, err := lockDir(dir)
	if err != nil {
		return nil, err
	}
	defer unlock()

	// Keep what an earlier run recorded for this tarball (other ports'
	// files too); decide what is missing or changed.
	if old, err := ReadProvenance(dir); err == nil && old.Tarball.SHA256 == sha {
		prov.Files = old.Files
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		fmt.Fprintf(log, "ignoring %s: %v\n", filepath.Join(dir, ProvenanceFile), err)
	}
	var need []string
	for _, p := range m.TreeFiles() {
		rec, ok := prov.File(p)
		if o.Deep || !ok {
			need = append(need, p)
			continue
		}
		if h, _, err := HashFile(filepath.Join(dir, filepath.FromSlash(p))); err != nil || h != rec.SHA256 {
			need = append(need, p)
		}
	}

	res := &FetchResult{Dir: dir, Provenance: prov}
	var members map[string][]byte
	if len(need) > 0 {
		fmt.Fprintf(log, "extracting %d of %d files from %s into %s\n", len(need), len(m.TreeFiles()), m.Debian.Tarball, dir)
		prog := &Progress{W: log, Terminal: o.Terminal, What: "reading " + filepath.Base(m.Debian.Tarball)}
		members, err = ExtractMembers(ctx, m.Debian.Tarball, m.TarPrefix(), need, prog)
		if err != nil {
			return nil, err
		}
	}
	// The kernel version checks run before anything is written.
	srcMakefile := members["Makefile"]
	if srcMakefile == nil {
		if srcMakefile, err = os.ReadFile(filepath.Join(dir, "Makefile")); err != nil {
			return nil, err
		}
	}
	if facts.SourceMakefile, err = ParseMakefileVersion(string(srcMakefile)); err != nil {
		return nil, fmt.Errorf("%s: Makefile: %w", m.Debian.Tarball, err)
	}
	if err := CheckSameKernel(facts); err != nil {
		return nil, err
	}
	prov.Kernel = facts.SourceMakefile.String()
	kbuild := members[m.Kbuild]
	if kbuild == nil {
		if kbuild, err = os.ReadFile(filepath.Join(dir, filepath.FromSlash(m.Kbuild))); err != nil {
			return nil, err
		}
	}
	if err := CheckSources(m, string(kbuild)); err != nil {
		return nil, err
	}

	for _, p := range sortedKeys(members) {
		b := members[p]
		name := filepath.Join(dir, filepath.FromSlash(p))
		if err := writeFileAtomic(name, b, 0o644); err != nil {
			return nil, err
		}
		prov.SetFile(FileHash{Path: p, Size: int64(len(b)), SHA256: HashBytes(b)})
		res.Extracted = append(res.Extracted, p)
	}
	if err := WriteProvenance(dir, prov); err != nil {
		return nil, err
	}
	// Verify every file of the manifest on disk against its tarball member's
	// hash: freshly read members were hashed from the xz stream above, and
	// for files kept from an earlier run the record holds the member hash of
	// this very tarball (same SHA-256).
	for _, p := range m.TreeFiles() {
		rec, _ := prov.File(p)
		h, n, err := HashFile(filepath.Join(dir, filepath.FromSlash(p)))
		if err != nil {
			return nil, err
		}
		if h != rec.SHA256 || n != rec.Size {
			return nil, fmt.Errorf("%s: on disk sha256 %s (%d bytes) differs from tarball member sha256 %s (%d bytes)", p, h, n, rec.SHA256, rec.Size)
		}
		how := "kept"
		if members[p] != nil {
			how = "extracted"
		}
		fmt.Fprintf(log, "  %-9s identical to tarball member  sha256 %s  %s\n", how, h[:16], p)
	}
	fmt.Fprintf(log, "kernel %s: %d donor files of %s verified in %s\n", prov.Kernel, len(m.TreeFiles()), m.Port, dir)
	return res, nil
}

// abiRelease is Debian's ABI form of a release, 6.1.0-56-amd64: it names
// only VERSION.PATCHLEVEL and the ABI number.
var abiRelease = regexp.MustCompile(`^(\d+)\.(\d+)\.0-\d+(-|$)`)

// releaseMatches reports whether kernel.release names kernel v: exactly
// (6.1.192, which Debian's headers state today), with a local version
// (6.1.192-foo, 6.1.192+), or in Debian's ABI form of the same series.
func releaseMatches(rel string, v KernelVersion) bool {
	s := v.String()
	if rel == s || strings.HasPrefix(rel, s+"-") || strings.HasPrefix(rel, s+"+") {
		return true
	}
	m := abiRelease.FindStringSubmatch(rel)
	return m != nil && m[1] == strconv.Itoa(v.Version) && m[2] == strconv.Itoa(v.Patchlevel)
}

// KernelFacts are the version statements CheckSameKernel compares.
type KernelFacts struct {
	Source          Package       // the source package
	Headers         Package       // the configured headers package
	Common          Package       // its -common companion
	SourceMakefile  KernelVersion // the tarball's top-level Makefile
	HeadersMakefile KernelVersion // the headers' top-level Makefile
	VersionHeader   KernelVersion // include/generated/uapi/linux/version.h; zero if absent
	KernelRelease   string        // include/config/kernel.release, e.g. 6.1.0-56-amd64
}

// readHeaderFacts reads the version statements of a headers installation.
func readHeaderFacts(h *Headers) (KernelFacts, error) {
	f := KernelFacts{Headers: h.Flavour}
	for _, p := range h.Packages {
		if p.Name == filepath.Base(h.CommonDir) {
			f.Common = p
		}
	}
	var err error
	for _, d := range []string{h.Dir, h.CommonDir} {
		b, rerr := os.ReadFile(filepath.Join(d, "Makefile"))
		if rerr != nil {
			return f, rerr
		}
		if f.HeadersMakefile, err = ParseMakefileVersion(string(b)); err == nil {
			break
		}
	}
	if err != nil {
		return f, fmt.Errorf("%s and %s: Makefile: %w", h.Dir, h.CommonDir, err)
	}
	rel, err := os.ReadFile(filepath.Join(h.Dir, "include", "config", "kernel.release"))
	if err != nil {
		return f, fmt.Errorf("%s is not a configured headers tree: %w", h.Dir, err)
	}
	f.KernelRelease = strings.TrimSpace(string(rel))
	if b, err := os.ReadFile(filepath.Join(h.Dir, "include", "generated", "uapi", "linux", "version.h")); err == nil {
		if f.VersionHeader, err = ParseVersionHeader(string(b)); err != nil {
			return f, fmt.Errorf("%s: version.h: %w", h.Dir, err)
		}
	}
	return f, nil
}

// CheckSameKernel fails, listing every disagreement, unless source and
// headers are the same kernel: the same Debian version for the source,
// headers and -common packages, and the same upstream version in the
// source package's version, the tarball's Makefile, the headers' Makefile,
// version.h and kernel.release (see releaseMatches).
func CheckSameKernel(f KernelFacts) error {
	var p []string
	for _, pk := range []Package{f.Headers, f.Common} {
		if pk.Version != f.Source.Version {
			p = append(p, fmt.Sprintf("Debian versions differ: %s %s, %s %s", f.Source.Name, f.Source.Version, pk.Name, pk.Version))
		}
	}
	src := f.SourceMakefile.String()
	if up := DebianUpstream(f.Source.Version); up != src {
		p = append(p, fmt.Sprintf("%s %s has a tarball Makefile of kernel %s", f.Source.Name, f.Source.Version, src))
	}
	if f.HeadersMakefile != f.SourceMakefile {
		p = append(p, fmt.Sprintf("tarball Makefile says %s, headers Makefile says %s", src, f.HeadersMakefile))
	}
	if f.VersionHeader != (KernelVersion{}) {
		if v := f.SourceMakefile; f.VersionHeader != (KernelVersion{Version: v.Version, Patchlevel: v.Patchlevel, Sublevel: v.Sublevel}) {
			p = append(p, fmt.Sprintf("tarball Makefile says %s, headers version.h says %s", src, f.VersionHeader))
		}
	}
	if !releaseMatches(f.KernelRelease, f.SourceMakefile) {
		p = append(p, fmt.Sprintf("headers kernel.release %q is not kernel %s", f.KernelRelease, src))
	}
	if len(p) == 0 {
		return nil
	}
	return fmt.Errorf("kernel source and headers disagree: %s; install matching versions (apt-get install %s=<version> %s=<version>) and fetch again",
		strings.Join(p, "; "), f.Source.Name, f.Headers.Name)
}

// lockDir creates dir and holds an exclusive flock on dir/.lock until the
// returned function is called.
func lockDir(dir string) (func(), error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(filepath.Join(dir, ".lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", f.Name(), err)
	}
	return func() { f.Close() }, nil
}
