package host

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"time"

	"grailos/arch/machine/devchan"
	"grailos/arch/machine/pci"
	"grailos/kernel/shm"
)

// A minimal Go driver for the 82540EM, talking to the machine only
// through what a driver server gets: the device channel, the DMA pool
// mapping and the IRQ eventfd. It follows the Linux e1000 driver's
// essential sequence: enable the function, reset, read the MAC from the
// EEPROM, program the receive address, bring the link up, lay the rings
// out in the pool, enable transmit and receive, unmask interrupts.

// Registers and bits (8254x SDM; the names Linux uses).
const (
	rCTRL   = 0x0000
	rSTATUS = 0x0008
	rEECD   = 0x0010
	rEERD   = 0x0014
	rICR    = 0x00C0
	rITR    = 0x00C4
	rIMS    = 0x00D0
	rIMC    = 0x00D8
	rRCTL   = 0x0100
	rTCTL   = 0x0400
	rTIPG   = 0x0410
	rRDBAL  = 0x2800
	rRDBAH  = 0x2804
	rRDLEN  = 0x2808
	rRDH    = 0x2810
	rRDT    = 0x2818
	rRDTR   = 0x2820
	rTDBAL  = 0x3800
	rTDBAH  = 0x3804
	rTDLEN  = 0x3808
	rTDH    = 0x3810
	rTDT    = 0x3818
	rMTA    = 0x5200
	rRA     = 0x5400

	ctrlASDE = 1 << 5
	ctrlSLU  = 1 << 6
	ctrlRST  = 1 << 26
	statusLU = 1 << 1

	eecdSK, eecdCS, eecdDI, eecdDO, eecdREQ, eecdGNT = 1 << 0, 1 << 1, 1 << 2, 1 << 3, 1 << 6, 1 << 7
	eerdStart, eerdDone                              = 1 << 0, 1 << 4

	rctlEN, rctlBAM = 1 << 1, 1 << 15
	tctlEN, tctlPSP = 1 << 1, 1 << 3

	intTXDW, intLSC, intRXDMT0, intRXO, intRXT0 = 1 << 0, 1 << 2, 1 << 4, 1 << 6, 1 << 7

	txCmdEOP, txCmdIFCS, txCmdRS = 1 << 24, 1 << 25, 1 << 27
	descDD, descEOP              = 1 << 0, 1 << 1

	// Pool layout (offsets; bus address = pool base + offset).
	nDesc      = 64
	txRingOff  = 0x1000
	rxRingOff  = 0x2000
	rxBufOff   = 0x10000
	txBufOff   = 0x50000
	bufSize    = 2048
	descBytes  = 16
	eepromSum  = 0xBABA
	ioBAR      = 1
	ioADDR     = 0
	ioDATA     = 4
	maxWaitIRQ = 10 * time.Second // failure detector only
)

type driver struct {
	cl   *devchan.Client
	pool []byte
	base uint64
	irq  *devchan.IRQ
	mac  [6]byte

	txNext, rxNext       uint32
	sent, received, irqs int
}

// attachDriver maps the channel and the pool and attaches.
func attachDriver(channel, pool, irq *os.File, busBase uint64) (*driver, func(), error) {
	cr, err := shm.Map(channel, true)
	if err != nil {
		return nil, nil, err
	}
	pr, err := shm.Map(pool, true)
	if err != nil {
		cr.Close()
		return nil, nil, err
	}
	q, err := devchan.OpenIRQ(irq)
	if err != nil {
		cr.Close()
		pr.Close()
		return nil, nil, err
	}
	release := func() { q.Close(); pr.Close(); cr.Close() }
	cl, err := devchan.Attach(cr)
	if err != nil {
		release()
		return nil, nil, err
	}
	return &driver{cl: cl, pool: pr.Bytes(), base: busBase, irq: q}, release, nil
}

func (d *driver) r32(off uint32) uint32 {
	v, err := d.cl.MMIORead(0, off, 4)
	if err != nil {
		panic(fmt.Sprintf("MMIO read %#x: %v", off, err)) // the tests recover nothing: a failed read is a failed test
	}
	return uint32(v)
}

func (d *driver) w32(off, v uint32) {
	if err := d.cl.MMIOWrite(0, off, 4, uint64(v)); err != nil {
		panic(fmt.Sprintf("MMIO write %#x: %v", off, err))
	}
}

