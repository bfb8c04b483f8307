// Command rtl8139 is the NIC server for the unmodified Linux 8139too driver,
// compiled from Debian's kernel source (donors/linux/rtl8139.toml), running
// on the Linux DDE (package grailos/dde/linux). Scaffolded by
//
//	grail port rtl8139 --from linux:drivers/net/ethernet/realtek/8139too.c
//
// which also reports which kernel symbols the DDE still lacks (re-run it
// after DDE changes); build/dde/rtl8139/stubs_generated.c stops the server
// at each of them.
//
// The port is this folder's glue: port_cgo.go puts the donor archive on
// the link line and names the module's entry points; everything else is
// the DDE's. Still to write, after servers/nic/e1000: main.go (build tag
// dde) serving the NIC session, and a machine model the driver can probe.
//
// Donor code is GPL and links only into this binary and its tests. Build
// with the tag dde after the DDE build (scripts/build-nic.sh rtl8139);
// without the tag the command only says so.
package main
