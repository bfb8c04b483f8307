//go:build !dde

package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "rtl8139: built without the dde tag: the donor driver is not linked in (build the DDE, then go build -tags dde)")
	os.Exit(2)
}
