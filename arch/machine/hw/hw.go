// Package hw holds what every device model of the machine plugs into: the
// DMA window (the IOMMU's view of memory), the wire, the interrupt line and
// the clock. Device models (e1000, rtl8139, …) alias these types, so the
// machine wires any model the same way. It also holds device misbehaviour
// (fault.go: a model's armed fault, Injector) and the machine's control
// protocol that arms it (control.go).
package hw

import "time"

// DMA is a device's view of memory: bus addresses inside the pool the
// driver was granted. Every access outside it must fail (the machine is the
// IOMMU) and the device reports it.
type DMA interface {
	Read(addr uint64, p []byte) error
	Write(addr uint64, p []byte) error
}

// Wire carries frames to the peer: whole Ethernet frames without FCS.
type Wire interface {
	Send(frame []byte) error
}

// IRQ is a level-triggered interrupt line (INTA#).
type IRQ interface {
	Set(level bool)
}

// Clock is a device's monotonic time source for its timers.
type Clock interface {
	Now() time.Duration
}
