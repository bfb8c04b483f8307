package port

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"grailos/dde/linux/recipe"
)

// ReportRecipe versions how the report compiles and analyses a driver:
// bump it to invalidate every cached result.
const ReportRecipe = "1"

// ReportOptions configure RunReport.
type ReportOptions struct {
	Env
	Jobs int // parallel compilers (and drivers in flight); at least 1
	// Budget bounds the whole run: drivers are compiled smallest first,
	// and those not done when it runs out are reported as pending
	// (uncached: the next run, fast for the cached ones, continues
	// with them). 0: no bound.
	Budget time.Duration
}

// Driver is one PCI NIC driver module of the tarball as the report found
// and compiled it: the cached unit.
type Driver struct {
	Name       string   `json:"driver"`               // the module, e.g. 8139too
	Dir        string   `json:"dir"`                  // its Makefile's folder in the tree
	Companions []string `json:"companions,omitempty"` // modules Kbuild builds with it (8390 for ne2k-pci)
	Sources    []string `json:"sources"`              // .c files compiled, tree paths
	Error      string   `json:"error,omitempty"`      // first error line when it does not compile
	Undefined  []string `json:"undefined,omitempty"`  // strong undefined symbols it does not define
	Seconds    float64  `json:"seconds"`              // compile and nm time when it was computed
	Pending    bool     `json:"-"`                    // not done within the time budget
}

// Label is the driver's name with its companions: ne2k-pci(+8390).
func (d *Driver) Label() string {
	if len(d.Companions) == 0 {
		return d.Name
	}
	return d.Name + "(+" + strings.Join(d.Companions, ",") + ")"
}

// surveyDir is the part of the tree the report extracts and searches.
const surveyDir = "drivers/net/ethernet/"

// FindDrivers returns the PCI NIC driver modules of a tree (tree path →
// content): modules of Kbuild Makefiles under drivers/net/ethernet whose
// sources register a PCI driver and that cfg enables, in Makefile order,
// with their companions' sources added; the names of the disabled ones
// (Debian does not build them for this architecture); and per enabled
// module the extra compile flags (srctree is the tree's absolute path).
func FindDrivers(tree map[string][]byte, cfg Config, srctree string) (enabled []Driver, disabled []string, flags map[string][]string) {
	flags = map[string][]string{}
	var mks []string
	for p := range tree {
		if strings.HasPrefix(p, surveyDir) && (path.Base(p) == "Makefile" || path.Base(p) == "Kbuild") {
			mks = append(mks, p)
		}
	}
	slices.Sort(mks)
	for _, mk := range mks {
		dir := path.Dir(mk)
		if path.Base(mk) == "Makefile" {
			if _, ok := tree[path.Join(dir, "Kbuild")]; ok {
				continue // Kbuild wins, as in Kbuild
			}
		}
		mods := ParseModules(string(tree[mk]), cfg)
		byName := map[string]KModule{}
		for _, k := range mods {
			byName[k.Name] = k
		}
		for _, k := range mods {
			pci := false
			for _, s := range k.Sources(dir) {
				pci = pci || IsPCIDriver(tree[s])
			}
			if !pci {
				continue
			}
			if !k.Enabled {
				disabled = append(disabled, k.Name)
				continue
			}
			d := Driver{Name: k.Name, Dir: dir, Sources: k.Sources(dir)}
			for _, c := range k.Companions {
				if ck, ok := byName[c]; ok {
					d.Companions = append(d.Companions, c)
					for _, s := range ck.Sources(dir) {
						if !slices.Contains(d.Sources, s) {
							d.Sources = append(d.Sources, s)
						}
					}
				}
			}
			// Kbuild building outside the source tree (as Debian does) puts
			// the source folder on the include path: trace headers need it.
			src := filepath.Join(srctree, dir)
			flags[k.Name] = append([]string{"-I" + src}, CCFlags(string(tree[mk]), cfg, srctree, src)...)
			enabled = append(enabled, d)
		}
	}
	slices.Sort(disabled)
	return enabled, slices.Compact(disabled), flags
}

