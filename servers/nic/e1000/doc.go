// Command e1000 is the NIC server for Intel PRO/1000 cards (the 82540EM
// the machine emulates): the unmodified Linux 6.1 e1000 driver, compiled
// from Debian's kernel source (donors/linux/e1000.toml), running on the
// Linux DDE (package grailos/dde/linux).
//
// The port is this folder's glue: port_cgo.go puts the donor archive on
// the link line and names the module's entry points; everything else is
// the DDE's. machine.go is the in-process stand-in for the machine
// process (the 82540EM model and its PCI configuration space behind the
// dde.Device interface, the model's DMA over the same pool the DDE
// allocates from, its IRQ line into Runtime.IRQ); the server proper
// replaces it with the session to the machine (MMIO over a shared-memory
// channel, the pool in shared memory, the IRQ over an eventfd).
//
// Donor code is GPL and links only into this binary and its tests. Build
// with the tag dde after the DDE build (see the Makefile notes in
// dde/linux/runtime/README.md); without the tag the command only says so.
package main
