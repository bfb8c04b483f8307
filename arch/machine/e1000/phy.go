package e1000

// The 82540EM's integrated copper PHY is register-compatible with the
// Marvell 88E1011 (Linux: M88E1011_I_PHY_ID 0x01410C20, phy_type m88),
// reached through MDIC at PHY address 1. The model has an ideal link
// partner that advertises every 10/100/1000 mode and symmetric PAUSE;
// auto-negotiation completes the moment it is enabled or restarted, so
// link is up whenever the cable is in, the PHY is out of reset and
// powered up, and at least one mode is advertised (or forced).

// PHY register numbers.
const (
	phyBMCR   = 0  // basic mode control
	phyBMSR   = 1  // basic mode status
	phyID1    = 2  // OUI high
	phyID2    = 3  // OUI low, model, revision
	phyANAR   = 4  // auto-negotiation advertisement
	phyANLPAR = 5  // link partner ability
	phyANER   = 6  // auto-negotiation expansion
	phyGCR    = 9  // 1000BASE-T control
	phyGSR    = 10 // 1000BASE-T status
	phyESR    = 15 // extended status
	phyPSCR   = 16 // M88 PHY specific control
	phyPSSR   = 17 // M88 PHY specific status
	phyIER    = 18 // M88 interrupt enable
	phyISR    = 19 // M88 interrupt status
	phyEPSCR  = 20 // M88 extended PHY specific control
	phyRXERR  = 21 // M88 receive error counter
)

// BMCR bits.
const (
	bmcrSpeedMSB = 1 << 6
	bmcrFD       = 1 << 8
	bmcrRestart  = 1 << 9
	bmcrPwrDown  = 1 << 11
	bmcrANEnable = 1 << 12
	bmcrSpeedLSB = 1 << 13
	bmcrReset    = 1 << 15
)

// BMSR bits.
const (
	bmsrLink     = 1 << 2
	bmsrANDone   = 1 << 5
	bmsrCaps     = 0x7949 // 100X FD/HD, 10 FD/HD, ext status, preamble suppression, AN able, ext caps
	phyID1Value  = 0x0141
	phyID2Value  = 0x0C20 // model 0x02 (88E1011), revision 0
	partnerANLPA = 0x45E1 // ACK, PAUSE, 100TX FD/HD, 10T FD/HD, selector 802.3
	gsrLPCaps    = 0x0C00 // partner 1000BASE-T FD and HD
	gsrRxOK      = 0x3000 // local and remote receiver status OK
	pssrLink     = 1 << 10
	pssrResolved = 1 << 11
	pssrFD       = 1 << 13
	isrLinkChg   = 1 << 10
)

// phyDefaults are the registers after a hardware reset of the PHY.
var phyDefaults = map[int]uint16{
	phyBMCR:  bmcrANEnable | bmcrFD | bmcrSpeedMSB,
	phyID1:   phyID1Value,
	phyID2:   phyID2Value,
	phyANAR:  0x0DE1, // ASM_DIR, PAUSE, 100TX FD/HD, 10T FD/HD, 802.3
	phyGCR:   0x0300, // advertise 1000BASE-T FD and HD
	phyESR:   0x3000, // 1000BASE-T FD and HD capable
	phyPSCR:  0x0068,
	phyEPSCR: 0x0C64,
}

// phyReadOnly are registers whose writes the PHY ignores.
var phyReadOnly = map[int]bool{
	phyBMSR: true, phyID1: true, phyID2: true, phyANLPAR: true, phyANER: true,
	phyGSR: true, phyESR: true, phyPSSR: true, phyISR: true, phyRXERR: true,
}

type phy struct {
	regs  [32]uint16
	cable bool // a link partner is connected
	reset bool // held in reset by CTRL.PHY_RST

	wasUp       bool // link at the last track
	latchedDown bool // BMSR link bit latched low since the last read
	isr         uint16
}

// powerOn is a hardware reset of the PHY (power-on or CTRL.PHY_RST).
func (p *phy) powerOn() {
	p.regs = [32]uint16{}
	for r, v := range phyDefaults {
		p.regs[r] = v
	}
	p.reset = false
	p.isr = 0
}

