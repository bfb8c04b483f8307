//go:build dde

package main

import "grailos/servers/nic/ddenic"

func main() {
	ddenic.Main(ddenic.Port{Name: "rtl8139", Module: module, Model: "rtl8139"})
}
