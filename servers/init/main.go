// Command init is the root task: it reads the system file the kernel hands
// it and supervises the servers (see package initd).
package main

import (
	"fmt"
	"os"

	"grailos/kernel/sys"
	"grailos/servers/init/initd"
	"grailos/servers/init/sysfile"
)

func main() {
	t, err := sys.Start()
	if err != nil {
		fmt.Fprintf(os.Stderr, "init: %v\n", err)
		os.Exit(1)
	}
	s, err := sysfile.Parse("system file", t.Config)
	if err == nil {
		var in *initd.Init
		if in, err = initd.New(t, s); err == nil {
			t.Ready()
			err = in.Run()
		}
	}
	fmt.Fprintf(os.Stderr, "init: %v\n", err)
	os.Exit(1)
}
