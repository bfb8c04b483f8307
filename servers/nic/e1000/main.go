//go:build dde

package main

import "grailos/servers/nic/ddenic"

func main() {
	ddenic.Main(ddenic.Port{Name: "e1000", Module: module, Model: "e1000"})
}
