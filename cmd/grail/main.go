// Command grail is GrailOS's one command line: boot a system, inspect and
// crash its servers, run the demo and the benchmarks. See `grail help`.
package main

import (
	"os"

	"grailos/arch/machine/devchan/chanbench"
	"grailos/bench/ipc"
	"grailos/cmd/grail/internal/cli"
	"grailos/kernel/sandbox"
)

func main() {
	sandbox.Stage1()      // a task being confined re-enters here; never returns then
	ipc.MaybePeer()       // the echo peer of a benchmark baseline, likewise
	chanbench.MaybePeer() // the driver side of the device-channel benchmark
	os.Exit(cli.Main(os.Args[1:], os.Stdout, os.Stderr))
}
