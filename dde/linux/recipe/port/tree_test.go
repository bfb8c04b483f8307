package port

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"testing"

	"grailos/dde/linux/recipe"
)

// testTarball writes a .tar.xz with Debian's layout (one top folder,
// members of a folder together) and returns its path and SHA-256.
func testTarball(t *testing.T) (string, string) {
	t.Helper()
	if _, err := exec.LookPath("xz"); err != nil {
		t.Skip("xz is not installed (apt-get install xz-utils)")
	}
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for _, m := range []struct{ name, body string }{
		{"src/", ""}, {"src/Makefile", "VERSION = 6\n"}, {"src/a/", ""}, {"src/a/x.c", "x"},
		{"src/b/", ""}, {"src/b/Makefile", "obj-m += y.o\n"}, {"src/b/sub/", ""}, {"src/b/sub/z.h", "z"},
		{"src/c/", ""}, {"src/c/w.c", "w"},
	} {
		h := &tar.Header{Name: m.name, Mode: 0o644, Size: int64(len(m.body)), Typeflag: tar.TypeReg}
		if m.name[len(m.name)-1] == '/' {
			h.Typeflag, h.Mode = tar.TypeDir, 0o755
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(m.body))
	}
	tw.Close()
	name := filepath.Join(t.TempDir(), "src.tar.xz")
	xz := exec.Command("xz", "-c")
	xz.Stdin = &b
	out, err := xz.Output()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(name, out, 0o644); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(out)
	return name, hex.EncodeToString(sum[:])
}

func TestReadTree(t *testing.T) {
	tarball, sum := testTarball(t)
	tests := []struct {
		name   string
		files  []string
		dirs   []string
		full   bool
		want   []string
		hashed bool
	}{
		{"one folder and a file", []string{"Makefile"}, []string{"b/"}, false, []string{"Makefile", "b/Makefile", "b/sub/z.h"}, false},
		{"full read hashes", []string{"Makefile"}, []string{"a/", "c/"}, true, []string{"Makefile", "a/x.c", "c/w.c"}, true},
		{"nothing matches", []string{"nope.c"}, nil, false, nil, true}, // read to the end looking for it
	}
	for _, tt := range tests {
		tr, err := ReadTree(context.Background(), tarball, "src/", tt.files, tt.dirs, tt.full)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		var got []string
		for p := range tr.Files {
			got = append(got, p)
		}
		slices.Sort(got)
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: files %q, want %q", tt.name, got, tt.want)
		}
		if tt.hashed != tr.Complete || (tt.hashed && tr.SHA256 != sum) {
			t.Errorf("%s: complete %v sha256 %s, want complete %v sha256 %s", tt.name, tr.Complete, tr.SHA256, tt.hashed, sum)
		}
	}
}

func TestWriteAndVerifyTree(t *testing.T) {
	dir := t.TempDir()
	prov := &recipe.Provenance{}
	if err := WriteTree(dir, map[string][]byte{"a/x.c": []byte("x"), "Makefile": []byte("m")}, prov); err != nil {
		t.Fatal(err)
	}
	if got := len(prov.Files); got != 2 || prov.Files[0].Path != "Makefile" || prov.Files[1].SHA256 != recipe.HashBytes([]byte("x")) {
		t.Errorf("recorded %+v", prov.Files)
	}
	if err := VerifyTree(dir, prov); err != nil {
		t.Errorf("VerifyTree: %v", err)
	}
	os.WriteFile(filepath.Join(dir, "a", "x.c"), []byte("changed"), 0o644)
	if err := VerifyTree(dir, prov); err == nil || err.Error() != "a/x.c differs from its recorded SHA-256" {
		t.Errorf("VerifyTree after a change: %v", err)
	}
}
