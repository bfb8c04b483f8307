//go:build dde

package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"time"

	dde "grailos/dde/linux"
)

func main() {
	if os.Getenv("GRAIL_TASK") != "" { // started by the GrailOS kernel
		if err := serve(); err != nil {
			fmt.Fprintln(os.Stderr, "e1000:", err)
			os.Exit(1)
		}
		return
	}
	selftest := flag.Bool("selftest", false, "run the driver against the in-process 82540EM model: probe, link up, one ARP exchange")
	realtime := flag.Bool("realtime", false, "with -selftest: real time (the driver's delays sleep) instead of virtual time")
	provenance := flag.Bool("provenance", false, "print the provenance of the linked C objects (donor sources, runtime, stubs) and exit")
	flag.Parse()
	if *provenance {
		fmt.Print(dde.Provenance())
		return
	}
	if !*selftest {
		fmt.Fprintln(os.Stderr, "e1000: run as a GrailOS server (grail up), or with -selftest against the in-process model")
		os.Exit(2)
	}
	if err := runSelftest(!*realtime); err != nil {
		fmt.Fprintln(os.Stderr, "e1000:", err)
		os.Exit(1)
	}
}

// host collects what the driver hands up.
type host struct {
	frames  [][]byte
	carrier []bool
	txReady int
}

func (h *host) Receive(f []byte) { h.frames = append(h.frames, f) }
func (h *host) Carrier(up bool)  { h.carrier = append(h.carrier, up) }
func (h *host) TxReady()         { h.txReady++ }

type wire struct{ frames [][]byte }

func (w *wire) Send(f []byte) error { w.frames = append(w.frames, bytes.Clone(f)); return nil }

func runSelftest(virtual bool) error {
	const poolBus = 0x40000000
	mac := [6]byte{0x52, 0x54, 0x00, 0x12, 0x34, 0x56}
	pool, err := dde.NewPool(8 << 20)
	if err != nil {
		return err
	}
	defer dde.FreePool(pool)
	w, h := &wire{}, &host{}
	m, err := newMachine(mac, pool, poolBus, w)
	if err != nil {
		return err
	}
	rt, err := dde.New(dde.Config{Device: m, Module: module, Pool: pool, PoolBus: poolBus, VirtualTime: virtual,
		Log: func(l string) { fmt.Println(l) }, Net: h})
	if err != nil {
		return err
	}
	m.irq = rt.IRQ
	if err := rt.Start(); err != nil {
		return err
	}
	if err := rt.Open(); err != nil {
		return err
	}
	for i := 0; i < 100 && (len(h.carrier) == 0 || !h.carrier[len(h.carrier)-1]); i++ {
		at, ok := rt.NextDeadline()
		if !ok {
			break
		}
		if !virtual {
			time.Sleep(at - rt.Elapsed())
		}
		rt.RunPending(at)
	}
	request := arp(1, mac[:], [6]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, [4]byte{192, 0, 2, 2}, [4]byte{192, 0, 2, 1})
	if err := rt.Xmit(request); err != nil {
		return err
	}
	peer := []byte{0x02, 0, 0, 0, 0, 1}
	m.nic.Receive(arp(2, peer, mac, [4]byte{192, 0, 2, 1}, [4]byte{192, 0, 2, 2}))
	rt.RunPending(rt.Now())
	st := rt.Stats()
	fmt.Printf("selftest: carrier %v, %d frame(s) on the wire, %d received, clock %v, %d of %d pool pages used\n",
		h.carrier, len(w.frames), len(h.frames), st.Now, st.PoolPagesUsed, st.PoolPages)
	if err := rt.Stop(); err != nil {
		return err
	}
	if len(w.frames) != 1 || len(h.frames) != 1 {
		return errors.New("selftest failed")
	}
	return nil
}

// arp builds an ARP frame (op 1 request, 2 reply) of Ethernet's minimum
// 60 bytes: from src to dst, sender IP sip, target IP tip.
func arp(op byte, src []byte, dst [6]byte, sip, tip [4]byte) []byte {
	f := make([]byte, 60)
	copy(f, dst[:])
	copy(f[6:], src)
	copy(f[12:], []byte{0x08, 0x06, 0, 1, 0x08, 0x00, 6, 4, 0, op})
	copy(f[22:], src)
	copy(f[28:], sip[:])
	if op == 2 {
		copy(f[32:], dst[:])
	}
	copy(f[38:], tip[:])
	return f
}
