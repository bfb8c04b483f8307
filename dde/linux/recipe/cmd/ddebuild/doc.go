// Command ddebuild runs the Linux DDE build steps of package
// grailos/dde/linux/recipe. Run it from the repository root (the scripts in
// scripts/ do):
//
//	ddebuild fetch   [-install] [-deep] donors/linux/e1000.toml
//	ddebuild cflags  [-o build/dde/cflags.txt]
//	ddebuild compile [-cflags build/dde/cflags.txt] donors/linux/e1000.toml
//	ddebuild stubs   [-o FILE] [-report] [-regen CMD] [-dde OBJ]... DONOR_OBJ_OR_ARCHIVE...
//
// Each subcommand is a thin wrapper: the work is in the package, which
// documents the steps. "ddebuild CMD -h" lists a subcommand's flags.
package main
