package recipe

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// RuntimeOptions configure CompileRuntime.
type RuntimeOptions struct {
	SrcDir  string // the runtime's C files, dde/linux/runtime
	OutDir  string // objects go here, build/dde/runtime
	Archive string // the archive to write, build/dde/libdde.a
	Module  string // KBUILD_MODNAME of the runtime objects, "dde"
	// Donors are unmodified kernel library modules compiled into the
	// runtime (drivers/net/mii.c: the MII helpers many NIC drivers
	// select), each fetched and verified as a port's donor files are.
	Donors []RuntimeDonor
	CFlags *CFlags
	Run    Runner
	Log    io.Writer
}

// RuntimeDonor is a library module's manifest and the donor tree it was
// fetched into (FetchResult.Dir).
type RuntimeDonor struct {
	Manifest *Manifest
	Dir      string
}

// RuntimeRecord is the provenance of the runtime archive, written next
// to it as <archive>.json: what it was compiled from and how, and the
// shadow headers, which shape the donor objects as well.
type RuntimeRecord struct {
	Archive string          `json:"archive"`
	SHA256  string          `json:"sha256"`
	Headers Package         `json:"headers"`
	CC      string          `json:"cc"`
	CFlags  string          `json:"cflags_sha256"`
	Shadow  []FileHash      `json:"shadow_headers"`
	Members []RuntimeObject `json:"members"`
}

// RuntimeObject is one compiled runtime file.
type RuntimeObject struct {
	Object  string     `json:"object"`
	SHA256  string     `json:"sha256"`
	Source  FileHash   `json:"source"`
	Donor   *SourceRef `json:"donor,omitempty"` // set for a library module's donor file
	Command []string   `json:"command"`
}

// CompileRuntime compiles every .c file of SrcDir with the donor's flags
// (so that the runtime sees the kernel structures exactly as the donor
// objects do), SrcDir on the include path after the shadow headers, into
// OutDir, then the .c files of every donor library module exactly as a
// port's donor files (no runtime folder on the include path, the
// library's own module name), and archives the objects with a
// RuntimeRecord. It stops at the first file that fails; compiler output
// goes to Log.
func CompileRuntime(ctx context.Context, o RuntimeOptions) (*RuntimeRecord, error) {
	srcs, err := filepath.Glob(filepath.Join(o.SrcDir, "*.c"))
	if err != nil || len(srcs) == 0 {
		return nil, fmt.Errorf("no runtime sources in %s", o.SrcDir)
	}
	slices.Sort(srcs)
	// Two builds at once (two ports, two people) would remove each
	// other's objects: one at a time.
	unlock, err := lockDir(o.OutDir)
	if err != nil {
		return nil, err
	}
	defer unlock()
	rec := &RuntimeRecord{Archive: filepath.Base(o.Archive), Headers: o.CFlags.Headers, CC: o.CFlags.CCVersion,
		CFlags: HashBytes(o.CFlags.Marshal())}
	if rec.Shadow, err = hashTree(o.CFlags.Shadow); err != nil {
		return nil, err
	}
	cwd, _ := os.Getwd()
	var objs []string
	warnings := 0
	type job struct {
		src, module string
		include     []string
		donor       *SourceRef
	}
	var todo []job
	for _, src := range srcs {
		todo = append(todo, job{src: src, module: o.Module, include: []string{"-I" + o.SrcDir}})
	}
	for _, d := range o.Donors {
		prov, err := checkDonorTree(d.Manifest, d.Dir)
		if err != nil {
			return nil, err
		}
		for _, p := range d.Manifest.Sources() {
			ref := donorRef(prov, p)
			todo = append(todo, job{src: filepath.Join(d.Dir, filepath.FromSlash(p)), module: d.Manifest.Module, donor: &ref})
		}
	}
	seen := map[string]string{}
	for _, j := range todo {
		src := j.src
		obj := filepath.Join(o.OutDir, strings.TrimSuffix(filepath.Base(src), ".c")+".o")
		if other, ok := seen[obj]; ok {
			return nil, fmt.Errorf("%s and %s both compile to %s", other, src, filepath.Base(obj))
		}
		seen[obj] = src
		args := append([]string{}, o.CFlags.Flags...)
		args = append(args, j.include...)
		args = append(args, ObjectDefines(j.module, src)...)
		if cwd != "" {
			args = append(args, "-ffile-prefix-map="+cwd+"=.")
		}
		args = append(args, "-c", "-o", obj, src)
		var log bytes.Buffer
		os.Remove(obj)
		err := o.Run(ctx, Command{Name: o.CFlags.CC, Args: args, Stdout: &log, Stderr: &log})
		io.WriteString(o.Log, log.String())
		warnings += strings.Count(log.String(), ": warning: ")
		if err != nil {
			return nil, fmt.Errorf("%s: %w", src, err)
		}
		src256, srcSize, err := HashFile(src)
		if err != nil {
			return nil, err
		}
		obj256, _, err := HashFile(obj)
		if err != nil {
			return nil, err
		}
		if j.donor != nil && j.donor.SHA256 != src256 {
			return nil, fmt.Errorf("%s changed while compiling (sha256 %s, recorded %s)", src, src256, j.donor.SHA256)
		}
		rec.Members = append(rec.Members, RuntimeObject{Object: filepath.Base(obj), SHA256: obj256,
			Source: FileHash{Path: src, Size: srcSize, SHA256: src256}, Donor: j.donor,
			Command: append([]string{o.CFlags.CC}, args...)})
		objs = append(objs, obj)
		fmt.Fprintf(o.Log, "  cc %-36s -> %s  sha256 %s\n", src, filepath.Base(obj), obj256[:16])
	}
	// Written aside and renamed, so that a link running meanwhile sees
	// the old archive or the new one, never half of one.
	tmp := o.Archive + ".tmp"
	os.Remove(tmp)
	var out bytes.Buffer
	c := Command{Name: "ar", Args: append([]string{"rcs", tmp}, objs...), Stdout: &out, Stderr: &out}
	if err := o.Run(ctx, c); err != nil {
		return nil, fmt.Errorf("%s: %w: %s", c, err, out.String())
	}
	if err := os.Rename(tmp, o.Archive); err != nil {
		return nil, err
	}
	if rec.SHA256, _, err = HashFile(o.Archive); err != nil {
		return nil, err
	}
	if err := writeJSON(o.Archive+".json", rec); err != nil {
		return nil, err
	}
	fmt.Fprintf(o.Log, "runtime: %d objects, %d warnings -> %s\n", len(objs), warnings, o.Archive)
	return rec, nil
}

// hashTree hashes every regular file under dir (paths relative to the
// working folder when inside it), in path order; a missing dir has none.
func hashTree(dir string) ([]FileHash, error) {
	var out []FileHash
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			if os.IsNotExist(err) && p == dir {
				return filepath.SkipDir
			}
			return err
		}
		if !d.Type().IsRegular() {
			return nil
		}
		h, size, err := HashFile(p)
		if err != nil {
			return err
		}
		if cwd, err := os.Getwd(); err == nil {
			if rel, err := filepath.Rel(cwd, p); err == nil && !strings.HasPrefix(rel, "..") {
				p = rel
			}
		}
		out = append(out, FileHash{Path: p, Size: size, SHA256: h})
		return nil
	})
	return out, err
}
