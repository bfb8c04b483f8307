package recipe

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
	"sort"
	"strings"
	"time"
)

// Progress reports the progress of a long step (hashing or decompressing
// the ~138 MB tarball) on a log: on a terminal as one line rewritten in
// place, otherwise as a line every 10 %.
type Progress struct {
	W        io.Writer
	Terminal bool
	What     string
	Total    int64

	done    int64
	shown   int64 // last percentage printed
	started time.Time
}

// Add counts n more bytes done.
func (p *Progress) Add(n int64) {
	if p.started.IsZero() {
		p.started = time.Now()
		p.shown = -1
	}
	p.done += n
	if p.W == nil || p.Total <= 0 {
		return
	}
	pct := p.done * 100 / p.Total
	step := int64(10)
	if p.Terminal {
		step = 1
	}
	if pct/step == p.shown/step && p.shown >= 0 {
		return
	}
	p.shown = pct
	line := fmt.Sprintf("%s: %3d%% (%d/%d MB)", p.What, pct, p.done>>20, p.Total>>20)
	if p.Terminal {
		fmt.Fprintf(p.W, "\r%s", line)
	} else {
		fmt.Fprintln(p.W, line)
	}
}

// Done ends the progress display with the elapsed time.
func (p *Progress) Done() {
	if p.W == nil {
		return
	}
	if p.Terminal {
		fmt.Fprint(p.W, "\r")
	}
	fmt.Fprintf(p.W, "%s: done, %d MB in %.1fs\n", p.What, p.done>>20, time.Since(p.started).Seconds())
}

type progressReader struct {
	r io.Reader
	p *Progress
}

func (r progressReader) Read(b []byte) (int, error) {
	n, err := r.r.Read(b)
	r.p.Add(int64(n))
	return n, err
}

// IsTerminal reports whether f is a character device (a terminal).
func IsTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// hashTarball returns the SHA-256 and MD5 (hex) and size of the tarball.
func hashTarball(name string, prog *Progress) (sha, md string, size int64, err error) {
	f, err := os.Open(name)
	if err != nil {
		return "", "", 0, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return "", "", 0, err
	}
	prog.Total = fi.Size()
	s, m := sha256.New(), md5.New()
	n, err := io.Copy(io.MultiWriter(s, m), progressReader{f, prog})
	if err != nil {
		return "", "", 0, err
	}
	prog.Done()
	return hex.EncodeToString(s.Sum(nil)), hex.EncodeToString(m.Sum(nil)), n, nil
}

// ExtractMembers streams a .tar.xz through the xz command into Go's
// archive/tar and returns the content of the wanted members, keyed by
// their path below prefix (the tarball's top folder, with a trailing
// slash). It stops reading as soon as every wanted member was seen, and
// fails naming the members the tarball lacks. Only the xz command is
// needed: Go's standard library reads tar but not xz, and go.mod has no xz
// reader.
func ExtractMembers(ctx context.Context, tarball, prefix string, want []string, prog *Progress) (map[string][]byte, error) {
	f, err := os.Open(tarball)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	prog.Total = fi.Size()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	xz := exec.CommandContext(ctx, "xz", "--decompress", "--stdout")
	xz.Stdin = progressReader{f, prog}
	var stderr strings.Builder
	xz.Stderr = &stderr
	out, err := xz.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := xz.Start(); err != nil {
		return nil, fmt.Errorf("xz: %w (apt-get install xz-utils)", err)
	}
	got, terr := readMembers(out, prefix, want)
	complete := terr == nil && len(got) == len(want)
	if complete {
		cancel() // everything found: stop decompressing the rest
	} else {
		_, _ = io.Copy(io.Discard, out) // let xz finish so its status means something
	}
	werr := xz.Wait()
	switch {
	case terr != nil:
		return nil, fmt.Errorf("%s: %w", tarball, terr)
	case !complete && werr != nil:
		return nil, fmt.Errorf("%s: xz: %v: %s", tarball, werr, strings.TrimSpace(stderr.String()))
	case !complete:
		var missing []string
		for _, w := range want {
			if _, ok := got[w]; !ok {
				missing = append(missing, w)
			}
		}
		return nil, fmt.Errorf("%s has no member %s%s", tarball, prefix, strings.Join(missing, ", "+prefix))
	}
	prog.Done()
	return got, nil
}

// readMembers reads a tar stream until every wanted member was found or
// the stream ends.
func readMembers(r io.Reader, prefix string, want []string) (map[string][]byte, error) {
	wanted := map[string]bool{}
	for _, w := range want {
		wanted[w] = true
	}
	got := map[string][]byte{}
	tr := tar.NewReader(r)
	for len(got) < len(wanted) {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		name, ok := strings.CutPrefix(h.Name, prefix)
		if !ok || !wanted[name] {
			continue
		}
		if h.Typeflag != tar.TypeReg {
			return nil, fmt.Errorf("member %s is not a regular file (type %q)", h.Name, h.Typeflag)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			return nil, fmt.Errorf("member %s: %w", h.Name, err)
		}
		got[name] = b
	}
	return got, nil
}

// sortedKeys returns the keys of m in order.
func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
