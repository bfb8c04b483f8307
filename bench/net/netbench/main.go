// Command netbench is the client task of `grail bench net`: the workload of
// package net on the native personality. Around each phase it prints
//
//	BEGIN <phase>
//	END {json}
//
// and waits for the harness to acknowledge by nothing more than a pause
// (-settle), so that the harness's CPU snapshots bracket the phase; then
// DONE, or ERROR <message>.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	gonet "net"
	"os"
	"time"

	"grailos/bench/net"
	"grailos/kernel/sys"
	"grailos/personalities/native"
)

func main() {
	t, err := sys.Start()
	if err != nil {
		fmt.Fprintf(os.Stderr, "netbench: %v\n", err)
		os.Exit(1)
	}
	fs := flag.NewFlagSet("netbench", flag.ContinueOnError)
	peer := fs.String("peer", "192.0.2.1:5001", "the peer server")
	size := fs.Int64("size", 64<<20, "bytes per bulk phase")
	requests := fs.Int("requests", 2000, "request/response exchanges")
	settle := fs.Duration("settle", 200*time.Millisecond, "pause before and after each phase")
	if err := fs.Parse(t.Args); err != nil {
		os.Exit(2)
	}
	go t.Serve(context.Background())
	t.Ready()
	n, err := native.Open(t)
	if err != nil {
		fmt.Printf("ERROR %v\n", err)
		select {}
	}
	dial := func() (gonet.Conn, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		return n.DialContext(ctx, "tcp", *peer)
	}
	// The harness starts the peer's server after the system is up: wait
	// for it to accept.
	for start := time.Now(); ; {
		c, err := dial()
		if err == nil {
			c.Close()
			break
		}
		if time.Since(start) > 30*time.Second {
			fmt.Printf("ERROR the peer %s does not accept: %v\n", *peer, err)
			select {}
		}
		time.Sleep(20 * time.Millisecond)
	}
	err = net.Workload(dial, *size, *requests, func(name string) {
		fmt.Printf("BEGIN %s\n", name)
		time.Sleep(*settle)
	}, func(p net.Phase) {
		b, _ := json.Marshal(p)
		fmt.Printf("END %s\n", b)
		time.Sleep(*settle)
	})
	if err != nil {
		fmt.Printf("ERROR %v\n", err)
	} else {
		fmt.Println("DONE")
	}
	select {}
}
