package e1000

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"grailos/arch/machine/hw"
	"grailos/arch/machine/pci"
)

// DMA is hw.DMA (see package hw).
type DMA = hw.DMA

// Wire is hw.Wire (see package hw).
type Wire = hw.Wire

// IRQ is hw.IRQ (see package hw).
type IRQ = hw.IRQ

// Clock is hw.Clock (see package hw).
type Clock = hw.Clock

// ErrBusMaster is the error reported when the device tried to DMA while
// bus mastering is disabled in its PCI command register.
var ErrBusMaster = errors.New("e1000: bus master disabled")

// Config wires a Device to the rest of the machine. DMA is required;
// every other hook may be nil.
type Config struct {
	// MAC is burned into the EEPROM (words 0–2) and loaded into RAL0/RAH0
	// at reset. It must be a unicast address.
	MAC [6]byte
	// DMA is the bus-master window (the granted pool).
	DMA DMA
	// Wire receives transmitted frames; nil drops them (counted).
	Wire Wire
	// IRQ is driven on every level change; nil leaves the line unwired.
	IRQ IRQ
	// Clock enables interrupt moderation. Nil means every delay timer and
	// the throttle are treated as zero: causes are signalled at once.
	Clock Clock
	// Wake, if set, is called with a deadline (on Clock's scale) whenever
	// the device arms a timer earlier than any it had armed; the owner
	// then calls Tick at or after that time, and after every Tick asks
	// NextDeadline for the next one (a timer re-armed later than the
	// current earliest does not call Wake).
	Wake func(at time.Duration)
	// BusMaster, if set, gates DMA: while it returns false every DMA is
	// refused and reported, as a device with PCI bus mastering off.
	BusMaster func() bool
	// OnEvent receives every reported problem (refused DMA, malformed
	// ring setup, bad descriptor, wire error, bad or unknown register
	// access) in addition to the counters in Stats.
	OnEvent func(Event)
	// EEPROM, if non-nil, replaces the generated EEPROM image (64 words,
	// taken as is: the checksum is not fixed up), for fault injection.
	EEPROM []uint16
}

// EventKind is hw.EventKind: what kind of problem the model reports.
type EventKind = hw.EventKind

// Event kinds this model reports (see package hw).
const (
	EventDMARefused      = hw.EventDMARefused
	EventRingInvalid     = hw.EventRingInvalid
	EventBadDescriptor   = hw.EventBadDescriptor
	EventWireError       = hw.EventWireError
	EventBadAccess       = hw.EventBadAccess
	EventUnknownRegister = hw.EventUnknownRegister
)

// Event is hw.Event: one reported problem.
type Event = hw.Event

// Stats are the model's own counters (the guest-visible statistics
// registers are separate and read-to-clear). They survive resets.
type Stats struct {
	TxFrames, TxBytes uint64 // frames handed to the Wire (after TSO)
	TxDropped         uint64 // frames lost: no Wire, Wire error, bad descriptor
	RxFrames, RxBytes uint64 // frames written into the receive ring
	RxFiltered        uint64 // refused by the address or VLAN filters
	RxMissed          uint64 // refused: receiver off, no link, FIFO full, ring stopped
	RxBadLength       uint64 // runts and oversize frames
	DMARefused        uint64
	RingErrors        uint64
	DescErrors        uint64
	WireErrors        uint64
	BadAccesses       uint64
	UnknownReads      uint64
	UnknownWrites     uint64
	Interrupts        uint64 // times the line was raised
	Resets            uint64 // CTRL.RST and Reset calls
	TxStopped         string // why the transmit ring is stopped, "" if running
	RxStopped         string // why the receive ring is stopped, "" if running
}

// UnknownAccess is hw.UnknownAccess: one entry of the debug list of
// unmodelled registers.
type UnknownAccess = hw.UnknownAccess

