// Command pinger is a client of the echo server used by the demo and the
// supervision tests: it calls echo through the endpoint and through a ring
// session at a steady rate, reports every stall (a round trip slower than
// the interval) and re-opens its session when init says echo restarted.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"sync/atomic"
	"time"

	"grailos/kernel/abi"
	"grailos/kernel/sys"
	"grailos/servers/echo/echoproto"
)

func main() {
	t, err := sys.Start()
	if err != nil {
		fmt.Fprintf(os.Stderr, "pinger: %v\n", err)
		os.Exit(1)
	}
	fs := flag.NewFlagSet("pinger", flag.ContinueOnError)
	interval := fs.Duration("interval", 100*time.Millisecond, "time between round trips")
	if err := fs.Parse(t.Args); err != nil {
		os.Exit(2)
	}
	ep, err := t.Cap("echo")
	if err != nil {
		fmt.Fprintf(os.Stderr, "pinger: %v\n", err)
		os.Exit(1)
	}
	var reopen atomic.Bool
	c := &echoproto.Client{T: t, EP: ep, Timeout: 30 * time.Second, Stale: reopen.Load}
	t.OnPeer = func(name string, up bool) {
		if name == "echo" && up {
			reopen.Store(true)
		}
	}
	go t.Serve(context.Background())
	t.Ready()
	run(c, &reopen, *interval)
}

func run(c *echoproto.Client, reopen *atomic.Bool, interval time.Duration) {
	out := make([]byte, echoproto.Layout.SlotSize)
	ok, stalls := 0, 0
	for i := 0; ; i++ {
		start := time.Now()
		msg := fmt.Sprintf("ping %d", i)
		got, err := c.Echo([]byte(msg))
		if errors.Is(err, abi.ErrPeerDied) {
			// echo died holding this call; echo is idempotent, so resend
			// (the kernel holds the call until the new instance listens).
			fmt.Printf("round trip %d: echo died under the call; resending\n", i)
			got, err = c.Echo([]byte(msg))
		}
		if err == nil && string(got) != msg {
			err = fmt.Errorf("echo answered %q to %q", got, msg)
		}
		if err == nil && (reopen.Swap(false) || c.Session() == nil) {
			err = c.Open()
			if err == nil {
				fmt.Printf("ring session to echo opened\n")
			}
		}
		if err == nil {
			var n int
			n, err = c.RoundTrip([]byte(msg), out, time.Now().Add(2*time.Second))
			if errors.Is(err, echoproto.ErrStale) {
				// echo restarted under this round trip: re-attach and resend.
				reopen.Store(false)
				if err = c.Open(); err == nil {
					fmt.Printf("ring session to echo opened\n")
					n, err = c.RoundTrip([]byte(msg), out, time.Now().Add(2*time.Second))
				}
			}
			if err == nil && string(out[:n]) != msg {
				err = fmt.Errorf("ring echo %q for %q", out[:n], msg)
			}
			if err != nil {
				c.Close() // reopen next round
			}
		}
		took := time.Since(start)
		switch {
		case err != nil:
			fmt.Printf("round trip %d failed after %v: %v\n", i, took.Round(time.Microsecond), err)
		case took > interval:
			stalls++
			fmt.Printf("round trip %d stalled %v (echo was away), answer intact\n", i, took.Round(time.Microsecond))
		default:
			ok++
		}
		if i%100 == 0 {
			fmt.Printf("%d round trips ok, %d stalled\n", ok, stalls)
		}
		time.Sleep(interval)
	}
}
