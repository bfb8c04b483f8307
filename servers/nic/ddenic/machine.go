//go:build dde

package ddenic

import (
	"errors"
	"fmt"

	"grailos/arch/machine/devchan"
	"grailos/arch/machine/host"
	"grailos/arch/machine/hw"
)

// Machine is the hardware of an in-process run: the machine process's
// own PCI function (host.Function: the model, its configuration space,
// the BAR routing and decode checks) behind the dde.Device interface,
// its DMA on the DDE's pool, its interrupt line into the runtime. In the
// server the machine process plays this part, over the device channel.
type Machine struct {
	Function *host.Function
	Events   []hw.Event // what the model reported, in order
	irq      func()
	level    bool // INTA#, as the model drives it
}

// NewMachine builds model (a host.LookupModel name) with MAC mac, DMA on
// pool at bus address bus, transmitting to wire (nil drops frames).
func NewMachine(model string, mac [6]byte, pool []byte, bus uint64, wire hw.Wire) (*Machine, error) {
	m := &Machine{}
	var err error
	m.Function, err = host.NewFunction(host.FunctionConfig{Model: model, MAC: mac, DMA: PoolDMA{Mem: pool, Bus: bus},
		Wire: wire, OnEvent: func(e hw.Event) { m.Events = append(m.Events, e) },
		IRQ: func(level bool) {
			// Under the model's lock, often inside an MMIO write of the
			// driver; Runtime.IRQ only takes note.
			rising := level && !m.level
			m.level = level
			if rising && m.irq != nil {
				m.irq()
			}
		}})
	return m, err
}

// SetIRQ connects the interrupt line to the runtime (Runtime.IRQ), once
// the runtime exists.
func (m *Machine) SetIRQ(irq func()) { m.irq = irq }

// IRQLevel implements dde.LevelIRQ: accesses are synchronous here, so the
// level is current.
func (m *Machine) IRQLevel() bool { return m.level }

// Model returns the device model.
func (m *Machine) Model() host.Model { return m.Function.Model() }

// ConfigRead implements dde.Device.ConfigRead.
func (m *Machine) ConfigRead(off uint32, size int) uint32 {
	v, _ := m.Function.ConfigRead(off, size)
	return v
}

// ConfigWrite implements dde.Device.ConfigWrite.
func (m *Machine) ConfigWrite(off uint32, size int, v uint32) { m.Function.ConfigWrite(off, size, v) }

// MMIORead implements dde.Device.MMIORead; a refused access (decode off,
// wrong BAR) reads all-ones, as a master abort.
func (m *Machine) MMIORead(bar int, off uint32, size int) uint64 {
	v, st := m.Function.MMIORead(bar, off, size)
	if st != devchan.StatusOK {
		return ^uint64(0) >> (64 - 8*size)
	}
	return v
}

// MMIOWrite implements dde.Device.MMIOWrite.
func (m *Machine) MMIOWrite(bar int, off uint32, size int, v uint64) {
	m.Function.MMIOWrite(bar, off, size, v)
}

// IORead implements dde.Device.IORead.
func (m *Machine) IORead(bar int, off uint32, size int) uint32 {
	v, st := m.Function.IORead(bar, off, size)
	if st != devchan.StatusOK {
		return ^uint32(0) >> (32 - 8*size)
	}
	return v
}

// IOWrite implements dde.Device.IOWrite.
func (m *Machine) IOWrite(bar int, off uint32, size int, v uint32) {
	m.Function.IOWrite(bar, off, size, v)
}

// PoolDMA is the device's view of the DMA pool: bus addresses
// [Bus, Bus+len(Mem)); everything else is refused, as the machine's
// IOMMU refuses it.
type PoolDMA struct {
	Mem []byte
	Bus uint64
}

// ErrOutsidePool is the error of a DMA outside the pool.
var ErrOutsidePool = errors.New("outside the DMA pool")

func (p PoolDMA) slice(addr uint64, n int) ([]byte, error) {
	if addr < p.Bus || addr-p.Bus > uint64(len(p.Mem)) || uint64(n) > uint64(len(p.Mem))-(addr-p.Bus) {
		return nil, fmt.Errorf("bus %#x+%d: %w", addr, n, ErrOutsidePool)
	}
	return p.Mem[addr-p.Bus:][:n], nil
}

// Read implements hw.DMA.Read.
func (p PoolDMA) Read(addr uint64, b []byte) error {
	s, err := p.slice(addr, len(b))
	copy(b, s)
	return err
}

// Write implements hw.DMA.Write.
func (p PoolDMA) Write(addr uint64, b []byte) error {
	s, err := p.slice(addr, len(b))
	copy(s, b)
	return err
}