// Device is one 82540EM. All methods are safe for concurrent use; hooks
// in Config are called with the device lock held and must not call back
// into the Device.
type Device struct {
	mu   sync.Mutex
	cfg  Config
	regs [BARSize / 4]uint32

	ee  eeprom
	phy phy
	in  intr
	tx  txState
	rx  rxState

	ioAddr  uint32
	linkUp  bool // MAC view (STATUS.LU)
	stats   Stats
	unknown hw.UnknownRegisters

	fault hw.Misbehaviour // device misbehaviour (fault.go)
}

// New builds a device in its power-on state.
func New(cfg Config) (*Device, error) {
	if cfg.DMA == nil {
		return nil, errors.New("e1000: Config.DMA is required")
	}
	if cfg.MAC[0]&1 != 0 {
		return nil, fmt.Errorf("e1000: MAC %x is a group address", cfg.MAC)
	}
	if cfg.EEPROM != nil && len(cfg.EEPROM) != EEPROMWords {
		return nil, fmt.Errorf("e1000: EEPROM image has %d words, want %d", len(cfg.EEPROM), EEPROMWords)
	}
	d := &Device{cfg: cfg}
	if cfg.EEPROM != nil {
		copy(d.ee.words[:], cfg.EEPROM)
	} else {
		d.ee.words = DefaultEEPROM(cfg.MAC)
	}
	d.tx.ring = ring{name: "tx", bal: regTDBAL, bah: regTDBAH, rlen: regTDLEN, rh: regTDH, rt: regTDT}
	d.rx.ring = ring{name: "rx", bal: regRDBAL, bah: regRDBAH, rlen: regRDLEN, rh: regRDH, rt: regRDT}
	d.phy.powerOn()
	d.phy.cable = true
	d.macReset()
	d.stats.Resets = 0
	return d, nil
}

// PCIHeader is the 82540EM's configuration-space identity: Intel
// 8086:100E, subsystem 8086:001E (PRO/1000 MT Desktop), class 020000
// (Ethernet), a 128 KiB memory BAR0, an I/O BAR1, INTA#, and the
// power-management capability at 0xDC.
func PCIHeader() pci.Header {
	h := pci.Header{
		VendorID: 0x8086, DeviceID: 0x100E,
		SubsysVendorID: 0x8086, SubsystemID: 0x001E,
		Revision: 0x02, Class: 0x020000,
		Status:       0x0200 | 0x0020, // DEVSEL medium, 66 MHz capable
		CommandMask:  pci.CmdIO | pci.CmdMemory | pci.CmdBusMaster | pci.CmdMWI | pci.CmdParity | pci.CmdSERR,
		InterruptPin: 1, MinGnt: 0xFF,
	}
	h.BARs[0] = pci.BAR{Size: BARSize}
	h.BARs[1] = pci.BAR{Size: IOBARSize, IO: true}
	pm := pci.PowerManagement(0x0022) // PM 1.1, D3cold PME not supported
	pm.Offset = 0xDC
	h.Caps = []pci.Capability{pm}
	return h
}

// Reset is a power-on reset (PCI RST#): the MAC registers return to
// their defaults as on CTRL.RST, and the PHY is reset as well. The EEPROM
// keeps its contents; the cable stays as set by SetLink.
func (d *Device) Reset() {
	d.mu.Lock()
	defer d.mu.Unlock()
	cable := d.phy.cable
	d.phy.powerOn()
	d.phy.cable = cable
	d.macReset()
	d.fault.Reset(d.cfg.IRQ, d.in.level)
}

// SetLink plugs (true) or unplugs (false) the cable: the PHY's link
// follows, and the MAC raises LSC when STATUS.LU changes.
func (d *Device) SetLink(up bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.phy.cable = up
	d.updateLink()
}

// Stats returns a snapshot of the model's counters.
func (d *Device) Stats() Stats {
	d.mu.Lock()
	defer d.mu.Unlock()
	s := d.stats
	s.TxStopped = d.tx.ring.reason
	s.RxStopped = d.rx.ring.reason
	return s
}

// Unknown returns the debug list of accesses to unmodelled registers,
// sorted by offset.
func (d *Device) Unknown() []UnknownAccess {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.unknown.List()
}

