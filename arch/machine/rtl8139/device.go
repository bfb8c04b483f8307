package rtl8139

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
var ErrBusMaster = errors.New("rtl8139: bus master disabled")

// Config wires a Device to the rest of the machine. DMA is required;
// every other hook may be nil.
type Config struct {
	// MAC is burned into the EEPROM (words 7–9) and auto-loaded into
	// IDR0–5 at power-on. It must be a unicast address.
	MAC [6]byte
	// HWRevision is the hardware revision reported in TCR (bits 30:26,
	// 23, 22): HWRevRTL8139C (the default when zero), HWRevQEMU, or any
	// other value inside those bits (8139too's table lists ten).
	HWRevision uint32
	// DMA is the bus-master window (the granted pool).
	DMA DMA
	// Wire receives transmitted frames; nil drops them (counted).
	Wire Wire
	// IRQ is driven on every level change; nil leaves the line unwired.
	IRQ IRQ
	// Clock runs TCTR and the TimerInt interrupt. Nil: TCTR reads 0 and
	// the timer never fires.
	Clock Clock
	// Wake, if set, is called with a deadline (on Clock's scale) whenever
	// the timer is armed; the owner then calls Tick at or after that
	// time, and after every Tick asks NextDeadline for the next one.
	Wake func(at time.Duration)
	// BusMaster, if set, gates DMA: while it returns false every DMA is
	// refused and reported, as a device with PCI bus mastering off.
	BusMaster func() bool
	// OnEvent receives every reported problem (refused DMA, bad transmit
	// descriptor, wire error, bad or unknown register access) in addition
	// to the counters in Stats.
	OnEvent func(Event)
	// EEPROM, if non-nil, replaces the generated EEPROM image (64 words,
	// taken as is), for fault injection.
	EEPROM []uint16
}

// EventKind is hw.EventKind: what kind of problem the model reports.
type EventKind = hw.EventKind

// Event kinds this model reports (see package hw).
const (
	EventDMARefused      = hw.EventDMARefused
	EventBadDescriptor   = hw.EventBadDescriptor
	EventWireError       = hw.EventWireError
	EventBadAccess       = hw.EventBadAccess
	EventUnknownRegister = hw.EventUnknownRegister
)

// Event is hw.Event: one reported problem.
type Event = hw.Event

// Stats are the model's own counters (the guest-visible MPC register is
// separate). They survive resets.
type Stats struct {
	TxFrames, TxBytes uint64 // frames handed to the Wire (or looped back)
	TxDropped         uint64 // frames lost: no Wire, Wire error, no link
	TxAborted         uint64 // descriptors aborted: bad size or refused DMA
	RxFrames, RxBytes uint64 // frames written into the receive ring
	RxFiltered        uint64 // refused by the address filter
	RxMissed          uint64 // receiver off or halted, no link, ring full, DMA refused
	RxBadLength       uint64 // frames too short to address or longer than MaxFrame
	DMARefused        uint64
	DescErrors        uint64
	WireErrors        uint64
	BadAccesses       uint64
	LockedWrites      uint64 // config-register writes while 9346CR was locked (dropped, as the chip does)
	UnknownReads      uint64
	UnknownWrites     uint64
	Interrupts        uint64 // times the line was raised
	Resets            uint64 // CR.RST, 9346CR auto-load and Reset calls
}

// UnknownAccess is hw.UnknownAccess: one entry of the debug list of
// unmodelled registers.
type UnknownAccess = hw.UnknownAccess

// MaxFrame is the longest frame (without FCS) the model transmits or
// receives: the RTL8139's 1792-byte transmit limit, which is also what
// 8139too accepts on receive (MAX_ETH_FRAME_SIZE).
const MaxFrame = 1792

// minFrame is the shortest frame written into the receive ring: shorter
// frames from the wire (a TAP does not pad) are padded with zeros, as
// the peer's MAC would have done on a real cable.
const minFrame = 60

// Device is one RTL8139. All methods are safe for concurrent use; hooks
// in Config are called with the device lock held and must not call back
// into the Device.
type Device struct {
	mu   sync.Mutex
	cfg  Config
	regs [BARSize]byte // storage of plain registers, little-endian

	ee eeprom

	cr       uint8 // RE, TE
	tsd      [numTxDesc]uint32
	txNext   int // descriptor the transmitter serves next
	imr, isr uint16
	level    bool
	tcr, rcr uint32
	mpc      uint32
	cfg9346  uint8 // EEM and pins as written
	bmcr     uint16
	cscr     uint16
	linkChg  bool // CSCR link-change bit, cleared on read
	cable    bool
	halted   bool // HLTCLK 'H'

	capr    uint16 // as written; the driver reads next at CAPR+16 (mod ring length)
	rxWrite uint32 // CBR: where the next packet goes

	timerBase  time.Duration // when TCTR was last zeroed
	timerArmed bool
	timerAt    time.Duration

	stats   Stats
	unknown hw.UnknownRegisters

	fault hw.Misbehaviour // device misbehaviour (fault.go)
}

