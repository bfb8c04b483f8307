package port

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"grailos/dde/linux/recipe"
)

// Env is what both port and the report need: the repository root, the
// Debian package names, the runtime archive and a Runner.
type Env struct {
	Root    string // repository root; build/ and donors/ lie below it
	Source  string // kernel source package, linux-source-6.1
	Tarball string // its tarball
	Headers string // configured headers package, linux-headers-amd64
	Runtime string // the DDE runtime archive, relative to Root: build/dde/libdde.a
	Install bool   // install missing Debian packages with apt-get
	Run     recipe.Runner
	Log     io.Writer // progress for a person
}

// Defaults fills the empty fields of e.
func (e *Env) Defaults() {
	if e.Root == "" {
		e.Root = "."
	}
	if e.Source == "" {
		e.Source = "linux-source-6.1"
	}
	if e.Tarball == "" {
		e.Tarball = "/usr/src/" + e.Source + ".tar.xz"
	}
	if e.Headers == "" {
		e.Headers = "linux-headers-amd64"
	}
	if e.Runtime == "" {
		e.Runtime = "build/dde/libdde.a"
	}
	if e.Run == nil {
		e.Run = recipe.ExecRunner
	}
	if e.Log == nil {
		e.Log = io.Discard
	}
}

func (e *Env) path(p ...string) string { return filepath.Join(append([]string{e.Root}, p...)...) }

// Packages installs the packages when asked and returns the source
// package's version and the resolved headers.
func (e *Env) Packages(ctx context.Context) (string, *recipe.Headers, error) {
	if e.Install {
		if err := e.Run.EnsureInstalled(ctx, e.Log, e.Source, e.Headers); err != nil {
			return "", nil, err
		}
	}
	ver, err := e.Run.PackageVersion(ctx, e.Source)
	if err != nil {
		return "", nil, err
	}
	if ver == "" {
		return "", nil, fmt.Errorf("%s is not installed (apt-get install %s %s)", e.Source, e.Source, e.Headers)
	}
	hdr, err := e.Run.ResolveHeaders(ctx, e.Headers)
	if err != nil {
		return "", nil, err
	}
	if hdr.Flavour.Version != ver {
		return "", nil, fmt.Errorf("kernel source %s %s and headers %s %s differ: install matching versions",
			e.Source, ver, hdr.Flavour.Name, hdr.Flavour.Version)
	}
	return ver, hdr, nil
}

// CFlags returns build/dde/cflags.txt, regenerating it (as ddebuild
// cflags does) when it is missing or was made for other headers, another
// shadow folder or another recipe.
func (e *Env) CFlags(ctx context.Context, hdr *recipe.Headers) (*recipe.CFlags, error) {
	file := e.path("build", "dde", "cflags.txt")
	shadow, err := filepath.Abs(e.path("dde", "linux", "shadow"))
	if err != nil {
		return nil, err
	}
	old, err := recipe.ReadCFlags(file)
	if err == nil && old.Recipe == recipe.CFlagsRecipe && old.Headers == hdr.Flavour && old.HeadersDir == hdr.Dir && old.Shadow == shadow {
		return old, nil
	}
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		fmt.Fprintf(e.Log, "regenerating %s: %v\n", file, err)
	}
	c, err := recipe.MakeCFlags(ctx, recipe.CFlagsOptions{HeadersPackage: e.Headers, Shadow: shadow,
		WorkDir: e.path("build", "dde", "kbuild-probe"), Run: e.Run, Log: e.Log})
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		return nil, err
	}
	return c, os.WriteFile(file, c.Marshal(), 0o644)
}

// ReadConfig reads the configured headers' include/config/auto.conf.
func ReadConfig(hdr *recipe.Headers) (Config, error) {
	b, err := os.ReadFile(filepath.Join(hdr.Dir, "include", "config", "auto.conf"))
	if err != nil {
		return nil, err
	}
	return ParseConfig(string(b)), nil
}

// Providers reads the runtime archive and the static libc with nm. It
// warns on Log when the archive is older than the runtime sources its
// record names (then "implemented" describes the archive, not the tree).
func (e *Env) Providers(ctx context.Context) (*Providers, []string, error) {
	rt := e.path(e.Runtime)
	if _, err := os.Stat(rt); err != nil {
		return nil, nil, fmt.Errorf("%w: build the DDE runtime first (make build, or build/bin/ddebuild runtime)", err)
	}
	e.checkRuntime(rt)
	libc, err := e.output(ctx, "gcc", "-print-file-name=libc.a")
	if err != nil {
		return nil, nil, err
	}
	libc = strings.TrimSpace(libc)
	rtNM, err := e.output(ctx, "nm", "-g", "-P", "-A", rt)
	if err != nil {
		return nil, nil, err
	}
	libcNM, err := e.output(ctx, "nm", "-g", "-P", "-A", libc)
	if err != nil {
		return nil, nil, err
	}
	p, err := ParseProviders(rtNM, libcNM)
	return p, []string{rt, libc}, err
}

// checkRuntime compares the runtime archive's record with the sources.
func (e *Env) checkRuntime(archive string) {
	var rec recipe.RuntimeRecord
	data, err := os.ReadFile(archive + ".json")
	if err == nil {
		err = jsonUnmarshal(data, &rec)
	}
	if err != nil {
		fmt.Fprintf(e.Log, "warning: %s has no readable record (%v)\n", archive, err)
		return
	}
	var changed []string
	for _, m := range rec.Members {
		if h, _, err := recipe.HashFile(e.path(m.Source.Path)); err != nil || h != m.Source.SHA256 {
			changed = append(changed, filepath.Base(m.Source.Path))
		}
	}
	if len(changed) > 0 {
		fmt.Fprintf(e.Log, "warning: %s is older than %s (run build/bin/ddebuild runtime): coverage is the archive's\n",
			e.Runtime, strings.Join(changed, ", "))
	}
}

func (e *Env) output(ctx context.Context, name string, args ...string) (string, error) {
	var out, errb strings.Builder
	c := recipe.Command{Name: name, Args: args, Stdout: &out, Stderr: &errb}
	if err := e.Run(ctx, c); err != nil {
		return "", fmt.Errorf("%s: %w: %s", c, err, strings.TrimSpace(errb.String()))
	}
	return out.String(), nil
}

// Undefined returns the strong undefined symbols of donor objects or
// archives that they do not define themselves, sorted.
func (e *Env) Undefined(ctx context.Context, files []string) ([]string, error) {
	s, err := e.Run.ScanSymbols(ctx, files)
	if err != nil {
		return nil, err
	}
	var out []string
	for name := range s.Undefined {
		if !s.Defined[name] {
			out = append(out, name)
		}
	}
	return sortStrings(out), nil
}
