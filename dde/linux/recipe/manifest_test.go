package recipe

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The real manifest, as committed.
func TestLoadManifestE1000(t *testing.T) {
	m, err := LoadManifest("../../../donors/linux/e1000.toml")
	if err != nil {
		t.Fatal(err)
	}
	dir := "drivers/net/ethernet/intel/e1000/"
	want := &Manifest{
		Port:   "e1000",
		Module: "e1000",
		Kbuild: dir + "Makefile",
		Files: []string{dir + "e1000_main.c", dir + "e1000_hw.c", dir + "e1000_ethtool.c", dir + "e1000_param.c",
			dir + "e1000.h", dir + "e1000_hw.h", dir + "e1000_osdep.h"},
		Patches: []string{},
		Debian:  Debian{Source: "linux-source-6.1", Tarball: "/usr/src/linux-source-6.1.tar.xz", Headers: "linux-headers-amd64"},
	}
	if diff := cmp.Diff(want, m); diff != "" {
		t.Fatalf("manifest (-want +got):\n%s", diff)
	}
	if got, want := m.Sources(), want.Files[:4]; !cmp.Equal(got, want) {
		t.Errorf("Sources = %v, want %v", got, want)
	}
	wantTree := []string{"Makefile", dir + "Makefile", dir + "e1000.h", dir + "e1000_ethtool.c", dir + "e1000_hw.c",
		dir + "e1000_hw.h", dir + "e1000_main.c", dir + "e1000_osdep.h", dir + "e1000_param.c"}
	if got := m.TreeFiles(); !cmp.Equal(got, wantTree) {
		t.Errorf("TreeFiles = %v, want %v", got, wantTree)
	}
	if got := m.TarPrefix(); got != "linux-source-6.1/" {
		t.Errorf("TarPrefix = %q", got)
	}
}

const goodManifest = `
port = "x"
module = "x"
kbuild = "drivers/x/Makefile"
files = ["drivers/x/x.c"]
patches = []
[debian]
source = "linux-source-6.1"
tarball = "/usr/src/linux-source-6.1.tar.xz"
headers = "linux-headers-amd64"
`

func TestParseManifestErrors(t *testing.T) {
	for _, tc := range []struct {
		name, text, want string
	}{
		{"syntax", `port = `, `m.toml: toml: line 1 (last key "port"): unexpected EOF; expected value`},
		{"unknown key", goodManifest + "colour = 1\n", `m.toml: unknown key "debian.colour"`},
		{"empty", ``, `m.toml: port "" must match ^[a-z0-9][a-z0-9_-]{0,31}$; module "" must match ^[a-z0-9][a-z0-9_-]{0,31}$; kbuild "": empty path; files is empty; debian.source "" is not a Debian package name; debian.headers "" is not a Debian package name; debian.tarball "" must be a /usr/src/*.tar.xz file`},
		{"bad paths", `
port = "x"
module = "x"
kbuild = "drivers/x/Kconfig"
files = ["drivers/x/x.c", "../etc/passwd.c", "/abs.c", "drivers/x/x.c", "drivers/x/./y.h", "drivers/x/notes.txt"]
patches = ["../fix.patch"]
[debian]
source = "linux-source-6.1"
tarball = "/tmp/linux.tar.gz"
headers = "Linux Headers"
`, `m.toml: kbuild "drivers/x/Kconfig" must name a Makefile or Kbuild file; files[1] "../etc/passwd.c": must be a clean relative path inside the kernel tree; files[2] "/abs.c": must be a clean relative path inside the kernel tree; files[3] "drivers/x/x.c" is listed twice; files[4] "drivers/x/./y.h": must be a clean relative path inside the kernel tree; files[5] "drivers/x/notes.txt": want a .c or .h file; patches[0] "../fix.patch" must be a .patch file below the manifest's folder; debian.headers "Linux Headers" is not a Debian package name; debian.tarball "/tmp/linux.tar.gz" must be a /usr/src/*.tar.xz file`},
		{"headers only", `
port = "x"
module = "x"
kbuild = "drivers/x/Makefile"
files = ["drivers/x/x.h"]
[debian]
source = "linux-source-6.1"
tarball = "/usr/src/linux-source-6.1.tar.xz"
headers = "linux-headers-amd64"
`, `m.toml: files has no .c file`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseManifest("m.toml", []byte(tc.text))
			if err == nil {
				t.Fatal("no error")
			}
			if err.Error() != tc.want {
				t.Errorf("error\n got %s\nwant %s", err, tc.want)
			}
			if !errors.Is(err, ErrManifest) {
				t.Errorf("errors.Is(err, ErrManifest) = false")
			}
		})
	}
	if _, err := ParseManifest("m.toml", []byte(goodManifest)); err != nil {
		t.Errorf("good manifest: %v", err)
	}
}

func TestLoadManifestPortMustMatchFileName(t *testing.T) {
	file := filepath.Join(t.TempDir(), "y.toml")
	if err := os.WriteFile(file, []byte(goodManifest), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := LoadManifest(file)
	if want := file + `: port "x" differs from the file name (want "y")`; err == nil || err.Error() != want {
		t.Errorf("error %v, want %s", err, want)
	}
}
