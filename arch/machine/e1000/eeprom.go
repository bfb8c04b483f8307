package e1000

// The 82540EM carries a 64-word Microwire EEPROM (93C46 organised as
// 16-bit words). Software reaches it two ways:
//
//   - bit-banging EECD (SK clock, CS chip select, DI into the EEPROM, DO
//     out of it) after requesting the pins with EECD.REQ and seeing
//     EECD.GNT. This is the path Linux's e1000 uses for the 82540
//     (e1000_read_eeprom → e1000_acquire_eeprom, shift_out/shift_in);
//   - EERD: write START with the word address, read DONE and the data.
//
// Both see the same words; writes through Microwire (EWEN, WRITE, ERASE,
// WRAL, ERAL, EWDS) change them and persist across resets.

// EEPROMWords is the size of the 82540EM's EEPROM in 16-bit words.
const EEPROMWords = 64

const (
	eepromAddrBits = 6
	eepromChecksum = 0xBABA // sum of words 0x00–0x3F

	// Word offsets the drivers read (8254x SDM table 5-1).
	eeMAC0        = 0x00
	eeCompat      = 0x03
	eeIDLED       = 0x04
	eeVersion     = 0x05
	eePBA0        = 0x08
	eePBA1        = 0x09
	eeInitCtrl1   = 0x0A
	eeSubsystemID = 0x0B
	eeSubsysVenID = 0x0C
	eeDeviceID    = 0x0D
	eeVendorID    = 0x0E
	eeInitCtrl2   = 0x0F
	eeSWDPCtrl    = 0x20
	eeInitCtrl3   = 0x24
	eeChecksum    = 0x3F
)

// DefaultEEPROM returns the EEPROM image of an 82540EM with the given
// station address: the IDs match PCIHeader, flow control defaults to
// symmetric PAUSE (init control 2 bits 13:12), wake-on-LAN is off (init
// control 3 APM enable clear), the LED word selects the driver's default
// mapping, unused words are erased (0xFFFF), and word 0x3F makes the sum
// of words 0x00–0x3F equal 0xBABA.
func DefaultEEPROM(mac [6]byte) [EEPROMWords]uint16 {
	var w [EEPROMWords]uint16
	for i := range w {
		w[i] = 0xFFFF
	}
	w[eeMAC0] = uint16(mac[0]) | uint16(mac[1])<<8
	w[eeMAC0+1] = uint16(mac[2]) | uint16(mac[3])<<8
	w[eeMAC0+2] = uint16(mac[4]) | uint16(mac[5])<<8
	w[eeCompat] = 0x0000
	w[eeIDLED] = 0x8911 // identify-LED modes: the value Linux calls ID_LED_DEFAULT
	w[eeVersion] = 0x3050
	w[eePBA0] = 0xC914 // PBA number C91416-xxx
	w[eePBA1] = 0x16FF
	w[eeInitCtrl1] = 0x644B // hardware defaults loaded at power-on (not interpreted by the model)
	w[eeSubsystemID] = 0x001E
	w[eeSubsysVenID] = 0x8086
	w[eeDeviceID] = 0x100E
	w[eeVendorID] = 0x8086
	w[eeInitCtrl2] = 0x3000 // PAUSE | ASM_DIR
	w[eeSWDPCtrl] = 0x0000
	w[eeInitCtrl3] = 0x0000 // no APM wake
	w[eeChecksum] = 0
	var sum uint16
	for _, v := range w[:eeChecksum] {
		sum += v
	}
	w[eeChecksum] = eepromChecksum - sum
	return w
}

// Microwire command phases.
const (
	mwIdle     = iota // CS high, waiting for the start bit
	mwCommand         // shifting opcode and address in
	mwRead            // shifting data out
	mwDataIn          // shifting write data in
	mwComplete        // command received; runs when CS drops
)

type eeprom struct {
	words [EEPROMWords]uint16

	pins  uint32 // SK, CS, DI as last driven by software
	phase int
	n     int    // bits received in this phase
	cmd   uint32 // opcode and address bits
	addr  int    // word being read or written
	bit   int    // bit of words[addr] on DO; -1 = the dummy zero
	data  uint16 // write data
	op    int    // opWrite, opErase, opWRAL, opERAL for mwComplete
	wen   bool   // erase/write enabled (EWEN); power-on disabled
}

const (
	opWrite = iota + 1
	opErase
	opWRAL
	opERAL
)

func (e *eeprom) resetPins() {
	e.pins = 0
	e.phase = mwIdle
	e.n = 0
}

