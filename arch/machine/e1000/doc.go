// Package e1000 owns the register-level model of the Intel 82540EM
// gigabit Ethernet controller (PCI 8086:100E, QEMU's default NIC), after
// Intel's "PCI/PCI-X Family of Gigabit Ethernet Controllers Software
// Developer's Manual" (8254x SDM), precise enough for the unmodified
// Linux e1000 driver to probe it, bring the link up and pass traffic.
//
// The package knows nothing of processes or IPC. The machine wires a
// Device to the world through four small interfaces: DMA (the granted
// memory pool, bus addresses are offsets into it), Wire (frames out),
// IRQ (the INTA# level) and an optional Clock; it forwards the driver's
// MMIO and port I/O to ReadMMIO/WriteMMIO and ReadIO/WriteIO and frames
// from the wire to Receive. PCIHeader gives the configuration-space
// identity for package pci.
//
// What is modelled, by file:
//
//   - regs.go: the register map as data (name, behaviour, writable bits,
//     reset value). Unknown offsets read 0, drop writes and are recorded
//     in Device.Unknown.
//   - mmio.go: register access (1/2/4/8-byte MMIO, IOADDR/IODATA port
//     I/O), CTRL (RST self-clearing, PHY_RST, SLU), read-to-clear
//     statistics.
//   - eeprom.go: the 64-word Microwire EEPROM, bit-banged through EECD
//     (REQ/GNT, the path Linux uses for the 82540) and read through EERD.
//   - phy.go: the integrated M88E1011-compatible PHY behind MDIC, with an
//     ideal link partner; SetLink plugs and unplugs the cable.
//   - intr.go: ICR/ICS/IMS/IMC, ITR throttling and the RDTR/RADV/TIDV/
//     TADV delay timers on an injectable Clock.
//   - ring.go: what both descriptor rings share, including validation.
//   - tx.go, offload.go: legacy, context and data transmit descriptors,
//     checksum insertion, TCP segmentation, VLAN insertion, padding.
//   - rx.go: length checks, address/multicast/VLAN filtering, VLAN
//     stripping, receive checksum offload, FCS, descriptor write-back,
//     the receive FIFO.
//
// Design rules and invariants:
//
//   - Transmit runs synchronously on the write that makes work available
//     (TDT, TCTL.EN, link up); receive runs synchronously in Receive and
//     on RDT writes. Nothing runs on its own goroutine, so after any call
//     returns the registers, descriptors and interrupt state are final.
//     Time-based behaviour (interrupt delays, throttling) happens only in
//     Tick; without a Clock all delays are zero.
//   - Every memory access goes through DMA with the exact address and
//     length; a refused access is counted and reported (Config.OnEvent)
//     with its address, length and purpose, and stops the ring involved
//     (Stats.TxStopped/RxStopped say why) instead of being dropped
//     silently. A stopped ring restarts when software reprograms its
//     base, length or head, or resets the device — what the Linux
//     driver's reset task does after its "Tx Unit Hang" watchdog.
//   - Ring registers are masked as the hardware masks them and checked
//     before use: a length that is not a multiple of 128 bytes, a zero
//     length, or a head or tail outside the ring stops the ring with a
//     report.
//   - Values read from guest memory are bounds-checked before use; no
//     descriptor content can make the model panic or loop without bound
//     (fuzzed by FuzzDevice).
//
// Locking: one mutex per Device guards all state. Hooks (DMA, Wire, IRQ,
// Wake, BusMaster, OnEvent) run with it held and must not call back into
// the Device.
package e1000
