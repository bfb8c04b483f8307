package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"grailos/dde/linux/recipe"
)

func init() { commands["provenance"] = provenanceCmd }

// provenanceCmd: ddebuild provenance [-runtime ARCHIVE] [-cc CC] PORT_ARCHIVE
func provenanceCmd(ctx context.Context, args []string) error {
	fl := newFlags("provenance", "build/dde/PORT/libPORT.a")
	runtime := fl.String("runtime", "build/dde/libdde.a", "the DDE runtime archive (with its .json)")
	cc := fl.String("cc", "gcc", "C compiler for provenance.o")
	if err := fl.Parse(args); err != nil {
		return err
	}
	archive, err := oneArg(fl)
	if err != nil {
		return err
	}
	dir := filepath.Dir(archive)
	rec, err := recipe.MakeLinkRecord(archive, *runtime, filepath.Join(dir, "stubs_generated.o"))
	if err != nil {
		return err
	}
	sum, err := recipe.Runner(recipe.ExecRunner).WriteLinkRecord(ctx, *cc, dir, "ddebuild provenance "+archive, rec)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "%s: %d donor and %d runtime objects\n", filepath.Join(dir, "provenance.o"),
		len(rec.Donor.Members), len(rec.Runtime.Members))
	fmt.Println(sum[:16]) // the build ID: go build -ldflags "-X grailos/dde/linux.BuildID=..."
	return nil
}
