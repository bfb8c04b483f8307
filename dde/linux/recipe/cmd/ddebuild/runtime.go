package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"grailos/dde/linux/recipe"
)

// The runtime subcommand registers itself, so main.go's table stays as
// it was.
func init() { commands["runtime"] = runtimeCmd }

// runtimeCmd: ddebuild runtime [-cflags FILE] [-src DIR] [-donors DIR] [-tree DIR] [-out DIR] [-o ARCHIVE]
func runtimeCmd(ctx context.Context, args []string) error {
	fl := newFlags("runtime", "")
	cflags := fl.String("cflags", "build/dde/cflags.txt", "flag file written by ddebuild cflags")
	src := fl.String("src", "dde/linux/runtime", "the DDE runtime's C files")
	donors := fl.String("donors", "donors/linux/runtime", "manifests of the kernel library modules compiled into the runtime (\"\": none)")
	tree := fl.String("tree", "build/donors", "parent folder of the donor trees")
	out := fl.String("out", "build/dde/runtime", "folder for the objects")
	archive := fl.String("o", "build/dde/libdde.a", "archive to write (with ARCHIVE.json)")
	if err := fl.Parse(args); err != nil {
		return err
	}
	if fl.NArg() != 0 {
		fl.Usage()
		return fmt.Errorf("unexpected arguments %q", fl.Args())
	}
	c, err := recipe.ReadCFlags(*cflags)
	if err != nil {
		return fmt.Errorf("%w (run ddebuild cflags)", err)
	}
	var libs []recipe.RuntimeDonor
	if *donors != "" {
		files, err := filepath.Glob(filepath.Join(*donors, "*.toml"))
		if err != nil {
			return err
		}
		slices.Sort(files)
		for _, f := range files {
			m, err := recipe.LoadManifest(f)
			if err != nil {
				return err
			}
			// Fast when the files are there: only hashes are checked.
			fr, err := recipe.Fetch(ctx, recipe.FetchOptions{Manifest: m, OutDir: *tree, Run: recipe.ExecRunner, Log: os.Stderr})
			if err != nil {
				return err
			}
			libs = append(libs, recipe.RuntimeDonor{Manifest: m, Dir: fr.Dir})
		}
	}
	_, err = recipe.CompileRuntime(ctx, recipe.RuntimeOptions{SrcDir: *src, OutDir: *out, Archive: *archive,
		Module: "dde", Donors: libs, CFlags: c, Run: recipe.ExecRunner, Log: os.Stderr})
	return err
}
