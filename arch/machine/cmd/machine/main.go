// Command machine is GrailOS's hosted hardware for one device: an Intel
// 82540EM (-model e1000, the default) or a Realtek RTL8139 (-model
// rtl8139) on a PCI function, its DMA pool (the IOMMU window) and its wire
// (a TAP in a fresh network namespace). It hands the device channel, the
// pool and the interrupt eventfd to whoever started it over the
// SOCK_SEQPACKET control socket (stdin by default) and runs until
// SIGTERM or the socket's EOF. See package grailos/arch/machine/host.
package main

import (
	"os"

	"grailos/arch/machine/host"
)

func main() {
	os.Exit(host.Main(os.Args[1:], os.Stderr))
}
