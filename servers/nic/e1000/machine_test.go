//go:build dde

package main

import (
	"bytes"
	"errors"
	"fmt"

	"grailos/arch/machine/e1000"
	"grailos/arch/machine/pci"
)

// machine is the hardware of an in-process run: an 82540EM model and its
// PCI configuration space. It implements dde.Device (what the driver's
// configuration cycles, MMIO and port I/O reach) and the model's DMA and
// IRQ hooks. In the server the machine process plays this part.
type machine struct {
	cfg    *pci.Space
	nic    *e1000.Device
	dma    poolDMA
	irq    func() // the runtime's IRQ, set once the runtime exists
	events []e1000.Event
	writes map[uint32]int // MMIO writes per register offset
}

// poolDMA is the device's view of the DMA pool: bus addresses
// [bus, bus+len(mem)); everything else is refused, as the machine's
// IOMMU refuses it.
type poolDMA struct {
	mem []byte
	bus uint64
}

var errOutsidePool = errors.New("outside the DMA pool")

func (p poolDMA) slice(addr uint64, n int) ([]byte, error) {
	if addr < p.bus || addr-p.bus > uint64(len(p.mem)) || uint64(n) > uint64(len(p.mem))-(addr-p.bus) {
		return nil, fmt.Errorf("bus %#x+%d: %w", addr, n, errOutsidePool)
	}
	return p.mem[addr-p.bus:][:n], nil
}

// Read implements e1000.DMA.Read.
func (p poolDMA) Read(addr uint64, b []byte) error {
	s, err := p.slice(addr, len(b))
	copy(b, s)
	return err
}

// Write implements e1000.DMA.Write.
func (p poolDMA) Write(addr uint64, b []byte) error {
	s, err := p.slice(addr, len(b))
	copy(s, b)
	return err
}

func newMachine(mac [6]byte, pool []byte, bus uint64, wire e1000.Wire) (*machine, error) {
	m := &machine{dma: poolDMA{mem: pool, bus: bus}}
	var err error
	if m.cfg, err = pci.New(e1000.PCIHeader()); err != nil {
		return nil, err
	}
	m.nic, err = e1000.New(e1000.Config{MAC: mac, DMA: m.dma, Wire: wire, IRQ: m,
		BusMaster: m.cfg.BusMaster, OnEvent: func(e e1000.Event) { m.events = append(m.events, e) }})
	return m, err
}

// Set implements e1000.IRQ: a rising edge is an interrupt for the DDE.
// It runs under the model's lock, often inside an MMIO write of the
// driver; Runtime.IRQ only takes note.
func (m *machine) Set(level bool) {
	if level && m.irq != nil {
		m.irq()
	}
}

// ConfigRead implements dde.Device.ConfigRead.
func (m *machine) ConfigRead(off uint32, size int) uint32 { return m.cfg.ReadConfig(off, size) }

// ConfigWrite implements dde.Device.ConfigWrite.
func (m *machine) ConfigWrite(off uint32, size int, v uint32) { m.cfg.WriteConfig(off, size, v) }

// MMIORead implements dde.Device.MMIORead: BAR 0 is the register file;
// with memory decoding off, or on another BAR, the read master-aborts
// (all ones).
func (m *machine) MMIORead(bar int, off uint32, size int) uint64 {
	if bar != 0 || !m.cfg.MemoryEnabled() {
		return ^uint64(0) >> (64 - 8*size)
	}
	return m.nic.ReadMMIO(off, size)
}

// MMIOWrite implements dde.Device.MMIOWrite.
func (m *machine) MMIOWrite(bar int, off uint32, size int, v uint64) {
	if bar == 0 && m.cfg.MemoryEnabled() {
		if m.writes == nil {
			m.writes = map[uint32]int{}
		}
		m.writes[off]++
		m.nic.WriteMMIO(off, size, v)
	}
}

// IORead implements dde.Device.IORead: BAR 1 is IOADDR/IODATA.
func (m *machine) IORead(bar int, off uint32, size int) uint32 {
	if bar != 1 || !m.cfg.IOEnabled() {
		return ^uint32(0) >> (32 - 8*size)
	}
	return m.nic.ReadIO(off, size)
}

// IOWrite implements dde.Device.IOWrite.
func (m *machine) IOWrite(bar int, off uint32, size int, v uint32) {
	if bar == 1 && m.cfg.IOEnabled() {
		m.nic.WriteIO(off, size, v)
	}
}

// host collects what the driver hands up.
type host struct {
	frames     [][]byte
	carrier    []bool
	txReady    int
	txTimeouts []int // queues the transmit watchdog found stalled
}

func (h *host) Receive(f []byte)    { h.frames = append(h.frames, f) }
func (h *host) Carrier(up bool)     { h.carrier = append(h.carrier, up) }
func (h *host) TxReady()            { h.txReady++ }
func (h *host) TxTimeout(queue int) { h.txTimeouts = append(h.txTimeouts, queue) }

type wire struct{ frames [][]byte }

func (w *wire) Send(f []byte) error { w.frames = append(w.frames, bytes.Clone(f)); return nil }

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
