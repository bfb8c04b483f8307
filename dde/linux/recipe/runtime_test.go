package recipe

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
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