// enable is what the PCI core does before probe: check the IDs, turn on
// I/O and memory decode and bus mastering.
func (d *driver) enable() error {
	id, err := d.cl.ConfigRead(pci.OffVendorID, 4)
	if err != nil {
		return err
	}
	if id != 0x100E8086 {
		return fmt.Errorf("vendor/device %#x, want 0x100e8086", id)
	}
	return d.cl.ConfigWrite(pci.OffCommand, 2, pci.CmdIO|pci.CmdMemory|pci.CmdBusMaster)
}

// reset is e1000_reset_hw for the 82540: mask, stop the units, CTRL.RST
// through the I/O BAR, wait for it to self-clear.
func (d *driver) reset() error {
	d.w32(rIMC, 0xFFFFFFFF)
	d.w32(rRCTL, 0)
	d.w32(rTCTL, tctlPSP)
	d.r32(rSTATUS)
	ctrl := d.r32(rCTRL)
	if err := d.cl.IOWrite(ioBAR, ioADDR, 4, rCTRL); err != nil {
		return err
	}
	if err := d.cl.IOWrite(ioBAR, ioDATA, 4, ctrl|ctrlRST); err != nil {
		return err
	}
	if d.r32(rCTRL)&ctrlRST != 0 {
		return errors.New("CTRL.RST did not self-clear")
	}
	d.w32(rIMC, 0xFFFFFFFF)
	d.r32(rICR)
	return nil
}

// eeRead reads one EEPROM word by bit-banging the Microwire interface
// through EECD, as Linux does on the 82540.
func (d *driver) eeRead(word uint16) (uint16, error) {
	eecd := d.r32(rEECD) | eecdREQ
	d.w32(rEECD, eecd)
	if eecd = d.r32(rEECD); eecd&eecdGNT == 0 {
		return 0, errors.New("no EEPROM grant")
	}
	eecd &^= eecdDI | eecdSK
	d.w32(rEECD, eecd|eecdCS)
	eecd |= eecdCS
	out := func(data uint16, bits int) {
		for mask := uint16(1) << (bits - 1); mask != 0; mask >>= 1 {
			eecd &^= eecdDI
			if data&mask != 0 {
				eecd |= eecdDI
			}
			d.w32(rEECD, eecd)
			d.w32(rEECD, eecd|eecdSK)
			d.w32(rEECD, eecd)
		}
		eecd &^= eecdDI
		d.w32(rEECD, eecd)
	}
	out(0x6, 3) // READ
	out(word, 6)
	var v uint16
	for range 16 {
		d.w32(rEECD, eecd|eecdSK)
		v <<= 1
		if d.r32(rEECD)&eecdDO != 0 {
			v |= 1
		}
		d.w32(rEECD, eecd)
	}
	d.w32(rEECD, eecd&^(eecdCS|eecdDI|eecdSK|eecdREQ)) // standby and release
	return v, nil
}

// eerd reads one EEPROM word through EERD.
func (d *driver) eerd(word uint32) (uint16, error) {
	d.w32(rEERD, word<<8|eerdStart)
	v := d.r32(rEERD)
	if v&eerdDone == 0 {
		return 0, fmt.Errorf("EERD word %d not done: %#x", word, v)
	}
	return uint16(v >> 16), nil
}

// readMAC checks the EEPROM checksum (EERD) and reads the MAC
// (Microwire).
func (d *driver) readMAC() error {
	var sum uint16
	for i := range uint32(0x40) {
		w, err := d.eerd(i)
		if err != nil {
			return err
		}
		sum += w
	}
	if sum != eepromSum {
		return fmt.Errorf("EEPROM checksum %#04x, want %#04x", sum, eepromSum)
	}
	for i := range uint16(3) {
		w, err := d.eeRead(i)
		if err != nil {
			return err
		}
		d.mac[2*i], d.mac[2*i+1] = byte(w), byte(w>>8)
	}
	return nil
}

