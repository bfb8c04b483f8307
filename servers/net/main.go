// Command net is the network stack server: gVisor's netstack on the NIC
// session of a NIC server (it `uses` the `nic` endpoint), offering socket
// sessions on its `net` endpoint (contract: servers/net/socket). Addresses
// come from its arguments in the system file:
//
//	args = ["-addr", "192.0.2.2/24", "-addr", "2001:db8::2/64", "-gw", "192.0.2.1"]
//
// When the NIC server restarts (init tells us), the server opens a session
// on the new instance and switches its link endpoint to it; the stack and
// its connections stay.
package main

import (
	"context"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"grailos/kernel/abi"
	"grailos/kernel/shm"
	"grailos/kernel/sys"
	"grailos/servers/net/link"
	"grailos/servers/net/netserver"
	"grailos/servers/net/socket"
	"grailos/servers/nic/session"
)

func main() {
	t, err := sys.Start()
	if err != nil {
		fmt.Fprintf(os.Stderr, "net: %v\n", err)
		os.Exit(1)
	}
	if err := run(t); err != nil {
		fmt.Fprintf(os.Stderr, "net: %v\n", err)
		os.Exit(1)
	}
}

func parseArgs(args []string) (netserver.Config, error) {
	var cfg netserver.Config
	fs := flag.NewFlagSet("net", flag.ContinueOnError)
	prefix := func(s string) error {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return err
		}
		cfg.Addrs = append(cfg.Addrs, p)
		return nil
	}
	fs.Func("addr", "an IPv4 address with prefix length (repeatable)", prefix)
	fs.Func("addr6", "an IPv6 address with prefix length (repeatable)", prefix)
	fs.Func("gw", "a default gateway (one per family)", func(s string) error {
		a, err := netip.ParseAddr(s)
		if err == nil {
			cfg.Gateways = append(cfg.Gateways, a)
		}
		return err
	})
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if len(cfg.Addrs) == 0 {
		return cfg, fmt.Errorf("no -addr given")
	}
	return cfg, nil
}

// rxMode is the receive filter the net server needs of the NIC: every
// multicast frame, because netstack joins groups (IPv6 solicited-node and
// all-nodes) that a link endpoint cannot pass down one by one; netstack
// drops the groups it has not joined.
const rxMode = session.RxAllMulti

// openNIC opens a NIC session on the nic endpoint and (re)applies what
// the driver must know of us: the receive filter. This runs again after
// every NIC-server restart: the new driver instance starts from reset.
func openNIC(t *sys.Task) (*session.Client, *shm.Region, error) {
	nic, err := t.Cap("nic")
	if err != nil {
		return nil, nil, err
	}
	r, err := t.Call(nic, []byte{session.OpOpen}, nil, 30*time.Second)
	if err != nil {
		return nil, nil, fmt.Errorf("opening the NIC session: %w", err)
	}
	if len(r.Caps) != 1 || r.Caps[0].Handle == 0 {
		return nil, nil, fmt.Errorf("NIC session reply without memory")
	}
	region, err := t.MapMemory(r.Caps[0].Handle)
	t.Delete(r.Caps[0].Handle)
	if err != nil {
		return nil, nil, err
	}
	c, err := session.NewClient(region.Bytes())
	if err != nil {
		region.Close()
		return nil, nil, err
	}
	if _, err := t.Call(nic, []byte{session.OpRxMode, rxMode}, nil, 10*time.Second); err != nil {
		region.Close()
		return nil, nil, fmt.Errorf("setting the receive filter: %w", err)
	}
	return c, region, nil
}

func run(t *sys.Task) error {
	cfg, err := parseArgs(t.Args)
	if err != nil {
		return err
	}
	go t.Serve(context.Background())
	c, region, err := openNIC(t)
	if err != nil {
		return err
	}
	st, err := c.Status()
	if err != nil {
		return err
	}
	ep := link.New(c, st.MAC, uint32(st.MTU))
	for _, a := range cfg.Addrs {
		if a.Addr().Is4() {
			ep.Announce = append(ep.Announce, a.Addr())
		}
	}
	ep.OnLink = func(up bool) { fmt.Printf("net: link %s\n", map[bool]string{true: "up", false: "down"}[up]) }
	srv, err := netserver.New(ep, cfg)
	if err != nil {
		return err
	}
	var gone atomic.Bool
	var regionMu sync.Mutex // region: the current NIC session's memory
	t.OnPeer = func(name string, up bool) {
		if !up {
			// init gave up on the NIC server: say so, and fail what
			// waits on the network rather than leave it hanging.
			gone.Store(true)
			srv.LinkGone()
			fmt.Printf("net: link down: %s is down for good; connections aborted, new ones fail\n", name)
			return
		}
		go func() {
			c, r, err := openNIC(t)
			if err != nil {
				fmt.Printf("net: re-attach after %s restarted: %v\n", name, err)
				return
			}
			ep.SetNIC(c)
			// The old session's memory goes once nothing can still be
			// using it: the receiver follows SetNIC within idleCheck, a
			// send waits at most sendWait. (Kept, it leaked a mapping per
			// restart, and after ~100 restarts the cgroup's OOM killer
			// took the net server.)
			regionMu.Lock()
			old := region
			region = r
			regionMu.Unlock()
			time.AfterFunc(2*time.Second, func() { old.Close() })
			if gone.CompareAndSwap(true, false) {
				srv.LinkBack()
			}
			fmt.Printf("net: re-attached to %s\n", name)
		}()
	}
	netEP, err := t.Cap("net")
	if err != nil {
		return err
	}
	if err := t.Listen(netEP, func(r *sys.Request) { open(t, srv, r) }); err != nil {
		return err
	}
	var as []string
	for _, a := range cfg.Addrs {
		as = append(as, a.String())
	}
	fmt.Printf("net: up %x %s\n", st.MAC, strings.Join(as, " "))
	if err := t.Ready(); err != nil {
		return err
	}
	select {}
}

// open answers a session request on the net endpoint.
func open(t *sys.Task, srv *netserver.Server, r *sys.Request) {
	if len(r.Payload) != 1 || r.Payload[0] != socket.OpOpen {
		r.Fail(abi.ErrBadRequest, "unknown net request")
		return
	}
	h, err := t.NewMemory(socket.Bytes())
	if err != nil {
		r.Fail(abi.ErrQuota, "session memory: %v", err)
		return
	}
	region, err := t.MapMemory(h)
	if err != nil {
		t.Delete(h)
		r.Fail(abi.ErrQuota, "mapping session memory: %v", err)
		return
	}
	if _, err := srv.OpenSession(region.Bytes()); err != nil {
		region.Close()
		t.Delete(h)
		r.Fail(abi.ErrBadRequest, "%v", err)
		return
	}
	r.Reply(nil, abi.CapRef{Handle: h, Rights: abi.RightRead | abi.RightWrite})
	t.Delete(h)
}
