// Command nicbench is the client task of `grail bench nic`: it opens the
// NIC session, resolves the peer and runs the echo workload (package nic),
// printing one "RESULT {json}" line.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"time"

	"grailos/bench/nic"
	"grailos/kernel/sys"
	"grailos/servers/nic/session"
)

type sessionLink struct{ c *session.Client }

func (s sessionLink) Send(f []byte) error { return s.c.Send(f, time.Now().Add(time.Second)) }
func (s sessionLink) Recv(b []byte, d time.Time) (int, error) {
	return s.c.Recv(b, d)
}

func main() {
	t, err := sys.Start()
	if err != nil {
		fmt.Fprintf(os.Stderr, "nicbench: %v\n", err)
		os.Exit(1)
	}
	fs := flag.NewFlagSet("nicbench", flag.ContinueOnError)
	n := fs.Int("n", 2000, "single echo round trips")
	m := fs.Int("m", 20000, "echoes in the flood")
	window := fs.Int("window", 32, "echoes in flight during the flood")
	fs.Parse(t.Args)
	go t.Serve(context.Background())
	t.Ready()
	r, err := run(t, *n, *m, *window)
	if err != nil {
		fmt.Printf("RESULT {\"error\":%q}\n", err.Error())
	} else {
		b, _ := json.Marshal(r)
		fmt.Printf("RESULT %s\n", b)
	}
	select {}
}

func run(t *sys.Task, n, m, window int) (nic.Result, error) {
	ep, err := t.Cap("nic")
	if err != nil {
		return nic.Result{}, err
	}
	rep, err := t.Call(ep, []byte{session.OpOpen}, nil, 30*time.Second)
	if err != nil || len(rep.Caps) != 1 {
		return nic.Result{}, fmt.Errorf("opening the NIC session: %v", err)
	}
	region, err := t.MapMemory(rep.Caps[0].Handle)
	if err != nil {
		return nic.Result{}, err
	}
	c, err := session.NewClient(region.Bytes())
	if err != nil {
		return nic.Result{}, err
	}
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if st, _ := c.Status(); st.Link {
			break
		}
		if time.Now().After(deadline) {
			return nic.Result{}, fmt.Errorf("no link")
		}
	}
	st, _ := c.Status()
	f := nic.Flow{MAC: st.MAC, Addr: netip.MustParseAddr("192.0.2.2"), Peer: netip.MustParseAddr("192.0.2.1")}
	l := sessionLink{c}
	if err := nic.Resolve(l, &f); err != nil {
		return nic.Result{}, err
	}
	return nic.Run(l, f, n, m, window)
}
