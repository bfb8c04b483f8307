// Package nic is `grail bench nic`: ICMP echo round trips and a windowed
// echo flood between a client and the Linux stack in a peer namespace,
// through the whole GrailOS path (NIC session → e1000 server with the
// unmodified Linux driver → device channel → machine → TAP) and, in the same
// run, over a veth pair between two Linux namespaces; plus MMIO accesses/s
// over the device channel and the resident memory of the driver server and
// the machine.
package nic

import (
	"fmt"
	"net/netip"
	"time"

	"grailos/bench/ipc"
	"grailos/servers/nicprobe/frames"
)

// Link sends and receives whole Ethernet frames.
type Link interface {
	Send(frame []byte) error
	Recv(buf []byte, deadline time.Time) (int, error)
}

// Flow is one side of the exchange: our addresses and the peer's.
type Flow struct {
	MAC, PeerMAC [6]byte
	Addr, Peer   netip.Addr
}

// Resolve learns the peer's MAC with ARP.
func Resolve(l Link, f *Flow) error {
	buf := make([]byte, 2048)
	for try := 0; try < 20; try++ {
		if err := l.Send(frames.ARP(1, f.MAC, f.Addr, [6]byte{}, f.Peer)); err != nil {
			return err
		}
		deadline := time.Now().Add(500 * time.Millisecond)
		for time.Now().Before(deadline) {
			n, err := l.Recv(buf, deadline)
			if err != nil {
				break
			}
			if a, err := frames.ParseARP(buf[:n]); err == nil && a.Op == 2 && a.SrcIP == f.Peer {
				f.PeerMAC = a.SrcMAC
				return nil
			}
		}
	}
	return fmt.Errorf("no ARP reply from %v", f.Peer)
}

// Result of one path.
type Result struct {
	RTT          ipc.Latency `json:"echo_rtt"`
	Echoes       int         `json:"flood_echoes"`
	Window       int         `json:"flood_window"`
	Seconds      float64     `json:"flood_seconds"`
	FramesPerSec float64     `json:"frames_per_s"` // requests out plus replies in
	Lost         int         `json:"lost"`
}

// Run measures n single echo round trips, then a flood of m echoes with up
// to window in flight. Every reply is checked (sequence, checksum).
func Run(l Link, f Flow, n, m, window int) (Result, error) {
	var r Result
	buf := make([]byte, 2048)
	payload := make([]byte, 56)
	samples := make([]time.Duration, 0, n)
	await := func(seq uint16, deadline time.Time) bool {
		for {
			k, err := l.Recv(buf, deadline)
			if err != nil {
				return false
			}
			e, err := frames.ParseEcho(buf[:k])
			if err == nil && e.Type == 0 && e.ID == 0x4247 && e.ChecksumGood && e.Seq == seq {
				return true
			}
		}
	}
	for i := 0; i < n; i++ {
		seq := uint16(i)
		st := time.Now()
		if err := l.Send(frames.ICMPEcho(8, f.MAC, f.PeerMAC, f.Addr, f.Peer, 0x4247, seq, payload)); err != nil {
			return r, err
		}
		if !await(seq, time.Now().Add(time.Second)) {
			r.Lost++
			continue
		}
		samples = append(samples, time.Since(st))
	}
	r.RTT = ipc.Summarize(samples)
	r.Window = window
	sent, got := 0, 0
	st := time.Now()
	deadline := st.Add(2 * time.Minute)
	for got+r.Lost < m && time.Now().Before(deadline) {
		for sent < m && sent-got-r.Lost < window {
			if err := l.Send(frames.ICMPEcho(8, f.MAC, f.PeerMAC, f.Addr, f.Peer, 0x4247, uint16(sent), payload)); err != nil {
				return r, err
			}
			sent++
		}
		k, err := l.Recv(buf, time.Now().Add(200*time.Millisecond))
		if err != nil {
			r.Lost += sent - got - r.Lost // whatever is in flight is gone
			continue
		}
		if e, err := frames.ParseEcho(buf[:k]); err == nil && e.Type == 0 && e.ID == 0x4247 && e.ChecksumGood {
			got++
		}
	}
	r.Seconds = time.Since(st).Seconds()
	r.Echoes = got
	r.FramesPerSec = float64(2*got) / r.Seconds
	return r, nil
}
