package main

import (
	"context"
	"fmt"
	"os"

	"grailos/dde/linux/recipe"
)

// The runtime subcommand registers itself, so main.go's table stays as
// it was.
func init() { commands["runtime"] = runtimeCmd }

// runtimeCmd: ddebuild runtime [-cflags FILE] [-src DIR] [-out DIR] [-o ARCHIVE]
func runtimeCmd(ctx context.Context, args []string) error {
	fl := newFlags("runtime", "")
	cflags := fl.String("cflags", "build/dde/cflags.txt", "flag file written by ddebuild cflags")
	src := fl.String("src", "dde/linux/runtime", "the DDE runtime's C files")
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
	_, err = recipe.CompileRuntime(ctx, recipe.RuntimeOptions{SrcDir: *src, OutDir: *out, Archive: *archive,
		Module: "dde", CFlags: c, Run: recipe.ExecRunner, Log: os.Stderr})
	return err
}
