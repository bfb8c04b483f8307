package main

import (
	"context"
	"os"

	"grailos/dde/linux/recipe"
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
	m, err := recipe.LoadManifest(file)
	if err != nil {
		return err
	}
	_, err = recipe.Fetch(ctx, recipe.FetchOptions{
		Manifest: m, OutDir: *out, Install: *install, Deep: *deep,
		Run: recipe.ExecRunner, Log: os.Stderr, Terminal: recipe.IsTerminal(os.Stderr),
	})
	return err
}