// up programs the receive address, clears the multicast table, brings
// the link up, lays both rings out in the pool and enables the units
// and interrupts.
func (d *driver) up() error {
	d.w32(rRA, binary.LittleEndian.Uint32(d.mac[:4]))
	d.w32(rRA+4, uint32(binary.LittleEndian.Uint16(d.mac[4:]))|1<<31)
	for i := range uint32(128) {
		d.w32(rMTA+4*i, 0)
	}
	d.w32(rCTRL, d.r32(rCTRL)|ctrlSLU|ctrlASDE)
	if s := d.r32(rSTATUS); s&statusLU == 0 {
		return fmt.Errorf("no link: STATUS %#x", s)
	}
	clear(d.pool[txRingOff : txRingOff+nDesc*descBytes])
	clear(d.pool[rxRingOff : rxRingOff+nDesc*descBytes])
	d.w32(rTDBAL, uint32(d.base+txRingOff))
	d.w32(rTDBAH, uint32((d.base+txRingOff)>>32))
	d.w32(rTDLEN, nDesc*descBytes)
	d.w32(rTDH, 0)
	d.w32(rTDT, 0)
	d.w32(rTIPG, 8|8<<10|6<<20)
	d.w32(rTCTL, tctlEN|tctlPSP|15<<4|64<<12)
	for i := range uint64(nDesc) {
		binary.LittleEndian.PutUint64(d.pool[rxRingOff+i*descBytes:], d.base+rxBufOff+i*bufSize)
	}
	d.w32(rRDBAL, uint32(d.base+rxRingOff))
	d.w32(rRDBAH, uint32((d.base+rxRingOff)>>32))
	d.w32(rRDLEN, nDesc*descBytes)
	d.w32(rRDTR, 0)
	d.w32(rITR, 0)
	d.w32(rRDH, 0)
	d.w32(rRDT, nDesc-1)
	d.w32(rRCTL, rctlEN|rctlBAM) // 2048-byte buffers, FCS kept (stripped below, as Linux does)
	d.r32(rICR)
	d.w32(rIMS, intRXT0|intTXDW|intLSC|intRXDMT0|intRXO)
	return d.cl.Sync()
}

// bringUp is the whole sequence.
func (d *driver) bringUp() error {
	for _, step := range []func() error{d.enable, d.reset, d.readMAC, d.up} {
		if err := step(); err != nil {
			return err
		}
	}
	return nil
}

// send queues one frame and kicks the transmitter; transmit runs when the
// machine performs the TDT write, so the descriptor is done by the next
// read, which send waits for.
func (d *driver) send(frame []byte) error {
	i := d.txNext
	buf := uint64(txBufOff + i*bufSize)
	copy(d.pool[buf:], frame)
	desc := d.pool[txRingOff+i*descBytes:]
	binary.LittleEndian.PutUint64(desc, d.base+buf)
	binary.LittleEndian.PutUint32(desc[8:], uint32(len(frame))|txCmdEOP|txCmdIFCS|txCmdRS)
	binary.LittleEndian.PutUint32(desc[12:], 0)
	d.txNext = (i + 1) % nDesc
	d.w32(rTDT, d.txNext)
	if err := d.cl.Sync(); err != nil {
		return err
	}
	if desc[12]&descDD == 0 {
		return fmt.Errorf("transmit descriptor %d not done", i)
	}
	d.sent++
	return nil
}

// poll waits for an interrupt, acknowledges it (ICR read) and hands every
// received frame (FCS stripped) to handle, refilling the ring. It stops
// when handle returns true.
func (d *driver) poll(handle func(frame []byte) (done bool)) error {
	for {
		for {
			desc := d.pool[rxRingOff+d.rxNext*descBytes:]
			if desc[12]&descDD == 0 {
				break
			}
			n := int(binary.LittleEndian.Uint16(desc[8:]))
			if desc[12]&descEOP == 0 || n < 18 || n > bufSize {
				return fmt.Errorf("receive descriptor %d: status %#x length %d", d.rxNext, desc[12], n)
			}
			off := rxBufOff + d.rxNext*bufSize
			frame := append([]byte(nil), d.pool[off:off+uint32(n)-4]...)
			desc[12] = 0
			d.w32(rRDT, d.rxNext)
			d.rxNext = (d.rxNext + 1) % nDesc
			d.received++
			if handle(frame) {
				return nil
			}
		}
		if _, err := d.irq.Wait(time.Now().Add(maxWaitIRQ)); err != nil {
			return fmt.Errorf("waiting for an interrupt: %w", err)
		}
		d.irqs++
		d.r32(rICR)
	}
}
