package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"

	"grailos/dde/linux/recipe"
)

// cflagsCmd: ddebuild cflags [-o FILE] [-headers PKG] [-shadow DIR] [-force]
func cflagsCmd(ctx context.Context, args []string) error {
	fl := newFlags("cflags", "")
	out := fl.String("o", "build/dde/cflags.txt", "flag file to write")
	headers := fl.String("headers", "linux-headers-amd64", "configured headers package (or metapackage)")
	shadow := fl.String("shadow", "dde/linux/shadow", "shadow-header folder, first on the include path")
	work := fl.String("work", "build/dde/kbuild-probe", "scratch folder for the throwaway module")
	force := fl.Bool("force", false, "regenerate even when the file matches the installed headers")
	if err := fl.Parse(args); err != nil {
		return err
	}
	if fl.NArg() != 0 {
		fl.Usage()
		return fmt.Errorf("unexpected arguments %q", fl.Args())
	}
	run := recipe.Runner(recipe.ExecRunner)
	if !*force {
		if old, err := recipe.ReadCFlags(*out); err == nil {
			hdr, err := run.ResolveHeaders(ctx, *headers)
			if err != nil {
				return err
			}
			abs, _ := filepath.Abs(*shadow)
			if old.Recipe == recipe.CFlagsRecipe && old.Headers == hdr.Flavour && old.HeadersDir == hdr.Dir && old.Shadow == abs {
				fmt.Fprintf(os.Stderr, "%s is up to date (%s %s)\n", *out, hdr.Flavour.Name, hdr.Flavour.Version)
				return nil
			}
		} else if !errors.Is(err, fs.ErrNotExist) {
			fmt.Fprintf(os.Stderr, "regenerating: %v\n", err)
		}
	}
	c, err := recipe.MakeCFlags(ctx, recipe.CFlagsOptions{
		HeadersPackage: *headers, Shadow: *shadow, WorkDir: *work, Run: run, Log: os.Stderr,
	})
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(*out), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(*out, c.Marshal(), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "%s: %d flags for %s (%s %s), %d dropped\n", *out, len(c.Flags), c.CC, c.Headers.Name, c.Headers.Version, len(c.Dropped))
	return nil
}

// compileCmd: ddebuild compile [-cflags FILE] [-donors DIR] [-out DIR] MANIFEST
func compileCmd(ctx context.Context, args []string) error {
	fl := newFlags("compile", "donors/linux/PORT.toml")
	cflags := fl.String("cflags", "build/dde/cflags.txt", "flag file written by ddebuild cflags")
	donors := fl.String("donors", "build/donors", "parent folder of the donor trees")
	out := fl.String("out", "build/dde", "objects go to OUT/PORT/")
	jobs := fl.Int("j", runtime.NumCPU(), "parallel compilers")
	if err := fl.Parse(args); err != nil {
		return err
	}
	file, err := oneArg(fl)
	if err != nil {
		return err
	}
	m, err := recipe.LoadManifest(file)
	if err != nil {
		return err
	}
	c, err := recipe.ReadCFlags(*cflags)
	if err != nil {
		return fmt.Errorf("%w (run ddebuild cflags)", err)
	}
	run := recipe.Runner(recipe.ExecRunner)
	ver, err := run.PackageVersion(ctx, m.Debian.Source)
	if err != nil {
		return err
	}
	if ver == "" {
		return fmt.Errorf("%s is not installed (run scripts/donor-fetch.sh %s)", m.Debian.Source, m.Port)
	}
	_, err = recipe.Compile(ctx, recipe.CompileOptions{
		Manifest: m, DonorDir: recipe.TreeDir(*donors, ver), OutDir: filepath.Join(*out, m.Port),
		CFlags: c, Run: run, Log: os.Stderr, Jobs: *jobs,
	})
	return err
}
