package inject

import (
	"fmt"
	"math/rand/v2"

	"grailos/dde/linux/fault"
)

// deviceRegs are the registers a reg-garbage fault picks from, per device
// model (named as the driver server is), beside "" (any register): those
// the driver reads all the time while data flows, so the fault fires.
var deviceRegs = map[string][]string{
	"e1000":   {"", "0xc0"},         // ICR: the interrupt handler's first read
	"rtl8139": {"", "0x3e", "0x37"}, // ISR (the handler, the poll), ChipCmd (RxBufEmpty, the receive loop)
}

// deviceSpec makes the device misbehave (site, or one chosen): the
// events it counts come all the time under the workload (interrupts,
// status reads, frames both ways), so the first faulty one is one of
// the next few.
func (p *Planner) deviceSpec(id, site string, rng *rand.Rand) fault.Spec {
	if site == "" {
		site = fault.DeviceSites[rng.IntN(len(fault.DeviceSites))]
	}
	s := fault.Spec{ID: id, Class: fault.ClassDevice, Site: site, Nth: 1 + rng.IntN(4), Count: 1 + rng.IntN(8)}
	switch site {
	case "irq-stuck":
		s.Count = 1 + rng.IntN(1000) // edges of a screaming line
	case "reg-garbage":
		regs := deviceRegs[p.Driver]
		if len(regs) == 0 {
			regs = []string{""}
		}
		s.Reg, s.Count, s.Seed = regs[rng.IntN(len(regs))], 1+rng.IntN(4), rng.Uint64()
	}
	return s
}

// describeDevice is a device fault in a few words.
func describeDevice(s fault.Spec) string {
	what := map[string]string{"irq-stuck": "interrupt stuck for %d status reads", "irq-lost": "%d interrupts lost",
		"reg-garbage": "%d garbage reads", "dma-drop": "%d received frames' data dropped", "dma-dup": "%d frames sent twice"}[s.Site]
	d := fmt.Sprintf("device/%s: "+what+" from event %d", s.Site, s.Calls(), s.Nth)
	if s.Site == "reg-garbage" {
		reg := s.Reg
		if reg == "" {
			reg = "any register"
		}
		d += " of " + reg
	}
	return d
}
