// Command echo is the echo server: see package echoserver.
package main

import (
	"context"
	"fmt"
	"os"

	"grailos/kernel/sys"
	"grailos/servers/echo/echoserver"
)

func main() {
	t, err := sys.Start()
	if err != nil {
		fmt.Fprintf(os.Stderr, "echo: %v\n", err)
		os.Exit(1)
	}
	// The endpoint to serve: "echo" unless the system file names another
	// (e.g. a second, idle instance providing "idle").
	name := "echo"
	if len(t.Args) == 2 && t.Args[0] == "-endpoint" {
		name = t.Args[1]
	}
	ep, err := t.Cap(name)
	if err == nil {
		err = t.Listen(ep, echoserver.New(t).Handle)
	}
	if err == nil {
		err = t.Ready()
	}
	if err == nil {
		err = t.Serve(context.Background())
	}
	fmt.Fprintf(os.Stderr, "echo: %v\n", err)
	os.Exit(1)
}