// RunReport compiles every PCI NIC driver of the tarball in DDE mode
// (cached per driver) and classifies the symbols each references.
func RunReport(ctx context.Context, o ReportOptions) (*Report, error) {
	o.Defaults()
	o.Jobs = max(o.Jobs, 1)
	start := time.Now()
	ver, hdr, err := o.Packages(ctx)
	if err != nil {
		return nil, err
	}
	cfg, err := ReadConfig(hdr)
	if err != nil {
		return nil, err
	}
	cf, err := o.CFlags(ctx, hdr)
	if err != nil {
		return nil, err
	}
	tree, prov, dir, err := o.surveyTree(ctx, ver, cf)
	if err != nil {
		return nil, err
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	drivers, disabled, extra := FindDrivers(tree, cfg, abs)
	shadow, err := hashShadow(cf.Shadow)
	if err != nil {
		return nil, err
	}
	gcc := make(chan struct{}, o.Jobs) // at most Jobs compilers at once
	run := func(ctx context.Context, c recipe.Command) error {
		if c.Name == cf.CC {
			gcc <- struct{}{}
			defer func() { <-gcc }()
		}
		return o.Run(ctx, c)
	}
	fmt.Fprintf(o.Log, "%d PCI NIC drivers in %s (%d more not in Debian's configuration); cache in %s\n",
		len(drivers), surveyDir, len(disabled), o.path("build", "dde", "port-report"))
	// Smallest first: the most drivers within the budget.
	order := make([]int, len(drivers))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return len(drivers[a].Sources) - len(drivers[b].Sources) })
	cctx := ctx
	if o.Budget > 0 {
		var cancel context.CancelFunc
		cctx, cancel = context.WithDeadline(ctx, start.Add(o.Budget))
		defer cancel()
	}
	var (
		mu   sync.Mutex
		done int
		wg   sync.WaitGroup
		work = make(chan int)
	)
	for range o.Jobs + 1 { // one extra keeps compilers busy while another driver is in nm
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				d := &drivers[i]
				key := cacheKey(prov, cf, shadow, d, extra[d.Name])
				cached := o.loadCache(d, key)
				if !cached && cctx.Err() == nil {
					o.compileDriver(cctx, d, dir, prov, cf, extra[d.Name], run)
				}
				if !cached && cctx.Err() != nil {
					*d = Driver{Name: d.Name, Dir: d.Dir, Companions: d.Companions, Sources: d.Sources, Pending: true}
				} else if !cached {
					o.saveCache(d, key)
				}
				mu.Lock()
				done++
				what := fmt.Sprintf("%d symbols", len(d.Undefined))
				if d.Error != "" {
					what = "does not compile"
				}
				how := fmt.Sprintf("%.1fs", d.Seconds)
				switch {
				case cached:
					how = "cached"
				case d.Pending:
					what, how = "pending", "time budget"
				}
				fmt.Fprintf(o.Log, "[%2d/%d] %-22s %2d files  %-16s %s\n", done, len(drivers), d.Label(), len(d.Sources), what, how)
				mu.Unlock()
			}
		}()
	}
	for _, i := range order {
		work <- i
	}
	close(work)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	p, _, err := o.Providers(ctx)
	if err != nil {
		return nil, err
	}
	rep := MakeReport(p, drivers, disabled)
	rep.Kernel, rep.Tarball, rep.Runtime = prov.Kernel, prov.Tarball.SHA256, o.Runtime
	fmt.Fprintf(o.Log, "report: %d drivers in %.1fs\n", len(drivers), time.Since(start).Seconds())
	return rep, nil
}

