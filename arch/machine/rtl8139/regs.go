package rtl8139

// Register offsets (RTL8139C(L) datasheet, section 6; names as in
// Linux's 8139too.c so the model reads side by side with the driver).
const (
	regIDR0       = 0x00 // station address, 6 bytes (MAC0)
	regMAR0       = 0x08 // multicast hash, 8 bytes
	regTSD0       = 0x10 // transmit status of descriptor 0..3 (TxStatus0)
	regTSAD0      = 0x20 // transmit start address of descriptor 0..3 (TxAddr0)
	regRBSTART    = 0x30 // receive buffer start (RxBuf)
	regERBCR      = 0x34 // early receive byte count
	regERSR       = 0x36 // early receive status
	regCR         = 0x37 // command (ChipCmd)
	regCAPR       = 0x38 // current address of packet read (RxBufPtr)
	regCBR        = 0x3A // current buffer address (RxBufAddr)
	regIMR        = 0x3C // interrupt mask (IntrMask)
	regISR        = 0x3E // interrupt status (IntrStatus)
	regTCR        = 0x40 // transmit configuration (TxConfig)
	regRCR        = 0x44 // receive configuration (RxConfig)
	regTCTR       = 0x48 // timer count (Timer)
	regMPC        = 0x4C // missed packet counter (RxMissed)
	reg9346CR     = 0x50 // EEPROM command (Cfg9346)
	regConfig0    = 0x51
	regConfig1    = 0x52
	regTimerInt   = 0x54
	regMSR        = 0x58 // media status (MediaStatus)
	regConfig3    = 0x59
	regConfig4    = 0x5A
	regHltClk     = 0x5B
	regMULINT     = 0x5C // multiple interrupt select (MultiIntr)
	regRERID      = 0x5E // PCI revision ID
	regTSAD       = 0x60 // transmit status of all descriptors (TxSummary)
	regBMCR       = 0x62 // basic mode control (BasicModeCtrl, MII reg 0)
	regBMSR       = 0x64 // basic mode status (BasicModeStatus, MII reg 1)
	regANAR       = 0x66 // auto-negotiation advertisement (NWayAdvert, MII reg 4)
	regANLPAR     = 0x68 // link partner ability (NWayLPAR, MII reg 5)
	regANER       = 0x6A // auto-negotiation expansion (NWayExpansion, MII reg 6)
	regDIS        = 0x6C // disconnect counter
	regFCSC       = 0x6E // false carrier sense counter
	regNWAYTR     = 0x70 // N-way test (FIFOTMS)
	regREC        = 0x72 // RX_ER counter
	regCSCR       = 0x74 // CS configuration
	regPHY1PARM   = 0x78 // PARA78
	regTWPARM     = 0x7C // PARA7c
	regPHY2PARM   = 0x80
	regCRC0       = 0x84 // power-management CRC for wake-up frames 0..7
	regWakeup0    = 0x8C // wake-up frame masks, 8 × 8 bytes
	regLSBCRC0    = 0xCC // LSB of the wake-up masks' CRC, 8 bytes
	regFlash      = 0xD4 // flash memory read/write (FlashReg)
	regConfig5    = 0xD8
	numTxDesc     = 4
	mcastHashBits = 64

	// BARSize is the size of both BARs (I/O BAR0 and memory BAR1): the
	// 256-byte register window.
	BARSize = 256
)

// CR (ChipCmd) bits.
const (
	crBUFE = 1 << 0 // receive buffer empty (read-only)
	crTE   = 1 << 2 // transmitter enable
	crRE   = 1 << 3 // receiver enable
	crRST  = 1 << 4 // software reset (self-clearing)
)

// Interrupt bits, shared by IMR and ISR.
const (
	IntROK     = 1 << 0  // receive OK (RxOK)
	IntRER     = 1 << 1  // receive error (RxErr)
	IntTOK     = 1 << 2  // transmit OK (TxOK)
	IntTER     = 1 << 3  // transmit error (TxErr)
	IntRXOVW   = 1 << 4  // receive buffer overflow (RxOverflow)
	IntPUN     = 1 << 5  // packet underrun / link change (RxUnderrun)
	IntFOVW    = 1 << 6  // receive FIFO overflow (RxFIFOOver)
	IntLenChg  = 1 << 13 // cable length change
	IntTimeout = 1 << 14 // TCTR reached TimerInt (PCSTimeout)
	IntSERR    = 1 << 15 // system error: a master abort on DMA (PCIErr)
	intValid   = 0xE07F
)

