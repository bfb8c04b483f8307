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
	CFlags  *CFlags
	Run     Runner
	Log     io.Writer
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
	Object  string   `json:"object"`
	SHA256  string   `json:"sha256"`
	Source  FileHash `json:"source"`
	Command []string `json:"command"`
}

// CompileRuntime compiles every .c file of SrcDir with the donor's flags
// (so that the runtime sees the kernel structures exactly as the donor
// objects do), SrcDir on the include path after the shadow headers, into
// OutDir, and archives the objects with a RuntimeRecord. It stops at the
// first file that fails; compiler output goes to Log.
func CompileRuntime(ctx context.Context, o RuntimeOptions) (*RuntimeRecord, error) {
	srcs, err := filepath.Glob(filepath.Join(o.SrcDir, "*.c"))
	if err != nil || len(srcs) == 0 {
		return nil, fmt.Errorf("no runtime sources in %s", o.SrcDir)
	}
	slices.Sort(srcs)
	if err := os.MkdirAll(o.OutDir, 0o755); err != nil {
		return nil, err
	}
	rec := &RuntimeRecord{Archive: filepath.Base(o.Archive), Headers: o.CFlags.Headers, CC: o.CFlags.CCVersion,
		CFlags: HashBytes(o.CFlags.Marshal())}
	if rec.Shadow, err = hashTree(o.CFlags.Shadow); err != nil {
		return nil, err
	}
	cwd, _ := os.Getwd()
	var objs []string
	warnings := 0
	for _, src := range srcs {
		obj := filepath.Join(o.OutDir, strings.TrimSuffix(filepath.Base(src), ".c")+".o")
		args := append([]string{}, o.CFlags.Flags...)
		args = append(args, "-I"+o.SrcDir)
		args = append(args, ObjectDefines(o.Module, src)...)
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
		rec.Members = append(rec.Members, RuntimeObject{Object: filepath.Base(obj), SHA256: obj256,
			Source: FileHash{Path: src, Size: srcSize, SHA256: src256}, Command: append([]string{o.CFlags.CC}, args...)})
		objs = append(objs, obj)
		fmt.Fprintf(o.Log, "  cc %-36s -> %s  sha256 %s\n", src, filepath.Base(obj), obj256[:16])
	}
	os.Remove(o.Archive)
	var out bytes.Buffer
	c := Command{Name: "ar", Args: append([]string{"rcs", o.Archive}, objs...), Stdout: &out, Stderr: &out}
	if err := o.Run(ctx, c); err != nil {
		return nil, fmt.Errorf("%s: %w: %s", c, err, out.String())
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
