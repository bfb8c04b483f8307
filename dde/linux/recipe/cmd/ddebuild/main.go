package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

var commands = map[string]func(ctx context.Context, args []string) error{
	"fetch":   fetchCmd,
	"cflags":  cflagsCmd,
	"compile": compileCmd,
	"stubs":   stubsCmd,
}

func main() {
	if len(os.Args) < 2 || commands[os.Args[1]] == nil {
		fmt.Fprintln(os.Stderr, "usage: ddebuild fetch|cflags|compile|stubs [flags] ... (ddebuild CMD -h for each)")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	start := time.Now()
	err := commands[os.Args[1]](ctx, os.Args[2:])
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "ddebuild %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "ddebuild %s: done in %.1fs\n", os.Args[1], time.Since(start).Seconds())
}

// newFlags returns a flag set whose usage line names the subcommand.
func newFlags(name, args string) *flag.FlagSet {
	fs := flag.NewFlagSet("ddebuild "+name, flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: ddebuild %s [flags] %s\n", name, args)
		fs.PrintDefaults()
	}
	return fs
}

// oneArg checks that exactly one positional argument is left.
func oneArg(fs *flag.FlagSet) (string, error) {
	if fs.NArg() != 1 {
		fs.Usage()
		return "", fmt.Errorf("want one argument, got %q", strings.Join(fs.Args(), " "))
	}
	return fs.Arg(0), nil
}
