// Command probe is a test server that tries, from inside a task, everything
// a task must not be able to do, and exercises the capability rules. It
// prints one "CHECK <name> <outcome>" line per attempt and "DONE" at the
// end; tests compare the outcomes exactly. Run it with role "probe" (whose
// seccomp list lets the attempts reach the kernel, so the empty root,
// namespaces and dropped credentials are what refuse them) or role "server"
// (where seccomp refuses them first).
package main

import (
	"context"
	"fmt"
	"os"

	"grailos/kernel/sys"
	"grailos/servers/probe/checks"
)

func main() {
	t, err := sys.Start()
	if err != nil {
		fmt.Fprintf(os.Stderr, "probe: %v\n", err)
		os.Exit(1)
	}
	report := func(name, outcome string) { fmt.Printf("CHECK %s %s\n", name, outcome) }
	for _, mode := range t.Args {
		switch mode {
		case "confinement":
			checks.Confinement(report)
		case "caps":
			checks.Caps(t, report)
		case "device":
			checks.Device(t, report)
		case "echo-hang", "echo-crash", "echo-exit":
			checks.Trigger(t, mode, report)
		default:
			report("mode-"+mode, "unknown")
		}
	}
	fmt.Println("DONE")
	t.Ready()
	t.Serve(context.Background())
}