// New builds a device in its power-on state, link up.
func New(cfg Config) (*Device, error) {
	if cfg.DMA == nil {
		return nil, errors.New("rtl8139: Config.DMA is required")
	}
	if cfg.MAC[0]&1 != 0 {
		return nil, fmt.Errorf("rtl8139: MAC %x is a group address", cfg.MAC)
	}
	if cfg.EEPROM != nil && len(cfg.EEPROM) != EEPROMWords {
		return nil, fmt.Errorf("rtl8139: EEPROM image has %d words, want %d", len(cfg.EEPROM), EEPROMWords)
	}
	switch cfg.HWRevision {
	case 0:
		cfg.HWRevision = HWRevRTL8139C
	case HWRevRTL8139C, HWRevQEMU:
	default:
		if cfg.HWRevision&^hwRevMask != 0 {
			return nil, fmt.Errorf("rtl8139: hardware revision %#x has bits outside %#x", cfg.HWRevision, hwRevMask)
		}
	}
	d := &Device{cfg: cfg, cable: true}
	if cfg.EEPROM != nil {
		copy(d.ee.words[:], cfg.EEPROM)
	} else {
		d.ee.words = DefaultEEPROM(cfg.MAC)
	}
	d.powerOn()
	d.stats.Resets = 0
	return d, nil
}

// PCIHeader is the RTL8139's configuration-space identity: Realtek
// 10EC:8139 revision 0x10 (8139too refuses ≥ 0x20, which QEMU reports
// for its 8139C+), subsystem 10EC:8139, class 020000, BAR0 256 bytes of
// I/O and BAR1 256 bytes of memory mapping the same registers, INTA#,
// and the power-management capability at 0x50.
func PCIHeader() pci.Header {
	h := pci.Header{
		VendorID: 0x10EC, DeviceID: 0x8139,
		SubsysVendorID: 0x10EC, SubsystemID: 0x8139,
		Revision: pciRevision, Class: 0x020000,
		Status:       0x0200 | 0x0080, // DEVSEL medium, fast back-to-back capable
		CommandMask:  pci.CmdIO | pci.CmdMemory | pci.CmdBusMaster | pci.CmdParity | pci.CmdSERR,
		InterruptPin: 1, MinGnt: 0x20, MaxLat: 0x40,
	}
	h.BARs[0] = pci.BAR{Size: BARSize, IO: true}
	h.BARs[1] = pci.BAR{Size: BARSize}
	pm := pci.PowerManagement(0x0002) // PM 1.1
	pm.Offset = 0x50
	h.Caps = []pci.Capability{pm}
	return h
}

// Reset is a power-on reset (PCI RST#): every register to its default,
// the EEPROM auto-load (IDR0–5 from words 7–9), then a software reset.
// The EEPROM keeps its contents; the cable stays as set by SetLink.
func (d *Device) Reset() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.powerOn()
	d.fault.Reset(d.cfg.IRQ, d.level)
}

func (d *Device) powerOn() {
	d.regs = [BARSize]byte{}
	for _, r := range regTable {
		if r.kind != kindSpecial {
			d.put(r, r.reset)
		}
	}
	d.autoload()
	d.cfg9346 = 0
	d.bmcr = bmcrANE
	d.cscr = 0x0340
	d.linkChg = false
	d.halted = false
	d.tcr = 0
	d.rcr = 0
	d.softReset()
}

// autoload copies the station address from the EEPROM into IDR0–5.
func (d *Device) autoload() {
	for i := 0; i < 3; i++ {
		w := d.ee.words[eeMAC+i]
		d.regs[regIDR0+2*i] = byte(w)
		d.regs[regIDR0+2*i+1] = byte(w >> 8)
	}
	d.ee.reset()
}

// softReset is CR.RST: transmitter and receiver off, every descriptor
// owned by the host, the receive ring empty at offset 0, interrupts
// masked and cleared, the timer stopped. IDR, MAR and the configuration
// registers keep their values (RTL8139C datasheet, CR.RST).
func (d *Device) softReset() {
	d.stats.Resets++
	d.cr = 0
	for i := range d.tsd {
		d.tsd[i] = tsdOWN
	}
	d.txNext = 0
	d.imr, d.isr = 0, 0
	d.tcr = d.cfg.HWRevision
	d.rcr = 0
	d.mpc = 0
	d.capr, d.rxWrite = 0xFFF0, 0
	d.putOff(regRBSTART, 4, 0)
	d.putOff(regTimerInt, 4, 0)
	d.timerArmed = false
	d.timerBase = d.now()
	d.updateIRQ()
}

// SetLink plugs (true) or unplugs (false) the cable. A change raises
// PUN/LinkChg in ISR and sets the CSCR link-change bit, which is how
// 8139too learns of it.
func (d *Device) SetLink(up bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.cable == up {
		return
	}
	d.cable = up
	d.linkChg = true
	d.setCause(IntPUN)
}

// Stats returns a snapshot of the model's counters.
func (d *Device) Stats() Stats {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.stats
}

// Unknown returns the debug list of accesses to unmodelled registers,
// sorted by offset.
func (d *Device) Unknown() []UnknownAccess {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.unknown.List()
}

// EEPROM returns a copy of the EEPROM contents.
func (d *Device) EEPROM() []uint16 {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]uint16(nil), d.ee.words[:]...)
}

// report counts and forwards an event.
func (d *Device) report(e Event) {
	switch e.Kind {
	case EventDMARefused:
		d.stats.DMARefused++
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

// dma is the only way the model touches memory. A refused access is
// reported with its address, length and purpose.
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

// mac returns IDR0–5.
func (d *Device) mac() [6]byte {
	var m [6]byte
	copy(m[:], d.regs[regIDR0:regIDR0+6])
	return m
}
