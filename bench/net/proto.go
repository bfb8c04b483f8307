// Package net is `grail bench net`: TCP bulk throughput (both directions)
// and a small-request rate through the whole GrailOS path — a native
// program → socket session → net server (gVisor netstack) → NIC session →
// e1000 server (unmodified Linux driver) → machine → TAP → Linux — and, in
// the same run, the same transfers between two Linux network namespaces
// over a veth pair. It reports the ratios, the CPU time each path spends
// per GiB moved (split by process for GrailOS: where the time goes), and
// the net server's resident memory under load.
//
// Both paths run the same client code (this file) against the same peer
// server (Serve) in a Linux namespace.
package net

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"time"
)

// Operations of the peer protocol: one byte and an 8-byte argument open
// every connection.
const (
	opSend = 'R' // the server sends arg bytes (the client receives)
	opSink = 'T' // the server reads arg bytes and answers their count
	opEcho = 'E' // the server echoes messages of arg bytes until EOF
)

// Serve answers the peer protocol on ln until it is closed.
func Serve(ln net.Listener) error {
	src := make([]byte, 1<<20)
	for i := range src {
		src[i] = byte(i * 7)
	}
	for {
		c, err := ln.Accept()
		if err != nil {
			return err
		}
		go serveConn(c, src)
	}
}

func serveConn(c net.Conn, src []byte) {
	defer c.Close()
	var hdr [9]byte
	if _, err := io.ReadFull(c, hdr[:]); err != nil {
		return
	}
	arg := int64(binary.BigEndian.Uint64(hdr[1:]))
	switch hdr[0] {
	case opSend:
		for arg > 0 {
			n := min(arg, int64(len(src)))
			if _, err := c.Write(src[:n]); err != nil {
				return
			}
			arg -= n
		}
	case opSink:
		n, _ := io.CopyN(io.Discard, c, arg)
		binary.BigEndian.PutUint64(hdr[1:], uint64(n))
		c.Write(hdr[1:])
	case opEcho:
		if arg <= 0 || arg > 1<<16 {
			return
		}
		buf := make([]byte, arg)
		for {
			if _, err := io.ReadFull(c, buf); err != nil {
				return
			}
			if _, err := c.Write(buf); err != nil {
				return
			}
		}
	}
}

// Dialer connects to the peer server.
type Dialer func() (net.Conn, error)

// Phase is the result of one workload on one path.
type Phase struct {
	Name     string  `json:"name"`
	Bytes    int64   `json:"bytes,omitempty"`
	Seconds  float64 `json:"seconds"`
	MiBps    float64 `json:"mib_per_s,omitempty"`
	Requests int     `json:"requests,omitempty"`
	ReqPerS  float64 `json:"requests_per_s,omitempty"`
	RTTp50us float64 `json:"rtt_p50_us,omitempty"`
	RTTp99us float64 `json:"rtt_p99_us,omitempty"`
	// Filled by the harness: CPU time of every process on the path during
	// the phase, and per GiB moved (bulk phases).
	CPUSeconds   float64            `json:"cpu_seconds"`
	CPUPerGiB    float64            `json:"cpu_seconds_per_gib,omitempty"`
	CPUByProcess map[string]float64 `json:"cpu_seconds_by_process,omitempty"`
}

func header(op byte, arg int64) []byte {
	b := make([]byte, 9)
	b[0] = op
	binary.BigEndian.PutUint64(b[1:], uint64(arg))
	return b
}

// Receive downloads size bytes on one connection.
func Receive(dial Dialer, size int64) (Phase, error) {
	c, err := dial()
	if err != nil {
		return Phase{}, err
	}
	defer c.Close()
	start := time.Now()
	if _, err := c.Write(header(opSend, size)); err != nil {
		return Phase{}, err
	}
	n, err := io.CopyBuffer(io.Discard, c, make([]byte, 256<<10))
	if err != nil {
		return Phase{}, err
	}
	if n != size {
		return Phase{}, fmt.Errorf("received %d bytes, want %d", n, size)
	}
	return bulk("tcp_receive", size, time.Since(start)), nil
}

// Send uploads size bytes on one connection; the server confirms the count.
func Send(dial Dialer, size int64) (Phase, error) {
	c, err := dial()
	if err != nil {
		return Phase{}, err
	}
	defer c.Close()
	start := time.Now()
	if _, err := c.Write(header(opSink, size)); err != nil {
		return Phase{}, err
	}
	buf := make([]byte, 256<<10)
	for left := size; left > 0; {
		n := min(left, int64(len(buf)))
		if _, err := c.Write(buf[:n]); err != nil {
			return Phase{}, err
		}
		left -= n
	}
	var ack [8]byte
	if _, err := io.ReadFull(c, ack[:]); err != nil {
		return Phase{}, err
	}
	if got := int64(binary.BigEndian.Uint64(ack[:])); got != size {
		return Phase{}, fmt.Errorf("the peer received %d bytes, want %d", got, size)
	}
	return bulk("tcp_send", size, time.Since(start)), nil
}

func bulk(name string, size int64, d time.Duration) Phase {
	return Phase{Name: name, Bytes: size, Seconds: d.Seconds(), MiBps: float64(size) / (1 << 20) / d.Seconds()}
}

// Requests makes n request/response exchanges of msg bytes each way on one
// connection (netperf's TCP_RR), checking every answer.
func Requests(dial Dialer, n, msg int) (Phase, error) {
	if n <= 0 || msg <= 0 || msg > 1<<16 {
		return Phase{}, errors.New("requests: n > 0 and 0 < msg ≤ 64 KiB")
	}
	c, err := dial()
	if err != nil {
		return Phase{}, err
	}
	defer c.Close()
	if tc, ok := c.(interface{ SetNoDelay(bool) error }); ok {
		tc.SetNoDelay(true)
	}
	if _, err := c.Write(header(opEcho, int64(msg))); err != nil {
		return Phase{}, err
	}
	out, in := make([]byte, msg), make([]byte, msg)
	rtts := make([]time.Duration, 0, n)
	start := time.Now()
	for i := range n {
		binary.BigEndian.PutUint64(out, uint64(i))
		t := time.Now()
		if _, err := c.Write(out); err != nil {
			return Phase{}, err
		}
		if _, err := io.ReadFull(c, in); err != nil {
			return Phase{}, err
		}
		rtts = append(rtts, time.Since(t))
		if binary.BigEndian.Uint64(in) != uint64(i) {
			return Phase{}, fmt.Errorf("request %d answered with %d", i, binary.BigEndian.Uint64(in))
		}
	}
	d := time.Since(start)
	slices.Sort(rtts)
	pct := func(p float64) float64 { return float64(rtts[int(p*float64(len(rtts)-1))]) / 1e3 }
	return Phase{Name: "tcp_requests", Requests: n, Seconds: d.Seconds(), ReqPerS: float64(n) / d.Seconds(),
		RTTp50us: pct(0.5), RTTp99us: pct(0.99)}, nil
}

// Workload runs the phases in order, calling begin and end around each
// (the harness snapshots CPU there).
func Workload(dial Dialer, size int64, requests int, begin func(name string), end func(Phase)) error {
	type step struct {
		name string
		run  func() (Phase, error)
	}
	for _, s := range []step{
		{"tcp_receive", func() (Phase, error) { return Receive(dial, size) }},
		{"tcp_send", func() (Phase, error) { return Send(dial, size) }},
		{"tcp_requests", func() (Phase, error) { return Requests(dial, requests, 64) }},
	} {
		begin(s.name)
		p, err := s.run()
		if err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
		end(p)
	}
	return nil
}