// surveyTree makes build/donors/linux-<version>-ethernet hold every file
// of drivers/net/ethernet (and the top Makefile), verified against its
// PROVENANCE.json, extracting them when the tarball changed; it returns
// the files' content.
func (o *ReportOptions) surveyTree(ctx context.Context, ver string, cf *recipe.CFlags) (map[string][]byte, *recipe.Provenance, string, error) {
	dir := recipe.TreeDir(o.path("build", "donors"), ver) + "-ethernet"
	sum, _, err := recipe.HashFile(o.Tarball)
	if err != nil {
		return nil, nil, "", fmt.Errorf("%w (is %s installed?)", err, o.Source)
	}
	if prov, err := recipe.ReadProvenance(dir); err == nil && prov.Tarball.SHA256 == sum && len(prov.Files) > 0 {
		if err := VerifyTree(dir, prov); err == nil {
			tree := map[string][]byte{}
			for _, f := range prov.Files {
				if tree[f.Path], err = os.ReadFile(filepath.Join(dir, filepath.FromSlash(f.Path))); err != nil {
					return nil, nil, "", err
				}
			}
			return tree, prov, dir, nil
		} else {
			fmt.Fprintf(o.Log, "re-extracting %s: %v\n", dir, err)
		}
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		fmt.Fprintf(o.Log, "re-extracting %s: %v\n", dir, err)
	}
	fmt.Fprintf(o.Log, "extracting %s from %s into %s\n", surveyDir, o.Tarball, dir)
	tr, err := ReadTree(ctx, o.Tarball, o.Source+"/", []string{"Makefile"}, []string{surveyDir}, true)
	if err != nil {
		return nil, nil, "", err
	}
	if md, err := o.Run.PackageMD5(ctx, o.Source, o.Tarball); err != nil {
		return nil, nil, "", err
	} else if md != tr.MD5 {
		return nil, nil, "", fmt.Errorf("%s: MD5 %s differs from dpkg's record %s: reinstall %s", o.Tarball, tr.MD5, md, o.Source)
	}
	kv, err := recipe.ParseMakefileVersion(string(tr.Files["Makefile"]))
	if err != nil {
		return nil, nil, "", err
	}
	if up := recipe.DebianUpstream(ver); up != kv.String() {
		return nil, nil, "", fmt.Errorf("%s %s has a Makefile of kernel %s", o.Source, ver, kv)
	}
	prov := &recipe.Provenance{Format: 1, Kernel: kv.String(),
		Packages: []recipe.Package{{Name: o.Source, Version: ver}, cf.Headers},
		Tarball:  recipe.Tarball{Path: o.Tarball, Package: o.Source, Size: tr.Size, SHA256: tr.SHA256, MD5: tr.MD5},
		Headers:  recipe.HeadersRef{Package: cf.Headers.Name, Version: cf.Headers.Version, Dir: cf.HeadersDir}}
	if err := os.RemoveAll(dir); err != nil {
		return nil, nil, "", err
	}
	if err := WriteTree(dir, tr.Files, prov); err != nil {
		return nil, nil, "", err
	}
	if err := recipe.WriteProvenance(dir, prov); err != nil {
		return nil, nil, "", err
	}
	fmt.Fprintf(o.Log, "kernel %s: %d files of %s extracted and recorded in %s\n", prov.Kernel, len(prov.Files), surveyDir, filepath.Join(dir, recipe.ProvenanceFile))
	return tr.Files, prov, dir, nil
}

