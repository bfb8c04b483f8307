// Package host owns the machine process: the hosted hardware beneath the
// GrailOS kernel for one device. It outlives the drivers that use it and
// is their IOMMU.
//
// A Machine (New, Start, Handoff, Close) puts together:
//
//   - a Function (function.go): a device Model (model.go: the 82540EM
//     of package e1000 or the RTL8139 of package rtl8139, chosen by
//     Config.Model, -model on the command line) and its pci
//     configuration space, implementing devchan.Handler. A memory BAR
//     goes to the model's MMIO, an I/O BAR to its port I/O, as the
//     model's header lays them out (e1000: BAR0 memory, BAR1 I/O;
//     RTL8139: BAR0 I/O, BAR1 memory); the other kind on a BAR is
//     StatusBadBAR. Config cycles go to the pci.Space; a BAR whose
//     decode bit is off answers StatusDisabled (a master abort), and the
//     model may DMA only while bus mastering is on. A driver attaching is a function-level reset:
//     configuration space and model back to power-on, so a dead driver's
//     rings are never DMA'd into again.
//   - a Pool (pool.go): the DMA window, a memfd shared with the driver at
//     bus addresses [BusBase, BusBase+size) (DefaultBusBase 0x1000_0000,
//     DefaultPoolSize 16 MiB). The model reaches memory only through it;
//     anything not wholly inside is refused with a *DMAError (address,
//     length, direction), counted, and reported by the model as an event.
//   - a devchan.Server on a channel memfd, and an eventfd for INTA#.
//   - optionally a wire.Wire (TAP in a fresh namespace): frames from the
//     TAP go to the model's Receive, frames the model transmits go to the
//     TAP.
//   - three goroutines: the channel server, the wire's receive loop, and
//     the model's timers on the real monotonic clock (Tick at
//     NextDeadline, woken early through the model's Wake hook).
//
// Handoff sends a devchan.Description and the channel memfd, the pool
// memfd and the eventfd over a SOCK_SEQPACKET socket; Main (the body of
// cmd/machine) does that on its control socket and runs until SIGTERM,
// SIGINT or the socket's EOF, serving device-fault requests on the
// socket meanwhile (ServeControl, control.go: the protocol is package
// hw's; the model misbehaves, package hw's Injector), then removes the
// TAP and the namespace and logs its counters (Stats: MMIO served, refused requests, refused DMA,
// frames in and out, attaches, interrupt edges).
//
// Locking: the model has its own mutex and calls the hooks (Pool, Wire,
// IRQ → devchan.Server.SetIRQ, Wake) with it held; none of them calls
// back into the model. Counters are atomics. The pool is unmapped only
// in Close, after every goroutine that can DMA has stopped.
package host
