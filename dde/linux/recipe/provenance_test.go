package recipe

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func sampleProvenance() *Provenance {
	p := &Provenance{
		Format: provenanceFormat,
		Kernel: "6.1.192",
		Packages: []Package{{"linux-source-6.1", "6.1.192-2"}, {"linux-headers-amd64", "6.1.192-2"},
			{"linux-headers-6.1.0-56-amd64", "6.1.192-2"}, {"linux-headers-6.1.0-56-common", "6.1.192-2"}},
		Tarball: Tarball{Path: "/usr/src/linux-source-6.1.tar.xz", Package: "linux-source-6.1", Size: 138009412,
			SHA256: strings.Repeat("ab", 32), MD5: strings.Repeat("cd", 16)},
		Headers: HeadersRef{Package: "linux-headers-6.1.0-56-amd64", Version: "6.1.192-2",
			Dir: "/usr/src/linux-headers-6.1.0-56-amd64", CommonDir: "/usr/src/linux-headers-6.1.0-56-common", KernelRelease: "6.1.192"},
	}
	p.SetFile(FileHash{Path: "drivers/x/x.c", Size: 3, SHA256: HashBytes([]byte("abc"))})
	p.SetFile(FileHash{Path: "Makefile", Size: 1, SHA256: HashBytes([]byte("m"))})
	p.SetFile(FileHash{Path: "drivers/x/x.h", Size: 1, SHA256: HashBytes([]byte("h"))})
	return p
}

func TestProvenanceRoundTrip(t *testing.T) {
	p := sampleProvenance()
	if got := []string{p.Files[0].Path, p.Files[1].Path, p.Files[2].Path}; !cmp.Equal(got, []string{"Makefile", "drivers/x/x.c", "drivers/x/x.h"}) {
		t.Fatalf("SetFile order %v", got)
	}
	p.SetFile(FileHash{Path: "drivers/x/x.c", Size: 4, SHA256: HashBytes([]byte("abcd"))})
	if f, ok := p.File("drivers/x/x.c"); !ok || f.Size != 4 || len(p.Files) != 3 {
		t.Fatalf("SetFile replace: %+v %v, %d files", f, ok, len(p.Files))
	}
	if _, ok := p.File("nope"); ok {
		t.Error("File(nope) found")
	}
	if got := p.Package("linux-headers-amd64"); got != "6.1.192-2" {
		t.Errorf("Package = %q", got)
	}
	dir := t.TempDir()
	if err := WriteProvenance(dir, p); err != nil {
		t.Fatal(err)
	}
	back, err := ReadProvenance(dir)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(p, back); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
	data, _ := os.ReadFile(filepath.Join(dir, ProvenanceFile))
	for _, want := range []string{`"format": 1,`, `"kernel": "6.1.192",`, `"sha256": "` + HashBytes([]byte("abcd")) + `"`, `"kernel_release": "6.1.192"`} {
		if !strings.Contains(string(data), want) {
			t.Errorf("JSON lacks %s:\n%s", want, data)
		}
	}
	if !strings.HasSuffix(string(data), "}\n") {
		t.Error("JSON does not end in a newline")
	}
}

func TestUnmarshalProvenanceErrors(t *testing.T) {
	good, err := MarshalProvenance(sampleProvenance())
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, text, want string }{
		{"unknown field", strings.Replace(string(good), `"format": 1,`, `"format": 1, "extra": true,`, 1), `provenance: json: unknown field "extra"`},
		{"format", strings.Replace(string(good), `"format": 1,`, `"format": 2,`, 1), "provenance: format 2, want 1"},
		{"unsorted", strings.Replace(string(good), `"path": "Makefile"`, `"path": "zz"`, 1), `provenance: files not sorted or duplicated at "drivers/x/x.c"`},
		{"not json", "{", "provenance: unexpected EOF"},
	} {
		if _, err := UnmarshalProvenance([]byte(tc.text)); err == nil || err.Error() != tc.want {
			t.Errorf("%s: error %v, want %s", tc.name, err, tc.want)
		}
	}
}

func TestHashFile(t *testing.T) {
	name := filepath.Join(t.TempDir(), "f")
	if err := writeFileAtomic(name, []byte("abc"), 0o644); err != nil {
		t.Fatal(err)
	}
	sum, n, err := HashFile(name)
	// SHA-256("abc") from FIPS 180-2.
	if err != nil || n != 3 || sum != "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" {
		t.Errorf("HashFile = %s %d %v", sum, n, err)
	}
}