// compileDriver compiles one driver with recipe.Compile (objects under
// build/dde/port-report/<name>/) and reads its undefined symbols; a
// compile failure is recorded with its first error line.
func (o *ReportOptions) compileDriver(ctx context.Context, d *Driver, dir string, prov *recipe.Provenance,
	cf *recipe.CFlags, extra []string, run recipe.Runner) {
	start := time.Now()
	defer func() { d.Seconds = float64(time.Since(start).Milliseconds()) / 1000 }()
	for _, s := range d.Sources {
		if _, ok := prov.File(s); !ok {
			d.Error = fmt.Sprintf("%s: no such file in the tarball (generated or assembly?)", s)
			return
		}
	}
	flags := *cf
	// -g0: debug info changes no symbol reference and costs a third of
	// the compile time. The Makefile's own -I/-D come last.
	flags.Flags = append(append(slices.Clone(cf.Flags), "-g0"), extra...)
	m := &recipe.Manifest{Port: d.Name, Module: d.Name, Files: d.Sources,
		Debian: recipe.Debian{Source: o.Source, Tarball: o.Tarball, Headers: o.Headers}}
	var failed bool
	var mu sync.Mutex
	stopEarly := func(ctx context.Context, c recipe.Command) error {
		mu.Lock()
		f := failed
		mu.Unlock()
		if f && c.Name == cf.CC {
			return errors.New("skipped after an earlier error")
		}
		err := run(ctx, c)
		if err != nil {
			mu.Lock()
			failed = true
			mu.Unlock()
		}
		return err
	}
	var log bytes.Buffer
	out := o.path("build", "dde", "port-report", d.Name)
	res, err := recipe.Compile(ctx, recipe.CompileOptions{Manifest: m, DonorDir: dir, OutDir: out, CFlags: &flags,
		Run: stopEarly, Log: &log, Jobs: 2})
	if err != nil {
		d.Error = FirstError(log.String(), err)
		return
	}
	undef, err := o.Undefined(ctx, []string{res.Archive})
	if err != nil {
		d.Error = err.Error()
		return
	}
	d.Undefined = undef
}

// FirstError returns the compiler's first error line from its output, or
// the error itself, without the working folder's prefix.
func FirstError(log string, err error) string {
	for _, l := range strings.Split(log, "\n") {
		if strings.Contains(l, " error: ") || strings.Contains(l, " fatal error: ") {
			if i := strings.Index(l, "drivers/"); i >= 0 {
				l = l[i:]
			}
			return strings.TrimSpace(l)
		}
	}
	return err.Error()
}

// cacheKey hashes what a driver's result depends on: the tarball (all
// donor sources come from it), the driver's sources, the flags file, the
// shadow headers, the Makefile's extra flags and the recipe.
func cacheKey(prov *recipe.Provenance, cf *recipe.CFlags, shadow string, d *Driver, extra []string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "recipe %s\ntarball %s\ncflags %s\nshadow %s\nextra %q\n", ReportRecipe, prov.Tarball.SHA256,
		recipe.HashBytes(cf.Marshal()), shadow, extra)
	for _, s := range d.Sources {
		f, _ := prov.File(s)
		fmt.Fprintf(&b, "source %s %s\n", s, f.SHA256)
	}
	return recipe.HashBytes([]byte(b.String()))
}

// hashShadow hashes the shadow-header tree (names and contents).
func hashShadow(dir string) (string, error) {
	var b strings.Builder
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		h, _, err := recipe.HashFile(p)
		fmt.Fprintf(&b, "%s %s\n", strings.TrimPrefix(p, dir), h)
		return err
	})
	return recipe.HashBytes([]byte(b.String())), err
}

var cacheName = regexp.MustCompile(`^-[0-9a-f]{16}\.json$`)

func (o *ReportOptions) cacheFile(d *Driver, key string) string {
	return o.path("build", "dde", "port-report", "cache", d.Name+"-"+key[:16]+".json")
}

func (o *ReportOptions) loadCache(d *Driver, key string) bool {
	data, err := os.ReadFile(o.cacheFile(d, key))
	if err != nil {
		return false
	}
	var c Driver
	if json.Unmarshal(data, &c) != nil || c.Name != d.Name || !slices.Equal(c.Sources, d.Sources) {
		return false
	}
	*d = c
	return true
}

// saveCache writes d's result and removes the driver's results for
// other keys (they cannot be hit again unless the inputs change back).
func (o *ReportOptions) saveCache(d *Driver, key string) {
	name := o.cacheFile(d, key)
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		return
	}
	old, _ := filepath.Glob(filepath.Join(filepath.Dir(name), d.Name+"-*.json"))
	for _, f := range old {
		if cacheName.MatchString(strings.TrimPrefix(filepath.Base(f), d.Name)) && f != name {
			os.Remove(f)
		}
	}
	b, _ := json.MarshalIndent(d, "", "  ")
	os.WriteFile(name, append(b, '\n'), 0o644)
}
