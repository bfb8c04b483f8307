package recipe

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// ObjectRecord is the provenance of one compiled donor object, written
// next to it as <object>.json.
type ObjectRecord struct {
	Object  string    `json:"object"` // file name of the object
	SHA256  string    `json:"sha256"` // of the object
	Source  SourceRef `json:"source"`
	Headers Package   `json:"headers"` // configured headers compiled against
	CC      string    `json:"cc"`      // compiler --version, first line
	CFlags  string    `json:"cflags_sha256"`
	Command []string  `json:"command"` // the full gcc argv
}

// SourceRef names a donor file: package, version, path in the tree and
// SHA-256, and the tarball it came from.
type SourceRef struct {
	Package       string `json:"package"`
	Version       string `json:"version"`
	Path          string `json:"path"`
	SHA256        string `json:"sha256"`
	TarballSHA256 string `json:"tarball_sha256"`
}

// ArchiveRecord is the provenance of lib<port>.a, written next to it.
type ArchiveRecord struct {
	Archive string         `json:"archive"`
	SHA256  string         `json:"sha256"`
	Port    string         `json:"port"`
	Members []ObjectRecord `json:"members"`
}

// CompileOptions configure Compile.
type CompileOptions struct {
	Manifest *Manifest
	DonorDir string // the donor tree (FetchResult.Dir)
	OutDir   string // build/dde/<port>
	CFlags   *CFlags
	Run      Runner
	Log      io.Writer
	Jobs     int // parallel compilers; at least 1
}

// CompileResult is what Compile produced.
type CompileResult struct {
	Objects  []string // paths, in manifest order
	Archive  string   // OutDir/lib<port>.a
	Warnings int      // compiler warnings over all objects
	Errors   int      // compiler errors over all objects
}

// Compile checks the donor tree against its PROVENANCE.json, compiles
// every .c file of the manifest with the DDE flags into OutDir (one
// <name>.o and <name>.o.json each) and archives the objects into
// lib<port>.a with lib<port>.a.json. Compiler output goes to Log. It
// fails if any object fails to compile; Errors then says how many errors
// the compiler reported.
func Compile(ctx context.Context, o CompileOptions) (*CompileResult, error) {
	m := o.Manifest
	prov, err := checkDonorTree(m, o.DonorDir)
	if err != nil {
		return nil, err
	}
	if prov.Headers.Version != o.CFlags.Headers.Version || prov.Headers.Package != o.CFlags.Headers.Name {
		return nil, fmt.Errorf("cflags are for %s %s but %s was checked against %s %s: regenerate the cflags",
			o.CFlags.Headers.Name, o.CFlags.Headers.Version, o.DonorDir, prov.Headers.Package, prov.Headers.Version)
	}
	if err := os.MkdirAll(o.OutDir, 0o755); err != nil {
		return nil, err
	}
	cflagsSum := HashBytes(o.CFlags.Marshal())
	srcs := m.Sources()
	recs := make([]ObjectRecord, len(srcs))
	logs := make([]bytes.Buffer, len(srcs))
	errs := make([]error, len(srcs))
	jobs := make(chan int)
	var wg sync.WaitGroup
	for range max(o.Jobs, 1) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				recs[i], errs[i] = compileOne(ctx, o, prov, srcs[i], cflagsSum, &logs[i])
			}
		}()
	}
	for i := range srcs {
		jobs <- i
	}
	close(jobs)
	wg.Wait()

	res := &CompileResult{Archive: filepath.Join(o.OutDir, "lib"+m.Port+".a")}
	var failed []string
	for i, src := range srcs {
		text := logs[i].String()
		res.Warnings += strings.Count(text, ": warning: ")
		res.Errors += strings.Count(text, ": error: ")
		if text != "" {
			io.WriteString(o.Log, text)
		}
		if errs[i] != nil {
			failed = append(failed, fmt.Sprintf("%s: %v", src, errs[i]))
			continue
		}
		res.Objects = append(res.Objects, filepath.Join(o.OutDir, recs[i].Object))
		fmt.Fprintf(o.Log, "  cc %-40s -> %s  sha256 %s\n", src, recs[i].Object, recs[i].SHA256[:16])
	}
	if len(failed) > 0 {
		return res, fmt.Errorf("%d of %d donor files failed to compile (%d errors): %s", len(failed), len(srcs), res.Errors, strings.Join(failed, "; "))
	}
	if err := archive(ctx, o, res, recs); err != nil {
		return res, err
	}
	fmt.Fprintf(o.Log, "%s: %d objects, %d errors, %d warnings -> %s\n", m.Port, len(res.Objects), res.Errors, res.Warnings, res.Archive)
	return res, nil
}

