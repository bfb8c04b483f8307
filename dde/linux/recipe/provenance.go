package recipe

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// ProvenanceFile is the name of the record in each donor tree.
const ProvenanceFile = "PROVENANCE.json"

// provenanceFormat is bumped when the JSON layout changes incompatibly.
const provenanceFormat = 1

// Provenance records where a donor tree under build/donors/linux-<version>
// came from: the packages and their exact versions, the tarball and the
// SHA-256 of every file extracted from it. It is shared by all ports that
// use the same source package version; Files is their union.
type Provenance struct {
	Format   int        `json:"format"`
	Kernel   string     `json:"kernel"`   // upstream version both source and headers state, e.g. 6.1.192
	Packages []Package  `json:"packages"` // source package, then the headers chain
	Tarball  Tarball    `json:"tarball"`
	Headers  HeadersRef `json:"headers"`
	Files    []FileHash `json:"files"` // sorted by Path
}

// Tarball identifies the source tarball the files were taken from.
type Tarball struct {
	Path    string `json:"path"`
	Package string `json:"package"`
	Size    int64  `json:"size"`
	SHA256  string `json:"sha256"`
	MD5     string `json:"md5"` // equal to dpkg's md5sums entry for the package
}

// HeadersRef names the configured headers the source was checked against.
type HeadersRef struct {
	Package       string `json:"package"` // linux-headers-<abi>-<flavour>
	Version       string `json:"version"`
	Dir           string `json:"dir"`
	CommonDir     string `json:"common_dir"`
	KernelRelease string `json:"kernel_release"` // include/config/kernel.release
}

// FileHash is one donor file: its path inside the kernel tree (and the
// tarball, below the tarball's top folder), size and SHA-256.
type FileHash struct {
	Path   string `json:"path"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// File returns the record for a tree path.
func (p *Provenance) File(path string) (FileHash, bool) {
	i, ok := slices.BinarySearchFunc(p.Files, path, func(f FileHash, t string) int { return strings.Compare(f.Path, t) })
	if !ok {
		return FileHash{}, false
	}
	return p.Files[i], true
}

// SetFile adds or replaces a file record, keeping Files sorted.
func (p *Provenance) SetFile(f FileHash) {
	i, ok := slices.BinarySearchFunc(p.Files, f.Path, func(f FileHash, t string) int { return strings.Compare(f.Path, t) })
	if ok {
		p.Files[i] = f
		return
	}
	p.Files = slices.Insert(p.Files, i, f)
}

// Package returns the recorded version of a package, or "".
func (p *Provenance) Package(name string) string {
	for _, pk := range p.Packages {
		if pk.Name == name {
			return pk.Version
		}
	}
	return ""
}

// MarshalProvenance renders p as indented JSON ending in a newline.
func MarshalProvenance(p *Provenance) ([]byte, error) {
	b, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// UnmarshalProvenance decodes a record, rejecting unknown fields, other
// formats and unsorted or duplicate files.
func UnmarshalProvenance(data []byte) (*Provenance, error) {
	var p Provenance
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("provenance: %w", err)
	}
	if p.Format != provenanceFormat {
		return nil, fmt.Errorf("provenance: format %d, want %d", p.Format, provenanceFormat)
	}
	for i := 1; i < len(p.Files); i++ {
		if p.Files[i-1].Path >= p.Files[i].Path {
			return nil, fmt.Errorf("provenance: files not sorted or duplicated at %q", p.Files[i].Path)
		}
	}
	return &p, nil
}

// ReadProvenance reads dir/PROVENANCE.json.
func ReadProvenance(dir string) (*Provenance, error) {
	data, err := os.ReadFile(filepath.Join(dir, ProvenanceFile))
	if err != nil {
		return nil, err
	}
	return UnmarshalProvenance(data)
}

// WriteProvenance writes dir/PROVENANCE.json atomically.
func WriteProvenance(dir string, p *Provenance) error {
	b, err := MarshalProvenance(p)
	if err != nil {
		return err
	}
	return writeFileAtomic(filepath.Join(dir, ProvenanceFile), b, 0o644)
}

// writeFileAtomic writes data to a temporary file beside name and renames
// it into place, so a reader never sees half a file.
func writeFileAtomic(name string, data []byte, perm os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(name), "."+filepath.Base(name)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Chmod(perm); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), name)
}

// HashFile returns the SHA-256 (hex) and size of a file.
func HashFile(name string) (string, int64, error) {
	f, err := os.Open(name)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return "", 0, err
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

// HashBytes returns the SHA-256 (hex) of b.
func HashBytes(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}
