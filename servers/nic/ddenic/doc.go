// Package ddenic is the main of every NIC driver server built on the
// Linux DDE (package grailos/dde/linux): a port's main names its donor
// module and the machine model its driver drives, and calls Main, which
//
//   - started by the GrailOS kernel (GRAIL_TASK set), attaches to the
//     device it was granted and serves the NIC session (Serve, over
//     servers/nic/nicserver);
//   - with -selftest, runs the driver in this process against the model
//     (Machine: the machine's own PCI function of package
//     grailos/arch/machine/host, its DMA on the DDE's pool, its interrupt
//     line into the runtime): probe, link up, one ARP exchange;
//   - with -provenance, prints the provenance of the linked C objects.
//
// So a port's folder holds only what differs between drivers: the donor
// archive on the link line and the module's entry points (port_cgo.go),
// and a main of a few lines.
//
// Everything but this file needs the build tag dde (it links the DDE).
package ddenic
