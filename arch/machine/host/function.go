package host

import (
	"fmt"
	"sync/atomic"
	"time"

	"grailos/arch/machine/devchan"
	"grailos/arch/machine/hw"
	"grailos/arch/machine/pci"
)

// FunctionConfig wires one function.
type FunctionConfig struct {
	Model   string // a model name (LookupModel); "" is DefaultModel
	MAC     [6]byte
	DMA     hw.DMA                 // the DMA window, normally a *Pool (required)
	Wire    hw.Wire                // frames out; nil drops them
	Clock   hw.Clock               // nil: every interrupt delay is zero
	Wake    func(at time.Duration) // see ModelConfig.Wake
	OnEvent func(hw.Event)         // problems the model reports
	IRQ     func(level bool)       // INTA#; may also be set later with SetIRQ
	// OnAttach, if set, is called when a driver attaches, before the
	// function-level reset.
	OnAttach func(gen uint32)
}

// Function is one PCI function of the machine: a device model, its
// configuration space and its DMA window. It implements devchan.Handler:
// a memory BAR goes to the model's MMIO, an I/O BAR to its port I/O (as
// the model's header lays them out), config cycles to the pci.Space;
// accesses to a BAR whose decode bit is off in the command register are
// refused (a master abort: reads return all-ones), and the model may DMA
// only while bus mastering is on.
type Function struct {
	spec     ModelSpec
	dev      Model
	bars     [pci.NumBARs]pci.BAR // the header's, for routing
	space    *pci.Space
	irq      atomic.Pointer[func(bool)]
	onAttach func(gen uint32)

	mmioReads, mmioWrites, ioAccesses, cfgAccesses, decodeOff, resets atomic.Uint64
}

// irqLine adapts Function's settable IRQ hook to hw.IRQ.
type irqLine struct{ f *Function }

func (l irqLine) Set(level bool) {
	if p := l.f.irq.Load(); p != nil {
		(*p)(level)
	}
}

// NewFunction builds the function in its power-on state.
func NewFunction(cfg FunctionConfig) (*Function, error) {
	if cfg.DMA == nil {
		return nil, fmt.Errorf("host: function needs a DMA window")
	}
	if cfg.Model == "" {
		cfg.Model = DefaultModel
	}
	spec, err := LookupModel(cfg.Model)
	if err != nil {
		return nil, err
	}
	space, err := pci.New(spec.Header())
	if err != nil {
		return nil, err
	}
	f := &Function{spec: spec, bars: space.Header().BARs, space: space, onAttach: cfg.OnAttach}
	if cfg.IRQ != nil {
		f.SetIRQ(cfg.IRQ)
	}
	f.dev, err = spec.New(ModelConfig{
		MAC: cfg.MAC, DMA: cfg.DMA, Wire: cfg.Wire, IRQ: irqLine{f},
		Clock: cfg.Clock, Wake: cfg.Wake, BusMaster: space.BusMaster, OnEvent: cfg.OnEvent,
	})
	if err != nil {
		return nil, err
	}
	return f, nil
}

// SetIRQ installs the interrupt line's sink (the channel server's SetIRQ).
func (f *Function) SetIRQ(set func(level bool)) { f.irq.Store(&set) }

// Model returns the device model.
func (f *Function) Model() Model { return f.dev }

// Spec returns the kind of the device model.
func (f *Function) Spec() ModelSpec { return f.spec }

// barIs reports whether bar exists and is of the given kind (I/O or
// memory).
func (f *Function) barIs(bar int, io bool) bool {
	return bar >= 0 && bar < len(f.bars) && f.bars[bar].Size != 0 && f.bars[bar].IO == io
}

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
//
// The model goes first. Frames from the wire reach it on another
// goroutine, under its own lock, and the configuration space is not
// under that lock: reset first, it took bus mastering away from a frame
// the model was writing into the old ring, whose next DMA was refused
// and stopped the ring (the stray "DMA refused" and ring errors of the
// restart benchmark). Reset waits for such a frame; afterwards the
// receiver is off and nothing DMAs until the new driver programs it.
func (f *Function) Attach(gen uint32) {
	if f.onAttach != nil {
		f.onAttach(gen)
	}
	f.resets.Add(1)
	f.dev.Reset()
	f.space.Reset()
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
	if !f.barIs(bar, false) {
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
	if !f.barIs(bar, false) {
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
	if !f.barIs(bar, true) {
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
	if !f.barIs(bar, true) {
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
