package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"grailos/dde/linux/recipe"
)

// stubsCmd: ddebuild stubs [-o FILE] [-report] [-regen CMD] [-port NAME]
// [-dde FILE]... [-data-stubs=false] [-check] DONOR_OBJECT_OR_ARCHIVE...
func stubsCmd(ctx context.Context, args []string) error {
	fl := newFlags("stubs", "DONOR_OBJECT_OR_ARCHIVE...")
	out := fl.String("o", "", "C file to write (none: only -report)")
	report := fl.Bool("report", false, "print the undefined symbols: count, class and who references each")
	regen := fl.String("regen", "", "the one command that regenerates the file, for its first line")
	port := fl.String("port", "", "port name for the file's comment (default: first donor file's folder)")
	dataStubs := fl.Bool("data-stubs", true, "also emit function stubs for symbols that look like data")
	check := fl.Bool("check", true, "compile the stub file and check that donor objects + stubs link with nothing else missing")
	cc := fl.String("cc", "gcc", "C compiler for -check")
	var dde []string
	fl.Func("dde", "a DDE object or archive whose definitions need no stub (repeatable)", func(s string) error {
		dde = append(dde, s)
		return nil
	})
	if err := fl.Parse(args); err != nil {
		return err
	}
	donor := fl.Args()
	if len(donor) == 0 || (*out == "" && !*report) {
		fl.Usage()
		return fmt.Errorf("want donor objects and -o FILE or -report")
	}
	if *port == "" {
		*port = filepath.Base(filepath.Dir(donor[0]))
	}
	if *regen == "" {
		*regen = "ddebuild stubs " + strings.Join(args, " ")
	}
	run := recipe.Runner(recipe.ExecRunner)
	dsyms, err := run.ScanSymbols(ctx, donor)
	if err != nil {
		return err
	}
	esyms, err := run.ScanSymbols(ctx, dde)
	if err != nil {
		return err
	}
	refs, err := run.ScanRefs(ctx, donor)
	if err != nil {
		return err
	}
	missing := recipe.MissingSymbols(dsyms, esyms, refs)
	weak := recipe.WeakMissing(dsyms, esyms)
	if *report {
		counts := map[recipe.RefClass]int{}
		for _, m := range missing {
			counts[m.Class]++
		}
		fmt.Printf("%s: %d undefined symbols (call %d, data %d, address %d), %d weak; donor %s; dde %s\n",
			*port, len(missing), counts[recipe.RefCall], counts[recipe.RefData], counts[recipe.RefAddress], len(weak),
			strings.Join(donor, " "), strings.Join(dde, " "))
		for _, m := range missing {
			var by []string
			for _, r := range m.RefBy {
				if i := strings.LastIndexByte(r, '['); i >= 0 && strings.HasSuffix(r, "]") {
					r = r[i+1 : len(r)-1] // archive member: its name is enough
				}
				by = append(by, r)
			}
			fmt.Printf("  %-45s %-7s %s\n", m.Name, m.Class, strings.Join(by, " "))
		}
		for _, w := range weak {
			fmt.Printf("  %-45s %-7s (weak, left undefined)\n", w, "weak")
		}
	}
	if *out == "" {
		return nil
	}
	f := &recipe.StubFile{Generator: "ddebuild stubs", Regen: *regen, Port: *port, Donor: donor, DDE: dde,
		Missing: missing, Weak: weak, DataStubs: *dataStubs}
	if err := os.MkdirAll(filepath.Dir(*out), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(*out, f.Render(), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "%s: %d stubs for %d undefined symbols\n", *out, strings.Count(string(f.Render()), "\nDDE_STUB("), len(missing))
	if !*check {
		return nil
	}
	obj := strings.TrimSuffix(*out, ".c") + ".o"
	left, err := run.CheckStubs(ctx, *cc, *out, obj, donor, esyms)
	if err != nil {
		return err
	}
	if len(left) > 0 && *dataStubs {
		return fmt.Errorf("donor objects + %s still miss %d symbols: %s", obj, len(left), strings.Join(left, " "))
	}
	fmt.Fprintf(os.Stderr, "%s compiles; donor objects + stubs link (ld -r) with %d symbols left undefined besides dde_stub_missing\n", obj, len(left))
	return nil
}
