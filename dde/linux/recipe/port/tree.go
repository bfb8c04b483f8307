package port

import (
	"archive/tar"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"grailos/dde/linux/recipe"
)

// TreeRead is what ReadTree found in the source tarball.
type TreeRead struct {
	Files map[string][]byte // tree path → content
	// SHA256 and MD5 of the tarball: set only when ReadTree read it to
	// the end (Complete).
	SHA256, MD5 string
	Size        int64
	Complete    bool
}

// ReadTree reads the regular members of a .tar.xz (through the xz
// command) whose paths below prefix are one of files or lie below one of
// dirs (given with a trailing slash). Members of one folder are
// contiguous in Debian's source tarball, so unless full is set it stops
// once every file was seen and every dir was entered and left; with full
// it reads to the end and hashes the tarball.
func ReadTree(ctx context.Context, tarball, prefix string, files, dirs []string, full bool) (*TreeRead, error) {
	f, err := os.Open(tarball)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sh, md := sha256.New(), md5.New()
	counter := &countWriter{}
	xz := exec.CommandContext(ctx, "xz", "--decompress", "--stdout")
	xz.Stdin = io.TeeReader(f, io.MultiWriter(sh, md, counter))
	var stderr strings.Builder
	xz.Stderr = &stderr
	out, err := xz.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := xz.Start(); err != nil {
		return nil, fmt.Errorf("xz: %w (apt-get install xz-utils)", err)
	}
	res := &TreeRead{Files: map[string][]byte{}}
	wantFile := map[string]bool{}
	for _, p := range files {
		wantFile[p] = true
	}
	state := make([]int, len(dirs)) // 0 not entered, 1 inside, 2 left
	done := func() bool {
		for p := range wantFile {
			if _, ok := res.Files[p]; !ok {
				return false
			}
		}
		for _, s := range state {
			if s != 2 {
				return false
			}
		}
		return true
	}
	tr := tar.NewReader(out)
	var terr error
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			terr = err
			break
		}
		name, ok := strings.CutPrefix(h.Name, prefix)
		if !ok {
			continue
		}
		keep := wantFile[name]
		for i, d := range dirs {
			switch in := strings.HasPrefix(name, d); {
			case in:
				state[i], keep = 1, true
			case state[i] == 1:
				state[i] = 2
			}
		}
		if keep && h.Typeflag == tar.TypeReg {
			b, err := io.ReadAll(tr)
			if err != nil {
				terr = fmt.Errorf("member %s: %w", h.Name, err)
				break
			}
			res.Files[name] = b
		}
		if !full && done() {
			cancel()
			xz.Wait()
			return res, nil
		}
	}
	if terr == nil {
		_, terr = io.Copy(io.Discard, out)
	}
	if werr := xz.Wait(); terr == nil && werr != nil {
		terr = fmt.Errorf("xz: %v: %s", werr, strings.TrimSpace(stderr.String()))
	}
	if terr != nil {
		return nil, fmt.Errorf("%s: %w", tarball, terr)
	}
	res.Complete = true
	res.SHA256, res.MD5, res.Size = hex.EncodeToString(sh.Sum(nil)), hex.EncodeToString(md.Sum(nil)), counter.n
	return res, nil
}

type countWriter struct{ n int64 }

func (c *countWriter) Write(b []byte) (int, error) { c.n += int64(len(b)); return len(b), nil }

// WriteTree writes files below dir and records each in prov (which the
// caller then writes with recipe.WriteProvenance).
func WriteTree(dir string, files map[string][]byte, prov *recipe.Provenance) error {
	for p, b := range files {
		name := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(name, b, 0o644); err != nil {
			return err
		}
		prov.SetFile(recipe.FileHash{Path: p, Size: int64(len(b)), SHA256: recipe.HashBytes(b)})
	}
	return nil
}

// VerifyTree checks every file prov records against the copy below dir.
func VerifyTree(dir string, prov *recipe.Provenance) error {
	for _, f := range prov.Files {
		h, n, err := recipe.HashFile(filepath.Join(dir, filepath.FromSlash(f.Path)))
		if err != nil {
			return err
		}
		if h != f.SHA256 || n != f.Size {
			return fmt.Errorf("%s differs from its recorded SHA-256", f.Path)
		}
	}
	return nil
}
