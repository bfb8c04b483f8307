// Command nicprobe is a test client of the NIC session: it asks the peer
// (the Linux stack on the far side of the machine's wire) for its MAC with
// ARP, pings it, prints "CHECK name outcome" lines, and then answers ARP and
// ICMP echo for its own address, so `ping` in the peer namespace gets
// replies from it. Tests and the demo read its lines.
package main

import (
	"context"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"sync/atomic"
	"time"

	"grailos/kernel/abi"
	"grailos/kernel/shm"
	"grailos/kernel/sys"
	"grailos/servers/nic/session"
	"grailos/servers/nicprobe/frames"
)

func main() {
	t, err := sys.Start()
	if err != nil {
		fmt.Fprintf(os.Stderr, "nicprobe: %v\n", err)
		os.Exit(1)
	}
	fs := flag.NewFlagSet("nicprobe", flag.ContinueOnError)
	addr := fs.String("addr", "192.0.2.2", "our IPv4 address")
	peer := fs.String("peer", "192.0.2.1", "the peer's IPv4 address")
	if err := fs.Parse(t.Args); err != nil {
		os.Exit(2)
	}
	p := &probe{t: t, addr: netip.MustParseAddr(*addr), peer: netip.MustParseAddr(*peer)}
	// When the NIC server restarts (init says so), re-open the session: the
	// old one belonged to the dead instance.
	t.OnPeer = func(name string, up bool) {
		if up {
			p.reopen.Store(true)
		}
	}
	go t.Serve(context.Background())
	t.Ready()
	if err := p.run(); err != nil {
		fmt.Printf("CHECK error %v\n", err)
		os.Exit(1)
	}
}

type probe struct {
	reopen     atomic.Bool
	t          *sys.Task
	addr, peer netip.Addr
	c          *session.Client
	mac        [6]byte
	mem        abi.Handle  // the session's memory capability
	region     *shm.Region // and its mapping
}

func (p *probe) open() error {
	nic, err := p.t.Cap("nic")
	if err != nil {
		return err
	}
	r, err := p.t.Call(nic, []byte{session.OpOpen}, nil, 30*time.Second)
	if err != nil {
		return fmt.Errorf("opening the NIC session: %w", err)
	}
	if len(r.Caps) != 1 || r.Caps[0].Handle == 0 {
		return fmt.Errorf("NIC session reply without memory")
	}
	region, err := p.t.MapMemory(r.Caps[0].Handle)
	if err != nil {
		return err
	}
	if p.c, err = session.NewClient(region.Bytes()); err != nil {
		return err
	}
	if p.region != nil { // the previous session: its server is gone
		p.region.Close()
		p.t.Delete(p.mem)
	}
	p.mem, p.region = r.Caps[0].Handle, region
	st, err := p.c.Status()
	p.mac = st.MAC
	return err
}

func (p *probe) run() error {
	if err := p.open(); err != nil {
		return err
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		st, _ := p.c.Status()
		if st.Link {
			fmt.Printf("CHECK link up %x\n", st.MAC)
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("link did not come up")
		}
		time.Sleep(10 * time.Millisecond)
	}
	buf := make([]byte, 2048)
	// ARP for the peer until it answers.
	var peerMAC [6]byte
	for tries := 0; ; tries++ {
		if tries == 20 {
			return fmt.Errorf("no ARP reply from %v", p.peer)
		}
		if err := p.c.Send(frames.ARP(1, p.mac, p.addr, [6]byte{}, p.peer), time.Now().Add(time.Second)); err != nil {
			return err
		}
		got, ok := p.await(buf, time.Now().Add(500*time.Millisecond), func(f []byte) bool {
			a, err := frames.ParseARP(f)
			if err == nil && a.Op == 2 && a.SrcIP == p.peer {
				peerMAC = a.SrcMAC
				return true
			}
			return false
		})
		_ = got
		if ok {
			break
		}
	}
	fmt.Printf("CHECK arp-reply %x\n", peerMAC)
	for seq := uint16(1); seq <= 3; seq++ {
		if err := p.c.Send(frames.ICMPEcho(8, p.mac, peerMAC, p.addr, p.peer, 0x4752, seq, []byte("grailos nic probe")), time.Now().Add(time.Second)); err != nil {
			return err
		}
		_, ok := p.await(buf, time.Now().Add(2*time.Second), func(f []byte) bool {
			e, err := frames.ParseEcho(f)
			return err == nil && e.Type == 0 && e.Src == p.peer && e.ID == 0x4752 && e.Seq == seq && e.ChecksumGood
		})
		if !ok {
			return fmt.Errorf("no echo reply %d from %v", seq, p.peer)
		}
		fmt.Printf("CHECK icmp-reply %d\n", seq)
	}
	fmt.Println("DONE")
	// Answer the peer from now on.
	for {
		if p.reopen.Swap(false) {
			if err := p.open(); err != nil {
				fmt.Printf("re-opening the NIC session: %v\n", err)
				p.reopen.Store(true)
				time.Sleep(100 * time.Millisecond)
				continue
			}
			fmt.Println("NIC session re-opened")
		}
		n, err := p.c.Recv(buf, time.Now().Add(100*time.Millisecond))
		if err != nil {
			continue
		}
		p.answer(buf[:n])
	}
}

// await receives frames until match accepts one (answering others) or the
// deadline passes.
func (p *probe) await(buf []byte, deadline time.Time, match func([]byte) bool) ([]byte, bool) {
	for time.Now().Before(deadline) {
		n, err := p.c.Recv(buf, deadline)
		if err != nil {
			return nil, false
		}
		if match(buf[:n]) {
			return buf[:n], true
		}
		p.answer(buf[:n])
	}
	return nil, false
}

// answer replies to ARP requests and pings for our address.
func (p *probe) answer(f []byte) {
	if a, err := frames.ParseARP(f); err == nil && a.Op == 1 && a.DstIP == p.addr {
		p.c.Send(frames.ARP(2, p.mac, p.addr, a.SrcMAC, a.SrcIP), time.Now().Add(time.Second))
		return
	}
	if e, err := frames.ParseEcho(f); err == nil && e.Type == 8 && e.Dst == p.addr && e.ChecksumGood {
		p.c.Send(frames.ICMPEcho(0, p.mac, e.SrcMAC, p.addr, e.Src, e.ID, e.Seq, e.Data), time.Now().Add(time.Second))
		fmt.Printf("RESPONDED icmp %d\n", e.Seq)
	}
}