// TSD (TxStatus) bits.
const (
	tsdSize     = 0x1FFF  // bytes in the descriptor
	tsdOWN      = 1 << 13 // set by the device when the DMA is done (TxHostOwns)
	tsdTUN      = 1 << 14 // FIFO underrun
	tsdTOK      = 1 << 15 // transmit OK (TxStatOK)
	tsdERTXTH   = 0x3F << 16
	tsdOWC      = 1 << 29 // out of window collision
	tsdTABT     = 1 << 30 // transmit aborted
	tsdCRS      = 1 << 31 // carrier sense lost
	tsdWritable = tsdSize | tsdOWN | tsdERTXTH
)

// TCR (TxConfig) fields.
const (
	tcrCLRABT   = 1 << 0
	tcrLoopback = 3 << 17
	// tcrWritable: TXRR, MXDMA, CRC, LBK, IFG. The hardware revision
	// bits (30:26, 23, 22) are read-only; CLRABT is write-only.
	tcrWritable = 0xF<<4 | 7<<8 | 1<<16 | tcrLoopback | 3<<24
)

// Hardware revisions in TCR bits 30:26, 23, 22 (Linux's HW_REVID).
const (
	// HWRevRTL8139C is an RTL8139C: 8139too identifies it by name
	// ("RTL-8139C") and takes the HasLWake paths.
	HWRevRTL8139C = 0x74000000
	// HWRevQEMU is what QEMU's rtl8139 reports (an RTL8139C+); it is not
	// in 8139too's table, so the driver falls back to "RTL-8139".
	HWRevQEMU   = 0x74800000
	hwRevMask   = 0x7CC00000
	pciRevision = 0x10 // 8139too refuses revision ≥ 0x20 (8139C+, "use 8139cp")
)

// RCR (RxConfig) fields.
const (
	rcrAAP      = 1 << 0 // accept all packets with a physical destination (AcceptAllPhys)
	rcrAPM      = 1 << 1 // accept physical match (AcceptMyPhys)
	rcrAM       = 1 << 2 // accept multicast (AcceptMulticast)
	rcrAB       = 1 << 3 // accept broadcast (AcceptBroadcast)
	rcrAR       = 1 << 4 // accept runt
	rcrAER      = 1 << 5 // accept error
	rcrWRAP     = 1 << 7 // 1: write past the end of the ring instead of wrapping (RxNoWrap)
	rcrRBLShift = 11     // ring length 8K << RBLEN
	rcrWritable = 0x0F03FFBF
)

// Receive packet header status bits.
const (
	rxROK  = 1 << 0  // RxStatusOK
	rxBAR  = 1 << 13 // broadcast
	rxPAM  = 1 << 14 // physical address matched
	rxMAR  = 1 << 15 // multicast
	rxHead = 4       // header bytes before each frame
)

// 9346CR bits.
const (
	eeDO       = 1 << 0
	eeDI       = 1 << 1
	eeSK       = 1 << 2
	eeCS       = 1 << 3
	eemMask    = 3 << 6
	eemNormal  = 0 << 6
	eemAutoLd  = 1 << 6
	eemProgram = 2 << 6
	eemConfig  = 3 << 6 // config register write enable (Cfg9346_Unlock)
)

// MII bits the model composes.
const (
	bmcrReset    = 1 << 15
	bmcrSpeed100 = 1 << 13
	bmcrANE      = 1 << 12
	bmcrRestart  = 1 << 9
	bmcrFD       = 1 << 8
	bmcrWritable = bmcrSpeed100 | bmcrANE | bmcrFD
	bmsrCaps     = 0x7809 // 100FD, 100HD, 10FD, 10HD, AN able, extended
	bmsrANDone   = 1 << 5
	bmsrLink     = 1 << 2
	anarDefault  = 0x05E1 // pause, 100FD/HD, 10FD/HD, 802.3
	anlparLinkUp = 0x45E1 // ACK, pause, 100FD/HD, 10FD/HD, 802.3
	anarWritable = 0x07E0
	cscrLinkOK   = 1 << 10
	cscrLinkChg  = 1 << 11
	msrLINKB     = 1 << 2 // inverse of link
	msrFixed     = 0xD0   // TX/RX flow control enabled, aux power present
)