// compileOne compiles one donor .c file and writes its record.
func compileOne(ctx context.Context, o CompileOptions, prov *Provenance, src, cflagsSum string, log *bytes.Buffer) (ObjectRecord, error) {
	base := strings.TrimSuffix(filepath.Base(src), ".c")
	obj := filepath.Join(o.OutDir, base+".o")
	in := filepath.Join(o.DonorDir, filepath.FromSlash(src))
	args := append([]string{}, o.CFlags.Flags...)
	args = append(args, ObjectDefines(o.Manifest.Module, src)...)
	if cwd, err := os.Getwd(); err == nil {
		// Debug info names files relative to the working folder, so the
		// same donor file and flags give the same object in any checkout.
		args = append(args, "-ffile-prefix-map="+cwd+"=.")
	}
	args = append(args, "-c", "-o", obj, in)
	os.Remove(obj)
	if err := o.Run(ctx, Command{Name: o.CFlags.CC, Args: args, Stdout: log, Stderr: log}); err != nil {
		return ObjectRecord{}, err
	}
	sum, _, err := HashFile(obj)
	if err != nil {
		return ObjectRecord{}, err
	}
	rec := ObjectRecord{
		Object:  base + ".o",
		SHA256:  sum,
		Source:  donorRef(prov, src),
		Headers: o.CFlags.Headers,
		CC:      o.CFlags.CCVersion,
		CFlags:  cflagsSum,
		Command: append([]string{o.CFlags.CC}, args...),
	}
	return rec, writeJSON(obj+".json", rec)
}

// checkDonorTree reads the donor tree's PROVENANCE.json and checks that
// every file of the manifest is recorded there and unchanged on disk.
func checkDonorTree(m *Manifest, dir string) (*Provenance, error) {
	prov, err := ReadProvenance(dir)
	if err != nil {
		return nil, fmt.Errorf("%w (run scripts/donor-fetch.sh %s)", err, m.Port)
	}
	for _, p := range m.Files {
		rec, ok := prov.File(p)
		if !ok {
			return nil, fmt.Errorf("%s is not recorded in %s (run scripts/donor-fetch.sh %s)", p, filepath.Join(dir, ProvenanceFile), m.Port)
		}
		if h, _, err := HashFile(filepath.Join(dir, filepath.FromSlash(p))); err != nil || h != rec.SHA256 {
			return nil, fmt.Errorf("%s differs from its recorded SHA-256 (run scripts/donor-fetch.sh %s)", p, m.Port)
		}
	}
	return prov, nil
}

// donorRef names a donor file of the tree prov describes.
func donorRef(prov *Provenance, path string) SourceRef {
	f, _ := prov.File(path)
	return SourceRef{Package: prov.Tarball.Package, Version: prov.Package(prov.Tarball.Package),
		Path: path, SHA256: f.SHA256, TarballSHA256: prov.Tarball.SHA256}
}

// archive builds lib<port>.a from scratch and writes its record.
func archive(ctx context.Context, o CompileOptions, res *CompileResult, recs []ObjectRecord) error {
	os.Remove(res.Archive)
	var out bytes.Buffer
	c := Command{Name: "ar", Args: append([]string{"rcs", res.Archive}, res.Objects...), Stdout: &out, Stderr: &out}
	if err := o.Run(ctx, c); err != nil {
		return fmt.Errorf("%s: %w: %s", c, err, out.String())
	}
	sum, _, err := HashFile(res.Archive)
	if err != nil {
		return err
	}
	return writeJSON(res.Archive+".json", ArchiveRecord{Archive: filepath.Base(res.Archive), SHA256: sum, Port: o.Manifest.Port, Members: recs})
}

func writeJSON(name string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(name, append(b, '\n'), 0o644)
}
