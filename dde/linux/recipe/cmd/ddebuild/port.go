package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"grailos/dde/linux/recipe/port"
)

// The port subcommand registers itself, so main.go's table stays as it
// was.
func init() { commands["port"] = portCmd }

// portCmd: ddebuild port [-force] -from linux:PATH... NAME
//
//	ddebuild port -report [-json] [-j N]
//
// The same as grail port (package grailos/dde/linux/recipe/port).
func portCmd(ctx context.Context, args []string) error {
	fl := newFlags("port", "NAME (with -from) | -report")
	var from []string
	fl.Func("from", "donor file as linux:PATH inside the kernel tree (repeatable)", func(s string) error {
		from = append(from, s)
		return nil
	})
	force := fl.Bool("force", false, "overwrite scaffold files that exist with other content")
	report := fl.Bool("report", false, "coverage of every PCI NIC driver under drivers/net/ethernet")
	asJSON := fl.Bool("json", false, "with -report: print JSON")
	budget := fl.Duration("budget", 270*time.Second, "with -report: stop compiling after this long (0: no bound); pending drivers continue in the next run")
	jobs := fl.Int("j", 2, "with -report: parallel compilers")
	install := fl.Bool("install", true, "install missing Debian packages with apt-get (root)")
	if err := fl.Parse(args); err != nil {
		return err
	}
	env := port.Env{Root: ".", Install: *install, Log: os.Stderr}
	if *report {
		if fl.NArg() != 0 || len(from) > 0 {
			return fmt.Errorf("-report takes no port name and no -from")
		}
		rep, err := port.RunReport(ctx, port.ReportOptions{Env: env, Jobs: *jobs, Budget: *budget})
		if err != nil {
			return err
		}
		if *asJSON {
			return rep.JSON(os.Stdout)
		}
		return rep.Table(os.Stdout)
	}
	name, err := oneArg(fl)
	if err != nil {
		return err
	}
	paths, err := port.ParseFrom(from)
	if err != nil {
		return err
	}
	res, err := port.Port(ctx, port.Options{Env: env, Name: name, From: paths, Force: *force,
		Command: "ddebuild port -from " + strings.Join(from, " -from ") + " " + name})
	if err != nil {
		return err
	}
	res.Print(os.Stdout)
	return nil
}