// regKind says how a plain register behaves; registers with side effects
// are marked special and handled by name in mmio.go, so the table stays
// the single list of what exists.
type regKind uint8

const (
	kindRW       regKind = iota // storage; writes keep mask bits
	kindCfg                     // storage, writable only while 9346CR is in config-write mode
	kindRO                      // reads the stored (reset) value, writes ignored
	kindReserved                // reads 0, writes ignored (known, not recorded)
	kindSpecial                 // behaviour in mmio.go
)

type regInfo struct {
	off   uint8
	width uint8 // bytes
	name  string
	kind  regKind
	mask  uint32 // writable bits (kindRW, kindCfg)
	reset uint32 // value after power-on (special registers: unused)
}

// regTable is the register map of the RTL8139C in C mode, as data. An
// offset not covered is unknown: it reads 0, drops writes and is
// recorded (Device.Unknown). The C+ mode registers (0xD9–0xFF) are
// deliberately absent.
var regTable = []regInfo{
	{regIDR0 + 0, 1, "IDR0", kindRW, 0xFF, 0},
	{regIDR0 + 1, 1, "IDR1", kindRW, 0xFF, 0},
	{regIDR0 + 2, 1, "IDR2", kindRW, 0xFF, 0},
	{regIDR0 + 3, 1, "IDR3", kindRW, 0xFF, 0},
	{regIDR0 + 4, 1, "IDR4", kindRW, 0xFF, 0},
	{regIDR0 + 5, 1, "IDR5", kindRW, 0xFF, 0},
	{0x06, 2, "IDR-reserved", kindReserved, 0, 0},
	{regMAR0 + 0, 1, "MAR0", kindRW, 0xFF, 0},
	{regMAR0 + 1, 1, "MAR1", kindRW, 0xFF, 0},
	{regMAR0 + 2, 1, "MAR2", kindRW, 0xFF, 0},
	{regMAR0 + 3, 1, "MAR3", kindRW, 0xFF, 0},
	{regMAR0 + 4, 1, "MAR4", kindRW, 0xFF, 0},
	{regMAR0 + 5, 1, "MAR5", kindRW, 0xFF, 0},
	{regMAR0 + 6, 1, "MAR6", kindRW, 0xFF, 0},
	{regMAR0 + 7, 1, "MAR7", kindRW, 0xFF, 0},
	{regTSD0 + 0, 4, "TSD0", kindSpecial, tsdWritable, tsdOWN},
	{regTSD0 + 4, 4, "TSD1", kindSpecial, tsdWritable, tsdOWN},
	{regTSD0 + 8, 4, "TSD2", kindSpecial, tsdWritable, tsdOWN},
	{regTSD0 + 12, 4, "TSD3", kindSpecial, tsdWritable, tsdOWN},
	{regTSAD0 + 0, 4, "TSAD0", kindRW, 0xFFFFFFFF, 0},
	{regTSAD0 + 4, 4, "TSAD1", kindRW, 0xFFFFFFFF, 0},
	{regTSAD0 + 8, 4, "TSAD2", kindRW, 0xFFFFFFFF, 0},
	{regTSAD0 + 12, 4, "TSAD3", kindRW, 0xFFFFFFFF, 0},
	{regRBSTART, 4, "RBSTART", kindRW, 0xFFFFFFFF, 0},
	{regERBCR, 2, "ERBCR", kindRO, 0, 0},
	{regERSR, 1, "ERSR", kindRO, 0, 0},
	{regCR, 1, "CR", kindSpecial, crRE | crTE, 0},
	{regCAPR, 2, "CAPR", kindSpecial, 0xFFFF, 0},
	{regCBR, 2, "CBR", kindSpecial, 0, 0},
	{regIMR, 2, "IMR", kindSpecial, intValid, 0},
	{regISR, 2, "ISR", kindSpecial, intValid, 0},
	{regTCR, 4, "TCR", kindSpecial, tcrWritable, 0},
	{regRCR, 4, "RCR", kindSpecial, rcrWritable, 0},
	{regTCTR, 4, "TCTR", kindSpecial, 0, 0},
	{regMPC, 4, "MPC", kindSpecial, 0, 0},
	{reg9346CR, 1, "9346CR", kindSpecial, 0xCE, 0},
	{regConfig0, 1, "CONFIG0", kindRO, 0, 0},        // no boot ROM
	{regConfig1, 1, "CONFIG1", kindCfg, 0xF3, 0x0C}, // I/O and memory mapped (read-only bits 3:2)
	{0x53, 1, "reserved53", kindReserved, 0, 0},
	{regTimerInt, 4, "TimerInt", kindSpecial, 0xFFFFFFFF, 0},
	{regMSR, 1, "MSR", kindSpecial, 0, 0},
	{regConfig3, 1, "CONFIG3", kindCfg, 0x70, 0x01}, // fast back-to-back
	{regConfig4, 1, "CONFIG4", kindCfg, 0xF5, 0},
	{regHltClk, 1, "HLTCLK", kindSpecial, 0xFF, 'R'},
	{regMULINT, 2, "MULINT", kindRW, 0x0FFF, 0},
	{regRERID, 1, "RERID", kindRO, 0, pciRevision},
	{0x5F, 1, "reserved5F", kindReserved, 0, 0},
	{regTSAD, 2, "TSAD", kindSpecial, 0, 0},
	{regBMCR, 2, "BMCR", kindSpecial, bmcrWritable, bmcrANE},
	{regBMSR, 2, "BMSR", kindSpecial, 0, 0},
	{regANAR, 2, "ANAR", kindRW, anarWritable, anarDefault},
	{regANLPAR, 2, "ANLPAR", kindSpecial, 0, 0},
	{regANER, 2, "ANER", kindSpecial, 0, 0},
	{regDIS, 2, "DIS", kindRO, 0, 0},
	{regFCSC, 2, "FCSC", kindRO, 0, 0},
	{regNWAYTR, 2, "NWAYTR", kindRW, 0x00FF, 0},
	{regREC, 2, "REC", kindRO, 0, 0},
	{regCSCR, 2, "CSCR", kindSpecial, 0xF3FF, 0x0340},
	{0x76, 2, "reserved76", kindReserved, 0, 0},
	{regPHY1PARM, 4, "PHY1_PARM", kindRW, 0xFFFFFFFF, 0x000FFF70}, // twister
	{regTWPARM, 4, "TW_PARM", kindRW, 0xFFFFFFFF, 0xCB38DE43},
	{regPHY2PARM, 1, "PHY2_PARM", kindRW, 0xFF, 0},
	{0x81, 3, "reserved81", kindReserved, 0, 0},
	{regFlash, 4, "FLASH", kindRW, 0xFFFFFFFF, 0},
	{regConfig5, 1, "CONFIG5", kindRW, 0x7F, 0}, // writable without unlocking
}

func init() {
	for i := 0; i < 8; i++ {
		regTable = append(regTable, regInfo{uint8(regCRC0 + i), 1, "CRC", kindRW, 0xFF, 0})
		regTable = append(regTable, regInfo{uint8(regLSBCRC0 + i), 1, "LSBCRC", kindRW, 0xFF, 0})
	}
	for i := 0; i < 64; i++ {
		regTable = append(regTable, regInfo{uint8(regWakeup0 + i), 1, "Wakeup", kindRW, 0xFF, 0})
	}
	for i := range regAt {
		regAt[i] = -1
	}
	for i, r := range regTable {
		for b := int(r.off); b < int(r.off)+int(r.width); b++ {
			if regAt[b] != -1 {
				panic("rtl8139: register table overlaps at " + r.name)
			}
			regAt[b] = int16(i)
		}
	}
}

// regAt maps each byte of the window to its register in regTable (-1:
// unknown).
var regAt [BARSize]int16

// RegName returns the datasheet name of the register holding byte off,
// or "" if the model does not know it.
func RegName(off uint32) string {
	if off >= BARSize || regAt[off] < 0 {
		return ""
	}
	return regTable[regAt[off]].name
}
