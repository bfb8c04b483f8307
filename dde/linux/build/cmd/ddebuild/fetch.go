package main

import (
	"context"
	"os"

	"grailos/dde/linux/build"
)

// fetchCmd: ddebuild fetch [-install] [-deep] [-out DIR] MANIFEST
func fetchCmd(ctx context.Context, args []string) error {
	fs := newFlags("fetch", "donors/linux/PORT.toml")
	out := fs.String("out", "build/donors", "parent folder of the donor trees")
	install := fs.Bool("install", false, "install missing Debian packages with apt-get (root)")
	deep := fs.Bool("deep", false, "re-read the tarball and re-extract even when recorded hashes match")
	if err := fs.Parse(args); err != nil {
		return err
	}
	file, err := oneArg(fs)
	if err != nil {
		return err
	}
	m, err := build.LoadManifest(file)
	if err != nil {
		return err
	}
	_, err = build.Fetch(ctx, build.FetchOptions{
		Manifest: m, OutDir: *out, Install: *install, Deep: *deep,
		Run: build.ExecRunner, Log: os.Stderr, Terminal: build.IsTerminal(os.Stderr),
	})
	return err
}
