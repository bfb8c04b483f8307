package host

import (
	"fmt"
	"sync/atomic"
	"time"

	"grailos/arch/machine/devchan"
	"grailos/arch/machine/e1000"
	"grailos/arch/machine/pci"
)

// FunctionConfig wires one 82540EM function.
type FunctionConfig struct {
	MAC     [6]byte
	Pool    *Pool                  // the DMA window (required)
	Wire    e1000.Wire             // frames out; nil drops them
	Clock   e1000.Clock            // nil: every interrupt delay is zero
	Wake    func(at time.Duration) // see e1000.Config.Wake
	OnEvent func(e1000.Event)      // problems the model reports
	IRQ     func(level bool)       // INTA#; may also be set later with SetIRQ
	// OnAttach, if set, is called when a driver attaches, before the
	// function-level reset.
	OnAttach func(gen uint32)
}

// Function is one PCI function of the machine: the 82540EM model, its
// configuration space and its DMA pool. It implements devchan.Handler:
// memory BAR0 goes to the model's MMIO, I/O BAR1 to its port I/O, config
// cycles to the pci.Space; accesses to a BAR whose decode bit is off in
// the command register are refused (a master abort: reads return
// all-ones), and the model may DMA only while bus mastering is on.
type Function struct {
	dev      *e1000.Device
	space    *pci.Space
	pool     *Pool
	irq      atomic.Pointer[func(bool)]
	onAttach func(gen uint32)

	mmioReads, mmioWrites, ioAccesses, cfgAccesses, decodeOff, resets atomic.Uint64
}

// irqLine adapts Function's settable IRQ hook to e1000.IRQ.
type irqLine struct{ f *Function }

func (l irqLine) Set(level bool) {
	if p := l.f.irq.Load(); p != nil {
		(*p)(level)
	}
}

// NewFunction builds the function in its power-on state.
func NewFunction(cfg FunctionConfig) (*Function, error) {
	if cfg.Pool == nil {
		return nil, fmt.Errorf("host: function needs a DMA pool")
	}
	space, err := pci.New(e1000.PCIHeader())
	if err != nil {
		return nil, err
	}
	f := &Function{space: space, pool: cfg.Pool, onAttach: cfg.OnAttach}
	if cfg.IRQ != nil {
		f.SetIRQ(cfg.IRQ)
	}
	f.dev, err = e1000.New(e1000.Config{
		MAC: cfg.MAC, DMA: cfg.Pool, Wire: cfg.Wire, IRQ: irqLine{f},
		Clock: cfg.Clock, Wake: cfg.Wake, BusMaster: space.BusMaster, OnEvent: cfg.OnEvent,
	})
	if err != nil {
		return nil, err
	}
	return f, nil
}

// SetIRQ installs the interrupt line's sink (the channel server's SetIRQ).
func (f *Function) SetIRQ(set func(level bool)) { f.irq.Store(&set) }

// Device returns the device model.
func (f *Function) Device() *e1000.Device { return f.dev }

// Space returns the configuration space.
func (f *Function) Space() *pci.Space { return f.space }

// BARs returns the function's BAR table in the channel's terms.
func (f *Function) BARs() [devchan.NumBARs]devchan.BAR {
	var out [devchan.NumBARs]devchan.BAR
	for i, b := range f.space.Header().BARs {
		out[i] = devchan.BAR{Size: uint32(b.Size), IO: b.IO}
	}
	return out
}

// Attach implements devchan.Handler.Attach: a function-level reset.
// Configuration space returns to power-on (decode and bus mastering off,
// so whatever the previous driver left programmed cannot DMA), and the
// device model is reset (registers, rings, PHY; the EEPROM and the cable
// stay).
func (f *Function) Attach(gen uint32) {
	if f.onAttach != nil {
		f.onAttach(gen)
	}
	f.resets.Add(1)
	f.space.Reset()
	f.dev.Reset()
}

// ConfigRead implements devchan.Handler.
func (f *Function) ConfigRead(off uint32, size int) (uint32, devchan.Status) {
	f.cfgAccesses.Add(1)
	return f.space.ReadConfig(off, size), devchan.StatusOK
}

// ConfigWrite implements devchan.Handler.
func (f *Function) ConfigWrite(off uint32, size int, v uint32) devchan.Status {
	f.cfgAccesses.Add(1)
	f.space.WriteConfig(off, size, v)
	return devchan.StatusOK
}

// MMIORead implements devchan.Handler.
func (f *Function) MMIORead(bar int, off uint32, size int) (uint64, devchan.Status) {
	if bar != 0 {
		return 0, devchan.StatusBadBAR
	}
	if !f.space.MemoryEnabled() {
		f.decodeOff.Add(1)
		return 0, devchan.StatusDisabled
	}
	f.mmioReads.Add(1)
	return f.dev.ReadMMIO(off, size), devchan.StatusOK
}

// MMIOWrite implements devchan.Handler.
func (f *Function) MMIOWrite(bar int, off uint32, size int, v uint64) devchan.Status {
	if bar != 0 {
		return devchan.StatusBadBAR
	}
	if !f.space.MemoryEnabled() {
		f.decodeOff.Add(1)
		return devchan.StatusDisabled
	}
	f.mmioWrites.Add(1)
	f.dev.WriteMMIO(off, size, v)
	return devchan.StatusOK
}

// IORead implements devchan.Handler.
func (f *Function) IORead(bar int, off uint32, size int) (uint32, devchan.Status) {
	if bar != 1 {
		return 0, devchan.StatusBadBAR
	}
	if !f.space.IOEnabled() {
		f.decodeOff.Add(1)
		return 0, devchan.StatusDisabled
	}
	f.ioAccesses.Add(1)
	return f.dev.ReadIO(off, size), devchan.StatusOK
}

// IOWrite implements devchan.Handler.
func (f *Function) IOWrite(bar int, off uint32, size int, v uint32) devchan.Status {
	if bar != 1 {
		return devchan.StatusBadBAR
	}
	if !f.space.IOEnabled() {
		f.decodeOff.Add(1)
		return devchan.StatusDisabled
	}
	f.ioAccesses.Add(1)
	f.dev.WriteIO(off, size, v)
	return devchan.StatusOK
}

// FunctionStats are the function's access counters.
type FunctionStats struct {
	MMIOReads, MMIOWrites uint64 // served by the model
	IO, Config            uint64
	DecodeOff             uint64 // refused: decode bit off
	Resets                uint64 // function-level resets (attaches)
}

// Stats returns the access counters.
func (f *Function) Stats() FunctionStats {
	return FunctionStats{
		MMIOReads: f.mmioReads.Load(), MMIOWrites: f.mmioWrites.Load(),
		IO: f.ioAccesses.Load(), Config: f.cfgAccesses.Load(),
		DecodeOff: f.decodeOff.Load(), Resets: f.resets.Load(),
	}
}
