package recipe

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// A fake compiler and archiver: gcc writes "object of SRC" to -o, ar
// concatenates its members; every command is recorded.
type fakeTools struct {
	cmds [][]string
	fail string // a source whose compile fails
}

func (f *fakeTools) run(ctx context.Context, c Command) error {
	f.cmds = append(f.cmds, append([]string{c.Name}, c.Args...))
	switch c.Name {
	case "gcc-12":
		out, src := c.Args[slices.Index(c.Args, "-o")+1], c.Args[len(c.Args)-1]
		if src == f.fail {
			c.Stderr.Write([]byte(src + ":1:1: error: broken\n"))
			return errors.New("exit status 1")
		}
		return os.WriteFile(out, []byte("object of "+src), 0o644)
	case "ar":
		var b bytes.Buffer
		for _, m := range c.Args[2:] {
			data, err := os.ReadFile(m)
			if err != nil {
				return err
			}
			b.Write(data)
		}
		return os.WriteFile(c.Args[1], b.Bytes(), 0o644)
	}
	return errors.New("unexpected command " + c.Name)
}

func runtimeFixture(t *testing.T) (src, shadow, out string, cf *CFlags) {
	dir := t.TempDir()
	src, shadow, out = filepath.Join(dir, "runtime"), filepath.Join(dir, "shadow"), filepath.Join(dir, "out")
	for name, body := range map[string]string{
		filepath.Join(src, "b.c"):            "int b;\n",
		filepath.Join(src, "a.c"):            "int a;\n",
		filepath.Join(src, "dde.h"):          "/* internal */\n",
		filepath.Join(shadow, "asm", "io.h"): "/* replaces asm/io.h because ... */\n",
	} {
		if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(name, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cf = &CFlags{FlagSet: FlagSet{CC: "gcc-12", Flags: []string{"-I" + shadow, "-nostdinc", "-D__KERNEL__"}},
		Headers: Package{Name: "linux-headers-6.1.0-56-amd64", Version: "6.1.192-2"}, CCVersion: "gcc-12 (Debian) 12.2.0",
		Shadow: shadow, Recipe: CFlagsRecipe}
	return src, shadow, out, cf
}

func TestCompileRuntime(t *testing.T) {
	src, _, out, cf := runtimeFixture(t)
	tools := &fakeTools{}
	archive := filepath.Join(out, "libdde.a")
	var log bytes.Buffer
	rec, err := CompileRuntime(context.Background(), RuntimeOptions{SrcDir: src, OutDir: filepath.Join(out, "runtime"),
		Archive: archive, Module: "dde", CFlags: cf, Run: tools.run, Log: &log})
	if err != nil {
		t.Fatalf("CompileRuntime: %v\n%s", err, log.String())
	}
	// Sources in name order, each with the donor flags, the runtime
	// folder on the include path and the per-object defines.
	if len(tools.cmds) != 3 || tools.cmds[2][0] != "ar" {
		t.Fatalf("commands %q", tools.cmds)
	}
	for i, name := range []string{"a", "b"} {
		c := tools.cmds[i]
		want := []string{"gcc-12", "-I" + cf.Shadow, "-nostdinc", "-D__KERNEL__", "-I" + src,
			`-DKBUILD_BASENAME="` + name + `"`, `-DKBUILD_MODNAME="dde"`, "-D__KBUILD_MODNAME=kmod_dde"}
		if !slices.Equal(c[:len(want)], want) || c[len(c)-1] != filepath.Join(src, name+".c") {
			t.Errorf("compile %s: %q", name, c)
		}
	}
	// The record: archive hash, members with source hashes, shadow headers.
	var got RuntimeRecord
	data, err := os.ReadFile(archive + ".json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &got); err != nil {
		t.Fatal(err)
	}
	sum, _, _ := HashFile(archive)
	if got.SHA256 != sum || got.Archive != "libdde.a" || got.Headers != cf.Headers || len(got.Members) != 2 {
		t.Errorf("record %+v", got)
	}
	if m := got.Members[0]; m.Object != "a.o" || m.Source.SHA256 != HashBytes([]byte("int a;\n")) || m.SHA256 != HashBytes([]byte("object of "+filepath.Join(src, "a.c"))) {
		t.Errorf("member %+v", m)
	}
	if len(got.Shadow) != 1 || !strings.HasSuffix(got.Shadow[0].Path, filepath.Join("asm", "io.h")) {
		t.Errorf("shadow headers %+v", got.Shadow)
	}
	if rec.SHA256 != got.SHA256 {
		t.Errorf("returned record differs from the written one")
	}
}

func TestCompileRuntimeStopsOnError(t *testing.T) {
	src, _, out, cf := runtimeFixture(t)
	tools := &fakeTools{fail: filepath.Join(src, "a.c")}
	var log bytes.Buffer
	_, err := CompileRuntime(context.Background(), RuntimeOptions{SrcDir: src, OutDir: out,
		Archive: filepath.Join(out, "libdde.a"), Module: "dde", CFlags: cf, Run: tools.run, Log: &log})
	if err == nil || !strings.Contains(log.String(), "error: broken") {
		t.Errorf("err %v, log %q", err, log.String())
	}
	if _, err := os.Stat(filepath.Join(out, "libdde.a")); err == nil {
		t.Error("archive written despite the failure")
	}
}

// A library module's donor files are compiled into the runtime as a
// port's are (no runtime folder on the include path, the library's own
// module name), after the runtime's files, and recorded with their donor
// source; the link record names them with package and version.
func TestCompileRuntimeDonors(t *testing.T) {
	src, _, out, cf := runtimeFixture(t)
	tree := filepath.Join(t.TempDir(), "linux-6.1.192-2")
	lib := filepath.Join(tree, "drivers", "x", "x.c")
	if err := os.MkdirAll(filepath.Dir(lib), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, body := range map[string]string{lib: "abc", filepath.Join(tree, "drivers", "x", "x.h"): "h"} {
		if err := os.WriteFile(name, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	prov := sampleProvenance() // records drivers/x/x.c as "abc", x.h as "h"
	if err := WriteProvenance(tree, prov); err != nil {
		t.Fatal(err)
	}
	m := &Manifest{Port: "x", Module: "xlib", Kbuild: "drivers/x/Makefile", Files: []string{"drivers/x/x.c", "drivers/x/x.h"}}
	tools := &fakeTools{}
	archive := filepath.Join(out, "libdde.a")
	var log bytes.Buffer
	rec, err := CompileRuntime(context.Background(), RuntimeOptions{SrcDir: src, OutDir: filepath.Join(out, "runtime"),
		Archive: archive, Module: "dde", Donors: []RuntimeDonor{{Manifest: m, Dir: tree}}, CFlags: cf, Run: tools.run, Log: &log})
	if err != nil {
		t.Fatalf("CompileRuntime: %v\n%s", err, log.String())
	}
	if len(tools.cmds) != 4 || tools.cmds[3][0] != "ar" {
		t.Fatalf("commands %q", tools.cmds)
	}
	c := tools.cmds[2]
	want := []string{"gcc-12", "-I" + cf.Shadow, "-nostdinc", "-D__KERNEL__",
		`-DKBUILD_BASENAME="x"`, `-DKBUILD_MODNAME="xlib"`, "-D__KBUILD_MODNAME=kmod_xlib"}
	if !slices.Equal(c[:len(want)], want) || c[len(c)-1] != lib {
		t.Errorf("library compile %q, want it to start %q and end with %s", c, want, lib)
	}
	if len(rec.Members) != 3 || rec.Members[0].Donor != nil || rec.Members[2].Object != "x.o" {
		t.Fatalf("members %+v", rec.Members)
	}
	wantRef := SourceRef{Package: "linux-source-6.1", Version: "6.1.192-2", Path: "drivers/x/x.c",
		SHA256: HashBytes([]byte("abc")), TarballSHA256: prov.Tarball.SHA256}
	if d := rec.Members[2].Donor; d == nil || *d != wantRef {
		t.Errorf("donor of x.o %+v, want %+v", d, wantRef)
	}

	// The link record carries the library's package, version and path.
	dir := t.TempDir()
	donor := filepath.Join(dir, "libdemo.a")
	ar := &ArchiveRecord{Archive: "libdemo.a", Port: "demo"}
	writeArchive(t, donor, []byte("donor archive"), ar, func(s string) { ar.SHA256 = s })
	lr, err := MakeLinkRecord(donor, archive, "")
	if err != nil {
		t.Fatal(err)
	}
	wantMember := LinkMember{Object: "x.o", SHA256: rec.Members[2].SHA256, Package: "linux-source-6.1", Version: "6.1.192-2",
		Source: "drivers/x/x.c", Source256: HashBytes([]byte("abc"))}
	if got := lr.Runtime.Members[2]; !reflect.DeepEqual(got, wantMember) {
		t.Errorf("link member %+v, want %+v", got, wantMember)
	}

	// A library file changed since the fetch is refused before compiling.
	os.WriteFile(lib, []byte("abd"), 0o644)
	tools.cmds = nil
	if _, err := CompileRuntime(context.Background(), RuntimeOptions{SrcDir: src, OutDir: filepath.Join(out, "runtime"),
		Archive: archive, Module: "dde", Donors: []RuntimeDonor{{Manifest: m, Dir: tree}}, CFlags: cf, Run: tools.run, Log: &log}); err == nil ||
		!strings.Contains(err.Error(), "differs from its recorded SHA-256") || len(tools.cmds) != 0 {
		t.Errorf("changed library file: %v, commands %q", err, tools.cmds)
	}
}
