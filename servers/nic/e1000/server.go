//go:build dde

package main

import (
	"flag"
	"fmt"

	dde "grailos/dde/linux"
	"grailos/kernel/sys"
	"grailos/servers/nic/nicserver"
)

// serve runs the driver as a GrailOS server: the device granted as "nic0"
// (or -device), the NIC session on the "nic" endpoint.
func serve() error {
	t, err := sys.Start()
	if err != nil {
		return err
	}
	fs := flag.NewFlagSet("e1000", flag.ContinueOnError)
	device := fs.String("device", "nic0", "name of the device capability")
	virtual := fs.Bool("virtual-time", false, "the driver's delays advance the DDE clock instead of sleeping (emulated hardware only)")
	inject := fs.Bool("inject", false, "accept OpInject on the nic endpoint: crash, hang or exit on request (recovery tests and benchmarks)")
	if err := fs.Parse(t.Args); err != nil {
		return err
	}
	logLine := func(l string) { fmt.Println(l) }
	hw, err := nicserver.Attach(t, *device, logLine)
	if err != nil {
		return err
	}
	var srv *nicserver.Server
	rt, err := dde.New(dde.Config{Device: hw, Module: module, Pool: hw.Pool, PoolBus: hw.PoolBus,
		VirtualTime: *virtual, Log: logLine, Net: netHost{&srv}})
	if err != nil {
		return err
	}
	srv = nicserver.New(t, rt, dde.ErrQueueFull)
	srv.Inject = *inject
	return srv.Run(hw)
}

// netHost forwards what the driver hands up to the server (set after the
// runtime exists).
type netHost struct{ s **nicserver.Server }

func (n netHost) Receive(f []byte) { (*n.s).Receive(f) }
func (n netHost) Carrier(up bool)  { (*n.s).Carrier(up) }
