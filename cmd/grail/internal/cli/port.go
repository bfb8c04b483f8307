package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"grailos/dde/linux/recipe/port"
)

// portCmd is `grail port NAME --from linux:PATH...` (scaffold a port,
// compile its donor files, report their kernel-symbol coverage) and
// `grail port --report [--json]` (the coverage of every PCI NIC driver of
// the donor tarball). The work is package grailos/dde/linux/recipe/port.
func portCmd(args []string, stdout, stderr io.Writer) error {
	fs := flags("port", stderr)
	var from []string
	fs.Func("from", "donor file as linux:PATH inside the kernel tree (repeatable)", func(s string) error {
		from = append(from, s)
		return nil
	})
	force := fs.Bool("force", false, "overwrite scaffold files that exist with other content")
	report := fs.Bool("report", false, "coverage of every PCI NIC driver under drivers/net/ethernet")
	asJSON := fs.Bool("json", false, "with --report: print JSON")
	root := fs.String("root", "", "repository root (default: the folder above the working folder holding go.mod and donors/)")
	budget := fs.Duration("budget", 270*time.Second, "with --report: stop compiling after this long (0: no bound); pending drivers continue in the next run")
	jobs := fs.Int("j", 2, "with --report: parallel compilers")
	noInstall := fs.Bool("no-install", false, "do not install missing Debian packages (apt-get)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: grail port NAME --from linux:PATH... [--force]\n       grail port --report [--json] [-j N]")
		fs.PrintDefaults()
	}
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	var paths []string
	if *report {
		if len(pos) > 0 || len(from) > 0 {
			return usageError{fmt.Errorf("--report takes no port name and no --from")}
		}
	} else {
		if len(pos) != 1 {
			return usageError{fmt.Errorf("name one port: grail port NAME --from linux:PATH... (or grail port --report)")}
		}
		if paths, err = port.ParseFrom(from); err != nil {
			return usageError{err}
		}
	}
	if *root == "" {
		if *root, err = findRoot(); err != nil {
			return err
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	env := port.Env{Root: *root, Install: !*noInstall, Log: stderr}
	if *report {
		rep, err := port.RunReport(ctx, port.ReportOptions{Env: env, Jobs: *jobs, Budget: *budget})
		if err != nil {
			return err
		}
		if *asJSON {
			return rep.JSON(stdout)
		}
		return rep.Table(stdout)
	}
	res, err := port.Port(ctx, port.Options{Env: env, Name: pos[0], From: paths, Force: *force,
		Command: "grail port " + pos[0] + " --from " + strings.Join(from, " --from ")})
	if err != nil {
		return err
	}
	res.Print(stdout)
	return nil
}

// parseInterleaved parses flags that may follow positional arguments
// (grail port NAME --from ...) and returns the positional ones.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := parse(fs, args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

// findRoot returns the nearest folder at or above the working folder
// that holds go.mod and donors/.
func findRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			if fi, err := os.Stat(filepath.Join(d, "donors")); err == nil && fi.IsDir() {
				return d, nil
			}
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("%s is not inside the GrailOS repository (no go.mod and donors/ above it): use --root", dir)
		}
	}
}
