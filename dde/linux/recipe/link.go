package recipe

import (
	"context"
	"debug/elf"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// LinkRecord is the provenance of everything C that a port's server
// binary links: the donor objects (package, version, path and SHA-256 of
// each source), the DDE runtime and the generated stubs. WriteLinkRecord
// writes it as provenance.json and as provenance.o, an object holding the
// same JSON as the C string dde_provenance, so the binary carries it.
type LinkRecord struct {
	Port    string      `json:"port"`
	Donor   LinkArchive `json:"donor"`
	Runtime LinkArchive `json:"runtime"`
	Stubs   *FileHash   `json:"stubs,omitempty"`
	Headers Package     `json:"headers"`
	CC      string      `json:"cc"`
}

// LinkArchive is one archive and its members, without compile commands.
type LinkArchive struct {
	Archive string       `json:"archive"`
	SHA256  string       `json:"sha256"`
	Members []LinkMember `json:"members"`
}

// LinkMember is one object and the source it was compiled from.
type LinkMember struct {
	Object    string `json:"object"`
	SHA256    string `json:"sha256"`
	Package   string `json:"package,omitempty"` // Debian source package, donor objects only
	Version   string `json:"version,omitempty"`
	Source    string `json:"source"`
	Source256 string `json:"source_sha256"`
	// Functions are the functions the object defines (static ones too),
	// sorted: donor objects only. Fault injection (grail inject) places
	// code faults in these and nowhere else; it finds their addresses in
	// the linked binary's symbol table (a static function by its file
	// symbol, the source's base name).
	Functions []string `json:"functions,omitempty"`
}

// MakeLinkRecord reads <donorArchive>.json and <runtimeArchive>.json and
// hashes stubsObject (if it exists), checking the archives still have
// the hashes their records name.
func MakeLinkRecord(donorArchive, runtimeArchive, stubsObject string) (*LinkRecord, error) {
	var ar ArchiveRecord
	if err := readRecord(donorArchive, &ar); err != nil {
		return nil, err
	}
	var rr RuntimeRecord
	if err := readRecord(runtimeArchive, &rr); err != nil {
		return nil, err
	}
	rec := &LinkRecord{Port: ar.Port, Headers: rr.Headers, CC: rr.CC,
		Donor:   LinkArchive{Archive: ar.Archive, SHA256: ar.SHA256},
		Runtime: LinkArchive{Archive: rr.Archive, SHA256: rr.SHA256}}
	for _, m := range ar.Members {
		if m.Headers != rr.Headers {
			return nil, fmt.Errorf("%s was compiled against %s %s, the runtime against %s %s: rebuild both",
				m.Object, m.Headers.Name, m.Headers.Version, rr.Headers.Name, rr.Headers.Version)
		}
		fns, err := ObjectFunctions(filepath.Join(filepath.Dir(donorArchive), m.Object))
		if err != nil {
			return nil, err
		}
		rec.Donor.Members = append(rec.Donor.Members, LinkMember{Object: m.Object, SHA256: m.SHA256,
			Package: m.Source.Package, Version: m.Source.Version, Source: m.Source.Path, Source256: m.Source.SHA256,
			Functions: fns})
	}
	for _, m := range rr.Members {
		lm := LinkMember{Object: m.Object, SHA256: m.SHA256, Source: m.Source.Path, Source256: m.Source.SHA256}
		if d := m.Donor; d != nil { // a library module's donor file
			lm.Package, lm.Version, lm.Source, lm.Source256 = d.Package, d.Version, d.Path, d.SHA256
		}
		rec.Runtime.Members = append(rec.Runtime.Members, lm)
	}
	if stubsObject != "" {
		if sum, size, err := HashFile(stubsObject); err == nil {
			rec.Stubs = &FileHash{Path: filepath.Base(stubsObject), Size: size, SHA256: sum}
		} else if !os.IsNotExist(err) {
			return nil, err
		}
	}
	return rec, nil
}

// ObjectFunctions lists the functions an ELF object defines, global and
// static, sorted; nil if the object does not exist (a record read
// without its objects).
func ObjectFunctions(object string) ([]string, error) {
	f, err := elf.Open(object)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("listing the functions of %s: %w", object, err)
	}
	defer f.Close()
	syms, err := f.Symbols()
	if err != nil && !errors.Is(err, elf.ErrNoSymbols) {
		return nil, fmt.Errorf("listing the functions of %s: %w", object, err)
	}
	var out []string
	for _, s := range syms {
		if elf.ST_TYPE(s.Info) == elf.STT_FUNC && s.Section != elf.SHN_UNDEF && s.Name != "" {
			out = append(out, s.Name)
		}
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// readRecord reads archive.json into v and checks the archive's SHA-256.
func readRecord(archive string, v interface{ sum() string }) error {
	data, err := os.ReadFile(archive + ".json")
	if err != nil {
		return err
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("%s.json: %w", archive, err)
	}
	sum, _, err := HashFile(archive)
	if err != nil {
		return err
	}
	if sum != v.sum() {
		return fmt.Errorf("%s changed since %s.json was written: rebuild it", archive, archive)
	}
	return nil
}

func (a *ArchiveRecord) sum() string { return a.SHA256 }
func (r *RuntimeRecord) sum() string { return r.SHA256 }

// WriteLinkRecord writes dir/provenance.json and dir/provenance.o (from
// dir/provenance.c, compiled with cc: the JSON as dde_provenance, the
// first 16 hex digits of its SHA-256 as dde_build_id) and returns the
// JSON's SHA-256;
// regen is the command that regenerates them, for the C file's first line.
func (r Runner) WriteLinkRecord(ctx context.Context, cc, dir, regen string, rec *LinkRecord) (string, error) {
	data, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return "", err
	}
	data = append(data, '\n')
	if err := writeFileAtomic(filepath.Join(dir, "provenance.json"), data, 0o644); err != nil {
		return "", err
	}
	var c strings.Builder
	c.WriteString("/* Generated by ddebuild provenance; do not edit. Regenerate with: " + regen + ". */\n")
	c.WriteString("/* The provenance of the C objects linked into the " + rec.Port + " server (provenance.json). */\n")
	c.WriteString("__attribute__((used, section(\".grail.provenance\")))\nconst char dde_provenance[] =\n")
	for _, line := range strings.SplitAfter(string(data), "\n") {
		if line != "" {
			c.WriteString("\t" + cQuote(line) + "\n")
		}
	}
	c.WriteString("\t;\n")
	sum := HashBytes(data)
	c.WriteString("/* The first 16 hex digits of the SHA-256 of dde_provenance: the build ID. */\n")
	c.WriteString("const char dde_build_id[] = " + cQuote(sum[:16]) + ";\n")
	src, obj := filepath.Join(dir, "provenance.c"), filepath.Join(dir, "provenance.o")
	if err := writeFileAtomic(src, []byte(c.String()), 0o644); err != nil {
		return "", err
	}
	if _, err := r.output(ctx, cc, "-c", "-O2", "-fno-PIE", "-Wall", "-Werror", "-o", obj, src); err != nil {
		return "", err
	}
	return sum, nil
}

// cQuote renders s as a C string literal: printable ASCII as is, the rest
// as three-digit octal escapes (which, unlike \x, cannot swallow a
// following digit).
func cQuote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c >= 0x20 && c < 0x7f:
			b.WriteByte(c)
		default:
			fmt.Fprintf(&b, "\\%03o", c)
		}
	}
	b.WriteByte('"')
	return b.String()
}
