// Command ipcbench is the client task of `grail bench ipc`: it runs inside
// GrailOS next to an echo server and measures (see package ipc).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	"grailos/bench/ipc"
	"grailos/kernel/sys"
)

func main() {
	t, err := sys.Start()
	if err != nil {
		fmt.Fprintf(os.Stderr, "ipcbench: %v\n", err)
		os.Exit(1)
	}
	fs := flag.NewFlagSet("ipcbench", flag.ContinueOnError)
	n := fs.Int("n", 20000, "round trips")
	fs.Parse(t.Args)
	go t.Serve(context.Background())
	t.Ready()
	ipc.RunTask(t, *n)
	select {} // stay until the benchmark shuts the system down
}
