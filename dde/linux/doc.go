// Package linux runs unmodified Linux drivers in a user-level server: it
// is the host side of the Linux DDE (driver environment), whose kernel
// side is the C runtime in runtime/ (built by ddebuild runtime into
// build/dde/libdde.a) and the shadow headers in shadow/.
//
// A Runtime owns one locked OS thread, the DDE thread, on which all Linux
// code runs: module init, probe, ndo_open, ndo_start_xmit, the IRQ
// handler, NAPI polls, timers and work items. The C runtime runs them as
// cooperative tasks from one loop (api.c); there are no other threads in
// the Linux world, so it needs no locks, and a given sequence of host
// calls replays the same way.
//
// Layers, after Genode's dde_linux:
//
//   - runtime/*.c: the emulated kernel API (printk, memory, DMA, PCI, MMIO
//     and port I/O, sk_buff, net_device, NAPI) and the runtime kit
//     (clock, timers, workqueues, IRQ line, loop). Compiled with the
//     donor's flags against the configured kernel headers.
//   - this package: the thread, the Device the driver's MMIO, port I/O and
//     configuration cycles go to, the DMA pool, and the NetHost frames and
//     link state come up to. host.c is the bridge from kernel-compiled C
//     (8-byte stack alignment) into Go; traps.c turns the ud2 of a donor's
//     WARN into a logged warning and execution after it, as the kernel's
//     trap handler does (a BUG stops the server). inject.c and
//     inject_cgo.go are the fault injector's host side (Runtime.Inject:
//     code faults as breakpoints that become the mutated instruction when
//     reached, the report of a fault that fires, watch points for a
//     profile); runtime/fault.c holds its kernel-API fault points.
//   - servers/nic/<port>: per-driver glue, a few dozen lines: the donor
//     archive on the link line and the module's init and exit.
//
// Memory: every kernel allocation (kmalloc, pages, vmalloc, coherent DMA,
// skb heads) comes from Config.Pool, the DMA pool shared with the device;
// a bus address is Config.PoolBus plus the offset into it. Mapping memory
// outside the pool fails (dma_mapping_error), and the device, through
// the machine's IOMMU, can reach nothing else either.
//
// Time: the DDE clock starts at 0 when the runtime is created and only
// the host moves it on (RunPending); jiffies follow it. With
// Config.VirtualTime, delays inside the driver (msleep, udelay) advance
// the clock instead of sleeping — right for emulated hardware that is
// ready at once — and NextDeadline says when the next timer is due.
//
// Provenance: the port links provenance.o (ddebuild provenance), so the
// binary carries the package, version and SHA-256 of every donor source
// and the hash of every object (Provenance); BuildID ties the binary to
// it (see build_cgo.go for why the build must set it).
//
// Everything but the build-free doc.go needs the build tag dde, because
// it links build/dde/libdde.a: go build ./... works without the donor
// build. One Runtime at a time per process (the C runtime's state is
// global). runtime/README.md has the build steps.
package linux
