//go:build dde

package ddenic

import (
	"flag"
	"fmt"
	"os"

	dde "grailos/dde/linux"
)

// Port is one driver port: what differs between NIC servers.
type Port struct {
	Name   string     // the server's name in messages, e.g. "rtl8139"
	Module dde.Module // the donor module's entry points (port_cgo.go)
	Model  string     // the machine model its driver drives (host.LookupModel), for -selftest
}

// Main runs the port as a GrailOS server when the kernel started it,
// otherwise as a command (-selftest, -provenance). It does not return.
func Main(p Port) {
	if os.Getenv("GRAIL_TASK") != "" { // started by the GrailOS kernel
		if err := Serve(p); err != nil {
			fmt.Fprintf(os.Stderr, "%s: %v\n", p.Name, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	fs := flag.NewFlagSet(p.Name, flag.ExitOnError)
	selftest := fs.Bool("selftest", false, "run the driver against the in-process "+p.Model+" model: probe, link up, one ARP exchange")
	realtime := fs.Bool("realtime", false, "with -selftest: real time (the driver's delays sleep) instead of virtual time")
	provenance := fs.Bool("provenance", false, "print the provenance of the linked C objects (donor sources, runtime, stubs) and exit")
	fs.Parse(os.Args[1:])
	if *provenance {
		fmt.Print(dde.Provenance())
		os.Exit(0)
	}
	if !*selftest {
		fmt.Fprintf(os.Stderr, "%s: run as a GrailOS server (grail up), or with -selftest against the in-process model\n", p.Name)
		os.Exit(2)
	}
	if err := Selftest(p, !*realtime, func(l string) { fmt.Println(l) }); err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", p.Name, err)
		os.Exit(1)
	}
	os.Exit(0)
}
