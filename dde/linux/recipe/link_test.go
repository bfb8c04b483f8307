package recipe

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func writeArchive(t *testing.T, path string, data []byte, rec interface{ sum() string }, set func(sum string)) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	set(HashBytes(data))
	b, _ := json.Marshal(rec)
	if err := os.WriteFile(path+".json", b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func linkFixture(t *testing.T, runtimeHeaders Package) (dir, donor, runtime string) {
	dir = t.TempDir()
	hdr := Package{Name: "linux-headers-6.1.0-56-amd64", Version: "6.1.192-2"}
	donor, runtime = filepath.Join(dir, "libdemo.a"), filepath.Join(dir, "libdde.a")
	ar := &ArchiveRecord{Archive: "libdemo.a", Port: "demo", Members: []ObjectRecord{{Object: "demo.o", SHA256: "aa",
		Headers: hdr, Source: SourceRef{Package: "linux-source-6.1", Version: "6.1.192-2", Path: "drivers/demo.c", SHA256: "bb"}}}}
	writeArchive(t, donor, []byte("donor archive"), ar, func(s string) { ar.SHA256 = s })
	rr := &RuntimeRecord{Archive: "libdde.a", Headers: runtimeHeaders, CC: "gcc-12",
		Members: []RuntimeObject{{Object: "api.o", SHA256: "cc", Source: FileHash{Path: "dde/linux/runtime/api.c", SHA256: "dd"}}}}
	writeArchive(t, runtime, []byte("runtime archive"), rr, func(s string) { rr.SHA256 = s })
	return dir, donor, runtime
}

func TestMakeLinkRecord(t *testing.T) {
	hdr := Package{Name: "linux-headers-6.1.0-56-amd64", Version: "6.1.192-2"}
	dir, donor, runtime := linkFixture(t, hdr)
	rec, err := MakeLinkRecord(donor, runtime, filepath.Join(dir, "stubs_generated.o"))
	if err != nil {
		t.Fatal(err)
	}
	want := LinkMember{Object: "demo.o", SHA256: "aa", Package: "linux-source-6.1", Version: "6.1.192-2",
		Source: "drivers/demo.c", Source256: "bb"}
	if rec.Port != "demo" || len(rec.Donor.Members) != 1 || !reflect.DeepEqual(rec.Donor.Members[0], want) ||
		len(rec.Runtime.Members) != 1 || rec.Runtime.Members[0].Source != "dde/linux/runtime/api.c" || rec.Stubs != nil {
		t.Errorf("record %+v", rec)
	}

	// An archive changed after its record was written is refused.
	os.WriteFile(donor, []byte("rebuilt"), 0o644)
	if _, err := MakeLinkRecord(donor, runtime, ""); err == nil || !strings.Contains(err.Error(), "changed") {
		t.Errorf("changed archive: %v", err)
	}
}

// A donor object next to its archive: the record lists its functions,
// static ones included, and nothing else it defines.
func TestMakeLinkRecordFunctions(t *testing.T) {
	if _, err := exec.LookPath("gcc"); err != nil {
		t.Skip("gcc not installed")
	}
	hdr := Package{Name: "linux-headers-6.1.0-56-amd64", Version: "6.1.192-2"}
	dir, donor, runtime := linkFixture(t, hdr)
	src := filepath.Join(dir, "demo.c")
	os.WriteFile(src, []byte("int counter;\nstatic int helper(int x) { return x + counter; }\n"+
		"int (*keep)(int) = helper;\nint demo_probe(void) { return helper(1); }\n"), 0o644)
	if out, err := exec.Command("gcc", "-c", "-O2", "-o", filepath.Join(dir, "demo.o"), src).CombinedOutput(); err != nil {
		t.Fatalf("gcc: %v: %s", err, out)
	}
	rec, err := MakeLinkRecord(donor, runtime, "")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := rec.Donor.Members[0].Functions, []string{"demo_probe", "helper"}; !reflect.DeepEqual(got, want) {
		t.Errorf("functions %q, want %q", got, want)
	}
	os.WriteFile(filepath.Join(dir, "demo.o"), []byte("not ELF"), 0o644)
	if _, err := MakeLinkRecord(donor, runtime, ""); err == nil {
		t.Error("an unreadable donor object was accepted")
	}
}

func TestMakeLinkRecordHeadersDisagree(t *testing.T) {
	_, donor, runtime := linkFixture(t, Package{Name: "linux-headers-6.1.0-57-amd64", Version: "6.1.193-1"})
	if _, err := MakeLinkRecord(donor, runtime, ""); err == nil || !strings.Contains(err.Error(), "rebuild both") {
		t.Errorf("headers disagree: %v", err)
	}
}

func TestCQuote(t *testing.T) {
	for in, want := range map[string]string{
		"plain":       `"plain"`,
		"a\"b\\c":     `"a\"b\\c"`,
		"line\n":      `"line\012"`,
		"\x01" + "7":  `"\0017"`,
		"caf\xc3\xa9": `"caf\303\251"`,
	} {
		if got := cQuote(in); got != want {
			t.Errorf("cQuote(%q) = %s, want %s", in, got, want)
		}
	}
}

// The generated C compiles and holds the JSON byte for byte.
func TestWriteLinkRecordCompiles(t *testing.T) {
	for _, tool := range []string{"gcc", "objcopy"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed", tool)
		}
	}
	hdr := Package{Name: "linux-headers-6.1.0-56-amd64", Version: "6.1.192-2"}
	dir, donor, runtime := linkFixture(t, hdr)
	rec, err := MakeLinkRecord(donor, runtime, "")
	if err != nil {
		t.Fatal(err)
	}
	sum, err := Runner(ExecRunner).WriteLinkRecord(context.Background(), "gcc", dir, "ddebuild provenance x", rec)
	if err != nil {
		t.Fatal(err)
	}
	js, _ := os.ReadFile(filepath.Join(dir, "provenance.json"))
	if HashBytes(js) != sum {
		t.Errorf("returned sum is not the JSON's")
	}
	sec := filepath.Join(dir, "section.bin")
	if out, err := exec.Command("objcopy", "-O", "binary", "--only-section=.grail.provenance",
		filepath.Join(dir, "provenance.o"), sec).CombinedOutput(); err != nil {
		t.Fatalf("objcopy: %v: %s", err, out)
	}
	got, _ := os.ReadFile(sec)
	if string(got) != string(js)+"\x00" {
		t.Errorf("section holds %q, want the JSON and a NUL", got)
	}
}