// EEPROM returns a copy of the EEPROM contents (which software can
// change through the Microwire interface).
func (d *Device) EEPROM() []uint16 {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]uint16(nil), d.ee.words[:]...)
}

// macReset is CTRL.RST: every MAC register to its default, receive and
// transmit units idle, interrupts masked and cleared, RAL0/RAH0 reloaded
// from the EEPROM. The PHY and the EEPROM contents are untouched.
func (d *Device) macReset() {
	d.stats.Resets++
	d.regs = [BARSize / 4]uint32{}
	for off, ri := range regTable {
		d.regs[off/4] = ri.reset
	}
	d.loadFromEEPROM()
	d.ee.resetPins()
	d.in.reset()
	if d.in.level {
		d.in.level = false
		d.setLine(false)
	}
	d.tx.reset()
	d.rx.reset()
	d.ioAddr = 0
	d.linkUp = d.macLink()
}

// loadFromEEPROM does the part of the EEPROM auto-load the model keeps:
// the station address into receive address 0.
func (d *Device) loadFromEEPROM() {
	w := d.ee.words
	d.regs[regRA/4] = uint32(w[0]) | uint32(w[1])<<16
	d.regs[(regRA+4)/4] = uint32(w[2]) | rahAV
}

// report counts and forwards an event.
func (d *Device) report(e Event) {
	switch e.Kind {
	case EventDMARefused:
		d.stats.DMARefused++
	case EventRingInvalid:
		d.stats.RingErrors++
	case EventBadDescriptor:
		d.stats.DescErrors++
	case EventWireError:
		d.stats.WireErrors++
	case EventBadAccess:
		d.stats.BadAccesses++
	}
	if d.cfg.OnEvent != nil {
		d.cfg.OnEvent(e)
	}
}

// dmaRead and dmaWrite are the only ways the model touches memory.
func (d *Device) dmaRead(ring, what string, addr uint64, p []byte) bool {
	return d.dma(ring, what, addr, p, false)
}

func (d *Device) dmaWrite(ring, what string, addr uint64, p []byte) bool {
	return d.dma(ring, what, addr, p, true)
}

func (d *Device) dma(ring, what string, addr uint64, p []byte, write bool) bool {
	var err error
	switch {
	case d.cfg.BusMaster != nil && !d.cfg.BusMaster():
		err = ErrBusMaster
	case addr+uint64(len(p)) < addr:
		err = errors.New("address wraps")
	case write:
		err = d.cfg.DMA.Write(addr, p)
	default:
		err = d.cfg.DMA.Read(addr, p)
	}
	if err != nil {
		d.report(Event{Kind: EventDMARefused, Ring: ring, Addr: addr, Len: len(p), What: what, Err: err})
		return false
	}
	return true
}

// macLink is STATUS.LU: the MAC sees link when software set SLU and the
// PHY has link.
func (d *Device) macLink() bool {
	return d.regs[regCTRL/4]&ctrlSLU != 0 && d.phy.linkOK()
}

// updateLink re-evaluates the link after anything that can change it and
// raises LSC on a change. Coming up restarts transmit and receive.
func (d *Device) updateLink() {
	d.phy.track()
	up := d.macLink()
	if up == d.linkUp {
		return
	}
	d.linkUp = up
	d.setCause(IntLSC)
	if up {
		d.txKick()
		d.rxDrain()
	}
}

// status composes the STATUS register.
func (d *Device) status() uint32 {
	if !d.linkUp {
		return 0
	}
	ctrl := d.regs[regCTRL/4]
	speed, fd := d.phy.resolved()
	if ctrl&ctrlFRCSPD != 0 {
		speed = [4]int{10, 100, 1000, 1000}[(ctrl&ctrlSpeed)>>8]
	}
	if ctrl&ctrlFRCDPX != 0 {
		fd = ctrl&ctrlFD != 0
	}
	v := uint32(statusLU)
	if fd {
		v |= statusFD
	}
	code := uint32(0)
	switch speed {
	case 100:
		code = 1
	case 1000:
		code = 2
	}
	return v | code<<6 | code<<statusASDVShft
}
