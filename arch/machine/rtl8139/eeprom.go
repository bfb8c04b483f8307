package rtl8139

// The RTL8139 reads its configuration from a 93C46 serial EEPROM (64
// words of 16 bits, 6 address bits) which software reaches by
// bit-banging 9346CR in programming mode (EEM = 10): EECS, EESK and EEDI
// are driven by software, EEDO is read back. 8139too's read_eeprom does
// exactly that, first with 8 address bits (a 93C56) to see whether word 0
// reads 0x8129, then — on a 93C46, where it does not — with 6.
//
// A command is a start bit (1), a 2-bit opcode and 6 address bits,
// shifted in on rising SK edges. READ answers with a dummy 0 and then
// the word's bits, most significant first, one per rising edge; reading
// on past the 16th bit continues with the next word (sequential read).
// EWEN/EWDS enable and disable programming; WRITE, ERASE, WRAL and ERAL
// take effect when CS drops and only while enabled. Contents persist
// across resets.

// EEPROMWords is the size of the 93C46 in 16-bit words.
const EEPROMWords = 64

// Word offsets (RTL8139C datasheet, EEPROM contents).
const (
	eeID      = 0 // 0x8129
	eeVendor  = 1
	eeDevice  = 2
	eeSubVen  = 3
	eeSubDev  = 4
	eeGntLat  = 5 // MIN_GNT | MAX_LAT<<8
	eeMAC     = 7 // words 7–9: IDR0–5
	eeIDValue = 0x8129
)

// DefaultEEPROM returns the EEPROM image of an RTL8139 with the given
// station address: the 0x8129 signature, the PCI IDs of PCIHeader, and
// the MAC in words 7–9 (little-endian byte pairs, as 8139too reads it).
// Words the model does not use are 0.
func DefaultEEPROM(mac [6]byte) [EEPROMWords]uint16 {
	var w [EEPROMWords]uint16
	w[eeID] = eeIDValue
	w[eeVendor] = 0x10EC
	w[eeDevice] = 0x8139
	w[eeSubVen] = 0x10EC
	w[eeSubDev] = 0x8139
	w[eeGntLat] = 0x4020
	for i := 0; i < 3; i++ {
		w[eeMAC+i] = uint16(mac[2*i]) | uint16(mac[2*i+1])<<8
	}
	return w
}

// Microwire phases.
const (
	mwIdle    = iota // CS low
	mwStart          // CS high, waiting for the start bit
	mwCommand        // shifting opcode and address in
	mwRead           // shifting data out
	mwDataIn         // shifting write data in
	mwDone           // command received; WRITE/ERASE/WRAL/ERAL run when CS drops
)

const (
	opNone = iota
	opWrite
	opErase
	opWRAL
	opERAL
)

type eeprom struct {
	words [EEPROMWords]uint16

	cs, sk bool
	do     bool
	phase  int
	n      int    // bits received in this phase
	cmd    uint32 // opcode and address
	addr   int
	bit    int // next bit of words[addr] to put on DO (15..0)
	data   uint16
	op     int
	wen    bool // programming enabled (EWEN); off at power-on
}

func (e *eeprom) reset() {
	words := e.words
	*e = eeprom{words: words}
}

// pins takes the pin state software drives (in programming mode).
func (e *eeprom) pins(cs, sk, di bool) {
	rising := sk && !e.sk
	e.sk = sk
	switch {
	case !cs:
		if e.cs && e.phase == mwDone {
			e.commit()
		}
		e.cs, e.phase, e.do = false, mwIdle, false
		return
	case !e.cs:
		e.cs, e.phase, e.n = true, mwStart, 0
	}
	if rising {
		e.clock(di)
	}
}

func (e *eeprom) clock(di bool) {
	b := uint32(0)
	if di {
		b = 1
	}
	switch e.phase {
	case mwStart:
		if di {
			e.phase, e.n, e.cmd = mwCommand, 0, 0
		}
	case mwCommand:
		e.cmd = e.cmd<<1 | b
		e.n++
		if e.n == 8 {
			e.decode()
		}
	case mwRead:
		e.do = e.words[e.addr]>>e.bit&1 != 0
		if e.bit--; e.bit < 0 {
			e.addr = (e.addr + 1) % EEPROMWords
			e.bit = 15
		}
	case mwDataIn:
		e.data = e.data<<1 | uint16(b)
		if e.n++; e.n == 16 {
			e.phase = mwDone
		}
	}
}

func (e *eeprom) decode() {
	e.addr = int(e.cmd & 0x3F)
	e.phase = mwDone
	e.op = opNone
	switch e.cmd >> 6 {
	case 2: // READ: a dummy 0 first
		e.phase, e.bit, e.do = mwRead, 15, false
	case 1:
		e.op, e.phase, e.n, e.data = opWrite, mwDataIn, 0, 0
	case 3:
		e.op = opErase
	case 0:
		switch e.addr >> 4 {
		case 0:
			e.wen = false // EWDS
		case 1:
			e.op, e.phase, e.n, e.data = opWRAL, mwDataIn, 0, 0
		case 2:
			e.op = opERAL
		case 3:
			e.wen = true // EWEN
		}
	}
}

func (e *eeprom) commit() {
	if !e.wen {
		return
	}
	switch e.op {
	case opWrite:
		e.words[e.addr] = e.data
	case opErase:
		e.words[e.addr] = 0xFFFF
	case opWRAL, opERAL:
		v := e.data
		if e.op == opERAL {
			v = 0xFFFF
		}
		for i := range e.words {
			e.words[i] = v
		}
	}
}

// read9346 composes 9346CR: the mode and pins as written, and EEDO from
// the EEPROM while in programming mode with CS high.
func (d *Device) read9346() uint32 {
	v := uint32(d.cfg9346)
	if d.cfg9346&eemMask == eemProgram && d.ee.cs && d.ee.do {
		v |= eeDO
	}
	return v
}

// write9346 handles 9346CR: programming mode drives the EEPROM pins;
// auto-load reloads the EEPROM contents and resets the chip as at
// power-on (the mode then reads back normal); leaving programming mode
// drops CS.
func (d *Device) write9346(v uint8) {
	switch v & eemMask {
	case eemAutoLd:
		d.powerOn()
		return
	case eemProgram:
		d.cfg9346 = v & 0xCE
		d.ee.pins(v&eeCS != 0, v&eeSK != 0, v&eeDI != 0)
		return
	}
	d.cfg9346 = v & 0xCE
	d.ee.pins(false, false, false)
}