// do is the level of the EEPROM's data-out pin: a data bit while reading,
// the dummy zero before the first one, and "ready" (1) otherwise, which is
// what software polls after a write.
func (e *eeprom) do() bool {
	if e.phase != mwRead {
		return true
	}
	if e.bit < 0 {
		return false
	}
	return e.words[e.addr]>>(15-e.bit)&1 != 0
}

// drive applies a write of the EECD pins (SK, CS, DI).
func (e *eeprom) drive(pins uint32) {
	old := e.pins
	e.pins = pins
	csRose := pins&eecdCS != 0 && old&eecdCS == 0
	csFell := pins&eecdCS == 0 && old&eecdCS != 0
	if csFell {
		e.finish()
		e.phase = mwIdle
		return
	}
	if pins&eecdCS == 0 {
		return
	}
	if csRose {
		e.phase, e.n, e.cmd = mwIdle, 0, 0
	}
	if pins&eecdSK != 0 && old&eecdSK == 0 {
		e.clock(pins&eecdDI != 0)
	}
}

// clock handles one rising edge of SK with CS high.
func (e *eeprom) clock(di bool) {
	b := uint32(0)
	if di {
		b = 1
	}
	switch e.phase {
	case mwIdle:
		if di { // the start bit; leading zeros are ignored
			e.phase, e.n, e.cmd = mwCommand, 0, 0
		}
	case mwCommand:
		e.cmd = e.cmd<<1 | b
		e.n++
		if e.n == 2+eepromAddrBits {
			e.decode()
		}
	case mwRead:
		e.bit++
		if e.bit == 16 { // sequential read into the next word
			e.bit = 0
			e.addr = (e.addr + 1) % EEPROMWords
		}
	case mwDataIn:
		e.data = e.data<<1 | uint16(b)
		e.n++
		if e.n == 16 {
			e.phase = mwComplete
		}
	}
}

func (e *eeprom) decode() {
	op := e.cmd >> eepromAddrBits
	e.addr = int(e.cmd & (EEPROMWords - 1))
	switch op {
	case 0b10: // READ
		e.phase, e.bit = mwRead, -1
	case 0b01: // WRITE
		e.phase, e.n, e.data, e.op = mwDataIn, 0, 0, opWrite
	case 0b11: // ERASE
		e.phase, e.op = mwComplete, opErase
	default: // 00: the top two address bits select the command
		switch e.addr >> (eepromAddrBits - 2) {
		case 0b11:
			e.wen = true
			e.phase, e.op = mwComplete, 0
		case 0b00:
			e.wen = false
			e.phase, e.op = mwComplete, 0
		case 0b01:
			e.phase, e.n, e.data, e.op = mwDataIn, 0, 0, opWRAL
		case 0b10:
			e.phase, e.op = mwComplete, opERAL
		}
	}
}

// finish runs a complete write or erase command when CS drops. The model
// programs instantly, so DO reads ready as soon as CS rises again.
func (e *eeprom) finish() {
	if e.phase != mwComplete || !e.wen {
		return
	}
	switch e.op {
	case opWrite:
		e.words[e.addr] = e.data
	case opErase:
		e.words[e.addr] = 0xFFFF
	case opWRAL:
		for i := range e.words {
			e.words[i] = e.data
		}
	case opERAL:
		for i := range e.words {
			e.words[i] = 0xFFFF
		}
	}
}

// readEECD composes EECD: the pins as driven, the grant, DO, presence.
func (d *Device) readEECD() uint32 {
	v := d.regs[regEECD/4] | eecdPRES
	if v&eecdREQ != 0 {
		v |= eecdGNT
	}
	v &^= eecdDO
	if d.ee.do() {
		v |= eecdDO
	}
	return v
}

// writeEECD stores the software-driven bits; the pins reach the EEPROM
// only while software holds the grant (REQ set), as on the 82540.
func (d *Device) writeEECD(v uint32) {
	d.regs[regEECD/4] = v & eecdWritable
	if v&eecdREQ == 0 {
		d.ee.drive(0)
		return
	}
	d.ee.drive(v & (eecdSK | eecdCS | eecdDI))
}

// writeEERD starts a read through EERD; the model completes it at once.
func (d *Device) writeEERD(v uint32) {
	if v&eerdStart == 0 {
		d.regs[regEERD/4] = v &^ eerdDone
		return
	}
	addr := v >> eerdAddrShift & 0xFF
	var data uint32
	if addr < EEPROMWords {
		data = uint32(d.ee.words[addr])
	} else {
		d.report(Event{Kind: EventBadAccess, Addr: regEERD, Len: 4,
			What: "EERD address beyond the 64-word EEPROM"})
	}
	d.regs[regEERD/4] = data<<eerdDataShift | addr<<eerdAddrShift | eerdDone
}
