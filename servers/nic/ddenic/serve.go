//go:build dde

package ddenic

import (
	"flag"
	"fmt"

	dde "grailos/dde/linux"
	"grailos/kernel/sys"
	"grailos/servers/nic/nicserver"
)

// Serve runs the port as a GrailOS server: the device granted as "nic0"
// (or -device), the NIC session on the "nic" endpoint.
func Serve(p Port) error {
	t, err := sys.Start()
	if err != nil {
		return err
	}
	fs := flag.NewFlagSet(p.Name, flag.ContinueOnError)
	device := fs.String("device", "nic0", "name of the device capability")
	virtual := fs.Bool("virtual-time", false, "the driver's delays advance the DDE clock instead of sleeping (emulated hardware only)")
	inject := fs.Bool("inject", false, "take the operator's fault notes (grail inject, tests): faults in the donor's code, its kernel-API calls and its DMA, or an exit")
	if err := fs.Parse(t.Args); err != nil {
		return err
	}
	logLine := func(l string) { fmt.Println(l) }
	hw, err := nicserver.Attach(t, *device, logLine)
	if err != nil {
		return err
	}
	t.Trace("device-attached", "", *device) // restart phases: grail bench restart
	var srv *nicserver.Server
	rt, err := dde.New(dde.Config{Device: hardware{hw}, Module: p.Module, Pool: hw.Pool, PoolBus: hw.PoolBus,
		VirtualTime: *virtual, Log: logLine, Net: netHost{&srv}, Fired: func(d string) { srv.Fired(d) }})
	if err != nil {
		return err
	}
	t.Trace("runtime-up", "", "")
	srv = nicserver.New(t, rt, dde.ErrQueueFull)
	srv.Inject = *inject
	return srv.Run(hw)
}

// netHost forwards what the driver hands up to the server (set after the
// runtime exists).
type netHost struct{ s **nicserver.Server }

func (n netHost) Receive(f []byte) { (*n.s).Receive(f) }
func (n netHost) Carrier(up bool)  { (*n.s).Carrier(up) }

// TxTimeout implements dde.TxTimeouter.
func (n netHost) TxTimeout(queue int) { (*n.s).TxTimeout(queue) }

// hardware is the machine device as the runtime sees it: nicserver's
// Hardware, and the line's level for the runtime's level-triggered
// redelivery (dde.LevelIRQ).
type hardware struct{ *nicserver.Hardware }

// IRQLevel implements dde.LevelIRQ: the level once the machine has
// performed every request so far. A low line needs no round trip: the
// handler's posted writes can only raise it by an edge of its own (an
// unmask), which the eventfd signals. A high one may be stale (the
// handler's acknowledgement still queued), so the channel is synced and
// the level read again.
func (h hardware) IRQLevel() bool {
	if !h.Channel.IRQLevel() {
		return false
	}
	h.Channel.Sync() // a refused posted write is the machine's to log; the level is valid either way
	return h.Channel.IRQLevel()
}
