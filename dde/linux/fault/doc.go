// Package fault is the contract between the fault-injection campaign
// runner (grail inject, package grailos/bench/inject) and the injector
// inside a NIC driver server (package grailos/dde/linux): what a fault is
// (Spec), how it travels as an operator note (Kernel.Note, at most
// abi.MaxNote bytes), and how code faults are made from the donor's
// machine code (Region, Mutate: x86-64, decoded with golang.org/x/arch).
//
// A Spec is complete: it names the exact bytes to write at an exact
// address, or the exact call of a kernel-API site to fail, so a fault
// recorded by one run is replayed exactly by another (same binary). The
// seeded choice of faults is the runner's; the driver only checks what
// it is told (the bytes at the address must be the expected ones) and
// carries it out.
//
// Notes, after the "inject " prefix:
//
//	segv | hang | exit     the operator faults of grail bench restart
//	{...}                  a Spec as JSON
//	watch BASE64           watch these function entries (little-endian
//	                       32-bit addresses): a one-shot breakpoint each
//	profile                report which watched entries ran (event "profile")
//
// Pure Go, no cgo: the runner builds with CGO_ENABLED=0.
package fault
