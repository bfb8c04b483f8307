// Command rtl8139 is the NIC server for Realtek RTL8139 cards (the
// RTL8139C the machine emulates, PCI 10EC:8139, chosen in a system file
// with devices = ["nic0:rtl8139"]): the unmodified Linux 6.1 8139too
// driver, compiled from Debian's kernel source (donors/linux/rtl8139.toml),
// running on the Linux DDE (package grailos/dde/linux). Scaffolded by
//
//	grail port rtl8139 --from linux:drivers/net/ethernet/realtek/8139too.c
//
// which also reports which kernel symbols the DDE still lacks (none now;
// re-run it after DDE changes: the glue here is the port's own, a re-run
// with the same manifest keeps it).
//
// The port is this folder's glue, 55 lines besides this comment:
// port_cgo.go puts the donor archive on the link line and names the
// module's entry points, main.go names the machine model for -selftest
// and hands over to servers/nic/ddenic, the main every DDE NIC server
// shares (the NIC session on the "nic" endpoint, -selftest, -inject,
// -provenance), main_nodde.go says what to do without the build. Everything
// else the driver needed was general and went into the DDE: the MII
// library (drivers/net/mii.c, compiled unmodified into the runtime),
// crc32_le and byte_rev_table, the RTNL, skb_copy_and_csum_dev,
// netif_receive_skb, pci_request_regions, and level-triggered interrupt
// redelivery (the RTL8139's status register is write-1-to-clear). The
// porting guide, docs/porting-a-nic-driver.md, tells the story.
//
// Donor code is GPL and links only into this binary and its tests. Build
// with scripts/build-nic.sh rtl8139 (make build runs it); without the tag
// dde the command only says so.
package main