// resolved returns the speed (10, 100, 1000; 0 = none in common) and
// duplex the link runs at: the best mode both ends advertise under
// auto-negotiation, the BMCR-forced mode otherwise.
func (p *phy) resolved() (speed int, fd bool) {
	bmcr := p.regs[phyBMCR]
	if bmcr&bmcrANEnable == 0 {
		switch {
		case bmcr&bmcrSpeedMSB != 0 && bmcr&bmcrSpeedLSB == 0:
			speed = 1000
		case bmcr&bmcrSpeedLSB != 0:
			speed = 100
		default:
			speed = 10
		}
		return speed, bmcr&bmcrFD != 0
	}
	gcr, anar := p.regs[phyGCR], p.regs[phyANAR]
	switch {
	case gcr&0x0200 != 0:
		return 1000, true
	case gcr&0x0100 != 0:
		return 1000, false
	case anar&0x0100 != 0:
		return 100, true
	case anar&0x0080 != 0:
		return 100, false
	case anar&0x0040 != 0:
		return 10, true
	case anar&0x0020 != 0:
		return 10, false
	}
	return 0, false
}

func (p *phy) linkOK() bool {
	if !p.cable || p.reset || p.regs[phyBMCR]&bmcrPwrDown != 0 {
		return false
	}
	speed, _ := p.resolved()
	return speed != 0
}

func (p *phy) anComplete() bool {
	return p.linkOK() && p.regs[phyBMCR]&bmcrANEnable != 0
}

// track notes link transitions: a drop latches BMSR's link bit low until
// it is read (IEEE 802.3 22.2.4.2.13) and sets the M88 link-change cause.
func (p *phy) track() {
	up := p.linkOK()
	if up == p.wasUp {
		return
	}
	p.wasUp = up
	p.isr |= isrLinkChg
	if !up {
		p.latchedDown = true
	}
}

func (p *phy) read(r int) uint16 {
	switch r {
	case phyBMSR:
		v := uint16(bmsrCaps)
		if p.anComplete() {
			v |= bmsrANDone
		}
		if p.linkOK() && !p.latchedDown {
			v |= bmsrLink
		}
		p.latchedDown = false
		return v
	case phyANLPAR:
		if p.anComplete() {
			return partnerANLPA
		}
		return 0
	case phyANER:
		if p.anComplete() {
			return 0x0001 // partner is auto-negotiation able
		}
		return 0
	case phyGSR:
		if !p.anComplete() {
			return 0
		}
		v := uint16(gsrLPCaps)
		if s, _ := p.resolved(); s == 1000 {
			v |= gsrRxOK
		}
		return v
	case phyPSSR:
		if !p.linkOK() {
			return 0
		}
		s, fd := p.resolved()
		v := uint16(pssrLink | pssrResolved)
		if fd {
			v |= pssrFD
		}
		switch s {
		case 1000:
			v |= 2 << 14
		case 100:
			v |= 1 << 14
		}
		return v
	case phyISR:
		v := p.isr & p.regs[phyIER]
		p.isr = 0
		return v
	}
	return p.regs[r&31]
}

func (p *phy) write(r int, v uint16) {
	if phyReadOnly[r] {
		return
	}
	if r == phyBMCR {
		// Software reset and restart are self-clearing; both complete at
		// once. A software reset keeps the configuration registers (the
		// M88 applies them on reset; the driver relies on that).
		v &^= bmcrReset | bmcrRestart
	}
	p.regs[r&31] = v
}

// writeMDIC runs one MDI operation; it completes before MDIC can be
// read back, so READY is always set.
func (d *Device) writeMDIC(v uint32) {
	addr := v >> mdicPhyShift & 0x1F
	reg := int(v >> mdicRegShift & 0x1F)
	res := v &^ (mdicReady | mdicError)
	switch {
	case addr != 1 || d.phy.reset:
		// Nothing answers at other addresses, nor a PHY held in reset:
		// MDIO floats high.
		res |= mdicError | mdicDataMask
	case v&mdicOpMask == mdicOpWrite:
		d.phy.write(reg, uint16(v))
		d.updateLink()
	case v&mdicOpMask == mdicOpRead:
		res = res&^mdicDataMask | uint32(d.phy.read(reg))
	default:
		res |= mdicError
	}
	d.regs[regMDIC/4] = res | mdicReady
	if v&mdicIntEn != 0 {
		d.setCause(IntMDAC)
	}
}
