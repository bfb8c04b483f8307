package port

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"

	"grailos/dde/linux/recipe"
)

// Options configure Port.
type Options struct {
	Env
	Name    string   // port name: donors/linux/NAME.toml, servers/nic/NAME, build/dde/NAME
	From    []string // donor files, paths inside the kernel tree (without "linux:")
	Force   bool     // overwrite scaffold files that differ
	Command string   // the command line, for the scaffold's comments
}

// Result is what Port did.
type Result struct {
	Scaffold *Scaffold
	Written  []string // scaffold files written (none when all were up to date)
	Coverage Coverage
	Stubs    string // the generated stub file, relative to Root
}

var portName = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,31}$`)

// ParseFrom turns "linux:PATH" arguments into clean tree paths.
func ParseFrom(args []string) ([]string, error) {
	var out []string
	for _, a := range args {
		p, ok := strings.CutPrefix(a, "linux:")
		if !ok {
			return nil, fmt.Errorf("--from %q: want linux:PATH (the only donor kind so far)", a)
		}
		if p == "" || path.Clean(p) != p || strings.HasPrefix(p, "/") || strings.HasPrefix(p, "../") || p == ".." {
			return nil, fmt.Errorf("--from %q: want a clean relative path inside the kernel tree", a)
		}
		if ext := path.Ext(p); ext != ".c" && ext != ".h" {
			return nil, fmt.Errorf("--from %q: want a .c or .h file", a)
		}
		if !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("name the donor files: --from linux:PATH (e.g. linux:drivers/net/ethernet/realtek/8139too.c)")
	}
	return out, nil
}

// Port scaffolds a port (manifest and glue skeleton) for donor files,
// then fetches and compiles them with the DDE build (recipe.Fetch,
// recipe.Compile), classifies every kernel symbol they reference and
// writes the generated hard-stop stubs for the missing ones. Scaffold
// files that exist with other content are left alone unless Force is set.
func Port(ctx context.Context, o Options) (*Result, error) {
	o.Defaults()
	if !portName.MatchString(o.Name) {
		return nil, fmt.Errorf("port name %q must match %s", o.Name, portName)
	}
	if !slices.ContainsFunc(o.From, func(f string) bool { return strings.HasSuffix(f, ".c") }) {
		return nil, fmt.Errorf("no .c file among the donor files %q", o.From)
	}
	ver, hdr, err := o.Packages(ctx)
	if err != nil {
		return nil, err
	}
	cfg, err := ReadConfig(hdr)
	if err != nil {
		return nil, err
	}
	sc, err := o.plan(ctx, cfg)
	if err != nil {
		return nil, err
	}
	res := &Result{Scaffold: sc, Stubs: filepath.Join("build", "dde", o.Name, "stubs_generated.c")}
	if res.Written, err = writeScaffold(o.Root, sc, o.Force); err != nil {
		return nil, err
	}
	for _, p := range res.Written {
		fmt.Fprintf(o.Log, "wrote %s\n", p)
	}
	m, err := recipe.LoadManifest(o.path("donors", "linux", o.Name+".toml"))
	if err != nil {
		return nil, err
	}
	fr, err := recipe.Fetch(ctx, recipe.FetchOptions{Manifest: m, OutDir: o.path("build", "donors"), Run: o.Run, Log: o.Log})
	if err != nil {
		return nil, err
	}
	if filepath.Base(fr.Dir) != filepath.Base(recipe.TreeDir("", ver)) {
		return nil, fmt.Errorf("fetched %s, want the tree of %s %s", fr.Dir, o.Source, ver)
	}
	cf, err := o.CFlags(ctx, hdr)
	if err != nil {
		return nil, err
	}
	outDir := o.path("build", "dde", o.Name)
	cr, err := recipe.Compile(ctx, recipe.CompileOptions{Manifest: m, DonorDir: fr.Dir, OutDir: outDir, CFlags: cf,
		Run: o.Run, Log: o.Log, Jobs: runtime.NumCPU()})
	if err != nil {
		return nil, err
	}
	prov, provFiles, err := o.Providers(ctx)
	if err != nil {
		return nil, err
	}
	undef, err := o.Undefined(ctx, []string{cr.Archive})
	if err != nil {
		return nil, err
	}
	res.Coverage = prov.Cover(m.Module, undef)
	if err := o.writeStubs(ctx, res, cr.Archive, provFiles); err != nil {
		return nil, err
	}
	return res, nil
}

// plan reads the donor files' folders from the tarball, finds the Kbuild
// module they belong to (adding its other sources) and the private
// headers they include, and returns the scaffold.
func (o *Options) plan(ctx context.Context, cfg Config) (*Scaffold, error) {
	var dirs []string
	for _, f := range o.From {
		if d := path.Dir(f) + "/"; !slices.Contains(dirs, d) {
			dirs = append(dirs, d)
		}
	}
	fmt.Fprintf(o.Log, "reading %s from %s\n", strings.Join(dirs, " "), o.Tarball)
	tr, err := ReadTree(ctx, o.Tarball, o.Source+"/", nil, dirs, false)
	if err != nil {
		return nil, err
	}
	for _, f := range o.From {
		if _, ok := tr.Files[f]; !ok {
			return nil, fmt.Errorf("%s has no file %s", o.Tarball, f)
		}
	}
	dir := path.Dir(o.From[0])
	kbuild := path.Join(dir, "Kbuild")
	if _, ok := tr.Files[kbuild]; !ok {
		kbuild = path.Join(dir, "Makefile")
	}
	text, ok := tr.Files[kbuild]
	if !ok {
		return nil, fmt.Errorf("%s has no Kbuild file or Makefile", dir)
	}
	mods := ParseModules(string(text), cfg)
	k, ok := ModuleOf(mods, dir, o.From)
	if !ok {
		var names []string
		for _, m := range mods {
			names = append(names, fmt.Sprintf("%s (%s)", m.Name, strings.Join(m.Objects, " ")))
		}
		return nil, fmt.Errorf("no module of %s builds all of %s; its modules: %s", kbuild, strings.Join(o.From, " "), strings.Join(names, ", "))
	}
	files := slices.Clone(o.From)
	for _, s := range k.Sources(dir) {
		if !slices.Contains(files, s) {
			if _, ok := tr.Files[s]; !ok {
				return nil, fmt.Errorf("module %s needs %s, which is not a C file of the tarball", k.Name, s)
			}
			fmt.Fprintf(o.Log, "module %s also builds %s: added\n", k.Name, s)
			files = append(files, s)
		}
	}
	var cs []string
	for _, f := range files {
		if strings.HasSuffix(f, ".c") {
			cs = append(cs, f)
		}
	}
	for _, h := range LocalIncludes(tr.Files, files) {
		if !slices.Contains(files, h) {
			files = append(files, h)
		}
	}
	// .c files first (given order), then headers.
	slices.SortStableFunc(files, func(a, b string) int {
		return boolInt(strings.HasSuffix(a, ".h")) - boolInt(strings.HasSuffix(b, ".h"))
	})
	return &Scaffold{Name: o.Name, Module: k.Name, Kbuild: kbuild, Files: files, Source: o.Source,
		Tarball: o.Tarball, Headers: o.Headers, Command: o.Command}, nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// writeScaffold writes the scaffold unless every file already has the
// same content (a re-run); files with other content need force. A re-run
// on a port under way — its manifest as this run renders it, its glue and
// docs edited — writes only the files that are missing: the glue is the
// port's own from the first run on, the manifest is what the run compiles.
func writeScaffold(root string, sc *Scaffold, force bool) ([]string, error) {
	files, manifest := sc.Render(), sc.Paths()[0]
	if have, err := os.ReadFile(filepath.Join(root, manifest)); !force && err == nil && bytes.Equal(have, files[manifest]) {
		var written []string
		for _, p := range sc.Paths() {
			name := filepath.Join(root, p)
			if _, err := os.Lstat(name); err == nil {
				continue
			}
			if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
				return written, err
			}
			if err := os.WriteFile(name, files[p], 0o644); err != nil {
				return written, err
			}
			written = append(written, p)
		}
		return written, nil
	}
	same := true
	for p, want := range sc.Render() {
		if have, err := os.ReadFile(filepath.Join(root, p)); err != nil || !bytes.Equal(have, want) {
			same = false
		}
	}
	if same {
		return nil, nil
	}
	return sc.Write(root, force)
}

// writeStubs writes the generated stubs for the missing symbols with the
// existing generator and checks that donor objects + stubs link.
func (o *Options) writeStubs(ctx context.Context, res *Result, archive string, provFiles []string) error {
	dsyms, err := o.Run.ScanSymbols(ctx, []string{archive})
	if err != nil {
		return err
	}
	esyms, err := o.Run.ScanSymbols(ctx, provFiles)
	if err != nil {
		return err
	}
	refs, err := o.Run.ScanRefs(ctx, []string{archive})
	if err != nil {
		return err
	}
	missing := recipe.MissingSymbols(dsyms, esyms, refs)
	rel := func(p string) string {
		if r, err := filepath.Rel(o.Root, p); err == nil && !strings.HasPrefix(r, "..") {
			return r
		}
		return p
	}
	f := &recipe.StubFile{Generator: "grail port", Regen: o.Command, Port: o.Name,
		Donor: []string{rel(archive)}, DDE: []string{rel(provFiles[0]), provFiles[1]},
		Missing: missing, Weak: recipe.WeakMissing(dsyms, esyms), DataStubs: true}
	out := o.path(res.Stubs)
	if err := os.WriteFile(out, f.Render(), 0o644); err != nil {
		return err
	}
	left, err := o.Run.CheckStubs(ctx, "gcc", out, strings.TrimSuffix(out, ".c")+".o", []string{archive}, esyms)
	if err != nil {
		return err
	}
	if len(left) > 0 {
		return fmt.Errorf("donor objects + %s still miss %s", res.Stubs, strings.Join(left, " "))
	}
	if len(missing) != len(res.Coverage.Names(Missing)) {
		return fmt.Errorf("internal: %d stubs but %d missing symbols", len(missing), len(res.Coverage.Names(Missing)))
	}
	return nil
}

// Print writes the symbols of each class (missing first), wrapped, and
// the one-line total.
func (r *Result) Print(w io.Writer) {
	for _, c := range []Class{Missing, HandStubbed, Libc, Implemented} {
		if names := r.Coverage.Names(c); len(names) > 0 {
			io.WriteString(w, wrap(fmt.Sprintf("%s (%d):", c, len(names)), names, 100))
		}
	}
	fmt.Fprintf(w, "%s (stubs written to %s)\n", r.Coverage.Summary(), r.Stubs)
}

// wrap renders "title a b c" in lines of at most width columns (longer
// words stand alone), continuation lines indented by two spaces.
func wrap(title string, words []string, width int) string {
	var b strings.Builder
	line := title
	for _, w := range words {
		if len(line)+1+len(w) > width && line != "  " {
			b.WriteString(line + "\n")
			line = "  "
		} else {
			line += " "
		}
		line += w
	}
	b.WriteString(line + "\n")
	return b.String()
}
