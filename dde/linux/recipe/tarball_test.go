package recipe

import (
	"archive/tar"
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// makeTarXZ writes a .tar.xz of the given members (name → content; a
// content starting with "->" makes a symlink) with the xz command.
func makeTarXZ(t *testing.T, members [][2]string) string {
	t.Helper()
	if _, err := exec.LookPath("xz"); err != nil {
		t.Skip("xz not installed (apt-get install xz-utils)")
	}
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for _, m := range members {
		h := &tar.Header{Name: m[0], Mode: 0o644, Size: int64(len(m[1])), Typeflag: tar.TypeReg}
		if target, ok := strings.CutPrefix(m[1], "->"); ok {
			h.Typeflag, h.Linkname, h.Size = tar.TypeSymlink, target, 0
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			tw.Write([]byte(m[1]))
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	name := filepath.Join(t.TempDir(), "src.tar.xz")
	cmd := exec.Command("xz", "--compress", "--stdout")
	cmd.Stdin = &b
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(name, out, 0o644); err != nil {
		t.Fatal(err)
	}
	return name
}

func TestExtractMembers(t *testing.T) {
	big := strings.Repeat("filler ", 200000) // the reader stops before this
	tarball := makeTarXZ(t, [][2]string{
		{"linux-source-6.1/Makefile", "VERSION = 6\n"},
		{"linux-source-6.1/drivers/x/x.c", "int x;\n"},
		{"other/drivers/x/x.c", "wrong prefix\n"},
		{"linux-source-6.1/drivers/x/link.h", "->x.h"},
		{"linux-source-6.1/zz/big.c", big},
	})
	var log bytes.Buffer
	got, err := ExtractMembers(context.Background(), tarball, "linux-source-6.1/", []string{"Makefile", "drivers/x/x.c"}, &Progress{W: &log, What: "reading"})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]byte{"Makefile": []byte("VERSION = 6\n"), "drivers/x/x.c": []byte("int x;\n")}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if !strings.Contains(log.String(), "reading: done,") {
		t.Errorf("progress log:\n%s", log.String())
	}

	_, err = ExtractMembers(context.Background(), tarball, "linux-source-6.1/", []string{"Makefile", "drivers/y.c", "drivers/z.c"}, &Progress{})
	if want := tarball + " has no member linux-source-6.1/drivers/y.c, linux-source-6.1/drivers/z.c"; err == nil || err.Error() != want {
		t.Errorf("missing members: error %v, want %s", err, want)
	}
	_, err = ExtractMembers(context.Background(), tarball, "linux-source-6.1/", []string{"drivers/x/link.h"}, &Progress{})
	if want := tarball + `: member linux-source-6.1/drivers/x/link.h is not a regular file (type '2')`; err == nil || err.Error() != want {
		t.Errorf("symlink: error %v, want %s", err, want)
	}
	notXZ := filepath.Join(t.TempDir(), "bad.tar.xz")
	os.WriteFile(notXZ, []byte("not xz"), 0o644)
	if _, err := ExtractMembers(context.Background(), notXZ, "p/", []string{"a"}, &Progress{}); err == nil || !strings.Contains(err.Error(), "xz: exit status 1") {
		t.Errorf("not xz: error %v", err)
	}
}

func TestProgressLines(t *testing.T) {
	var b bytes.Buffer
	p := &Progress{W: &b, What: "hashing x", Total: 100 << 20}
	for range 100 {
		p.Add(1 << 20)
	}
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != 11 || lines[0] != "hashing x:   1% (1/100 MB)" || lines[1] != "hashing x:  10% (10/100 MB)" || lines[10] != "hashing x: 100% (100/100 MB)" {
		t.Errorf("got %d lines:\n%s", len(lines), b.String())
	}
}
