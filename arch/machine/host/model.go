package host

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"grailos/arch/machine/e1000"
	"grailos/arch/machine/hw"
	"grailos/arch/machine/pci"
	"grailos/arch/machine/rtl8139"
)

// Model is a register-level device model as the machine hosts it on its
// PCI function. The function routes each BAR by its kind in Header: a
// memory BAR to ReadMMIO/WriteMMIO, an I/O BAR to ReadIO/WriteIO (a
// model has at most one of each; the e1000 has memory at BAR0 and I/O at
// BAR1, the RTL8139 the other way round). Frames from the wire go to
// Receive, the timer goroutine calls Tick at NextDeadline, an attaching
// driver resets it (Reset). Every method is safe for concurrent use.
type Model interface {
	ReadMMIO(off uint32, size int) uint64
	WriteMMIO(off uint32, size int, v uint64)
	ReadIO(off uint32, size int) uint32
	WriteIO(off uint32, size int, v uint32)
	Receive(frame []byte)
	Reset()
	SetLink(up bool)
	NextDeadline() (time.Duration, bool)
	Tick()
	// Frames returns the frames the model put on the wire and into the
	// driver's receive ring, since power-on.
	Frames() (tx, rx uint64)
	// Counters renders the model's own counters for the machine's log.
	Counters() string
	// InjectFault arms a device misbehaviour (control.go); report hears
	// its progress, with the model's lock held.
	InjectFault(f hw.Fault, report hw.FaultReport) error
}

// ModelConfig is what the machine hands a model: the hooks of package hw
// and the MAC for its EEPROM.
type ModelConfig struct {
	MAC       [6]byte
	DMA       hw.DMA
	Wire      hw.Wire // nil drops transmitted frames
	IRQ       hw.IRQ
	Clock     hw.Clock // nil: timers never advance
	Wake      func(at time.Duration)
	BusMaster func() bool
	OnEvent   func(hw.Event)
}

// ModelSpec describes one kind of device the machine can host.
type ModelSpec struct {
	Name   string            // as -model and system files name it: "e1000", "rtl8139"
	Chip   string            // the chip, for descriptions and logs: "82540EM"
	Header func() pci.Header // its configuration-space identity and BARs
	New    func(ModelConfig) (Model, error)
}

// DefaultModel is the model of a machine whose configuration names none.
const DefaultModel = "e1000"

// models are the kinds of device the machine hosts, by name.
var models = map[string]ModelSpec{
	"e1000": {Name: "e1000", Chip: "82540EM", Header: e1000.PCIHeader,
		New: func(c ModelConfig) (Model, error) {
			d, err := e1000.New(e1000.Config{MAC: c.MAC, DMA: c.DMA, Wire: c.Wire, IRQ: c.IRQ, Clock: c.Clock,
				Wake: c.Wake, BusMaster: c.BusMaster, OnEvent: c.OnEvent})
			if err != nil {
				return nil, err
			}
			return E1000{d}, nil
		}},
	"rtl8139": {Name: "rtl8139", Chip: "RTL8139C", Header: rtl8139.PCIHeader,
		New: func(c ModelConfig) (Model, error) {
			d, err := rtl8139.New(rtl8139.Config{MAC: c.MAC, DMA: c.DMA, Wire: c.Wire, IRQ: c.IRQ, Clock: c.Clock,
				Wake: c.Wake, BusMaster: c.BusMaster, OnEvent: c.OnEvent})
			if err != nil {
				return nil, err
			}
			return RTL8139{d}, nil
		}},
}

// LookupModel returns the spec of the model called name.
func LookupModel(name string) (ModelSpec, error) {
	if s, ok := models[name]; ok {
		return s, nil
	}
	return ModelSpec{}, fmt.Errorf("unknown device model %q (have %s)", name, strings.Join(ModelNames(), ", "))
}

// ModelNames lists the models the machine hosts, sorted.
func ModelNames() []string {
	var out []string
	for n := range models {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// E1000 is the 82540EM model as a Model.
type E1000 struct{ *e1000.Device }

// Receive implements Model.Receive (a refused frame is counted by the model).
func (m E1000) Receive(f []byte) { m.Device.Receive(f) }

// Frames implements Model.Frames.
func (m E1000) Frames() (tx, rx uint64) {
	s := m.Stats()
	return s.TxFrames, s.RxFrames
}

// Counters implements Model.Counters.
func (m E1000) Counters() string { return fmt.Sprintf("%+v", m.Stats()) }

// RTL8139 is the RTL8139 model as a Model.
type RTL8139 struct{ *rtl8139.Device }

// Frames implements Model.Frames.
func (m RTL8139) Frames() (tx, rx uint64) {
	s := m.Stats()
	return s.TxFrames, s.RxFrames
}

// Counters implements Model.Counters.
func (m RTL8139) Counters() string { return fmt.Sprintf("%+v", m.Stats()) }
