package e1000

// Register offsets in BAR0 (8254x SDM chapter 13). Names follow the
// manual so the model reads side by side with it and with the drivers.
const (
	regCTRL    = 0x00000
	regCTRLDup = 0x00004 // alias of CTRL on later parts; reserved on the 82540
	regSTATUS  = 0x00008
	regEECD    = 0x00010
	regEERD    = 0x00014
	regCTRLEXT = 0x00018
	regFLA     = 0x0001C
	regMDIC    = 0x00020
	regFCAL    = 0x00028
	regFCAH    = 0x0002C
	regFCT     = 0x00030
	regVET     = 0x00038
	regICR     = 0x000C0
	regITR     = 0x000C4
	regICS     = 0x000C8
	regIMS     = 0x000D0
	regIMC     = 0x000D8
	regRCTL    = 0x00100
	regFCTTV   = 0x00170
	regTXCW    = 0x00178
	regRXCW    = 0x00180
	regTCTL    = 0x00400
	regTIPG    = 0x00410
	regAIT     = 0x00458
	regLEDCTL  = 0x00E00
	regPBA     = 0x01000
	regFCRTL   = 0x02160
	regFCRTH   = 0x02168
	regRDFH    = 0x02410
	regRDFT    = 0x02418
	regRDFHS   = 0x02420
	regRDFTS   = 0x02428
	regRDFPC   = 0x02430
	regRDBAL   = 0x02800
	regRDBAH   = 0x02804
	regRDLEN   = 0x02808
	regRDH     = 0x02810
	regRDT     = 0x02818
	regRDTR    = 0x02820
	regRXDCTL  = 0x02828
	regRADV    = 0x0282C
	regRSRPD   = 0x02C00
	regTXDMAC  = 0x03000
	regTDFH    = 0x03410
	regTDFT    = 0x03418
	regTDFHS   = 0x03420
	regTDFTS   = 0x03428
	regTDFPC   = 0x03430
	regTDBAL   = 0x03800
	regTDBAH   = 0x03804
	regTDLEN   = 0x03808
	regTDH     = 0x03810
	regTDT     = 0x03818
	regTIDV    = 0x03820
	regTXDCTL  = 0x03828
	regTADV    = 0x0382C
	regTSPMT   = 0x03830
	regRXCSUM  = 0x05000
	regMTA     = 0x05200 // 128 dwords
	regRA      = 0x05400 // 16 pairs RAL/RAH
	regVFTA    = 0x05600 // 128 dwords
	regWUC     = 0x05800
	regWUFC    = 0x05808
	regWUS     = 0x05810
	regMANC    = 0x05820
	regIPAV    = 0x05838
	regIP4AT   = 0x05840 // 4 entries, 8 bytes apart
	regIP6AT   = 0x05880 // 4 dwords
	regWUPL    = 0x05900
	regWUPM    = 0x05A00 // 32 dwords
	regFFLT    = 0x05F00 // 4 entries, 8 bytes apart
	regFFMT    = 0x09000 // 128 entries, 8 bytes apart
	regFFVT    = 0x09800 // 128 entries, 8 bytes apart

	// Statistics, 0x04000–0x040FC, all read-to-clear.
	regCRCERRS  = 0x04000
	regSYMERRS  = 0x04008
	regRXERRC   = 0x0400C
	regMPC      = 0x04010
	regCOLC     = 0x04028
	regRLEC     = 0x04040
	regPRC64    = 0x0405C
	regPRC127   = 0x04060
	regPRC255   = 0x04064
	regPRC511   = 0x04068
	regPRC1023  = 0x0406C
	regPRC1522  = 0x04070
	regGPRC     = 0x04074
	regBPRC     = 0x04078
	regMPRC     = 0x0407C
	regGPTC     = 0x04080
	regGORCL    = 0x04088
	regGORCH    = 0x0408C
	regGOTCL    = 0x04090
	regGOTCH    = 0x04094
	regRNBC     = 0x040A0
	regRUC      = 0x040A4
	regRFC      = 0x040A8
	regROC      = 0x040AC
	regTORL     = 0x040C0
	regTORH     = 0x040C4
	regTOTL     = 0x040C8
	regTOTH     = 0x040CC
	regTPR      = 0x040D0
	regTPT      = 0x040D4
	regPTC64    = 0x040D8
	regPTC127   = 0x040DC
	regPTC255   = 0x040E0
	regPTC511   = 0x040E4
	regPTC1023  = 0x040E8
	regPTC1522  = 0x040EC
	regMPTC     = 0x040F0
	regBPTC     = 0x040F4
	regTSCTC    = 0x040F8
	regTSCTFC   = 0x040FC
	mtaEntries  = 128
	raEntries   = 16
	vftaEntries = 128

	// BARSize is the size of the memory BAR (the register space).
	BARSize = 128 << 10
	// IOBARSize is the size of the I/O BAR: IOADDR at 0, IODATA at 4,
	// the rest reserved (the 82540EM decodes 8 bytes; QEMU's e1000
	// exposes 64, which is what guests are used to seeing).
	IOBARSize = 64
	ioADDR    = 0x0
	ioDATA    = 0x4
)

// CTRL bits.
const (
	ctrlFD     = 1 << 0
	ctrlASDE   = 1 << 5
	ctrlSLU    = 1 << 6
	ctrlSpeed  = 3 << 8
	ctrlFRCSPD = 1 << 11
	ctrlFRCDPX = 1 << 12
	ctrlRST    = 1 << 26
	ctrlRFCE   = 1 << 27
	ctrlTFCE   = 1 << 28
	ctrlVME    = 1 << 30
	ctrlPHYRST = 1 << 31
	// ctrlWritable leaves out RST (self-clearing) and reserved bits.
	ctrlWritable = 0xFBFFFFFF &^ (1<<1 | 1<<2 | 1<<4 | 0xF<<13 | 1<<17 | 1<<29)
)

// STATUS bits.
const (
	statusFD       = 1 << 0
	statusLU       = 1 << 1
	statusASDVShft = 8
)

// EECD bits.
const (
	eecdSK   = 1 << 0
	eecdCS   = 1 << 1
	eecdDI   = 1 << 2
	eecdDO   = 1 << 3
	eecdFWE  = 3 << 4
	eecdREQ  = 1 << 6
	eecdGNT  = 1 << 7
	eecdPRES = 1 << 8
	// EECD.SIZE (bit 9) stays 0: a 64-word 93C46.
	// eecdWritable are the bits software drives.
	eecdWritable = eecdSK | eecdCS | eecdDI | eecdFWE | eecdREQ
)

// EERD bits on the 82540 (later parts moved DONE and ADDR).
const (
	eerdStart     = 1 << 0
	eerdDone      = 1 << 4
	eerdAddrShift = 8
	eerdDataShift = 16
)

// CTRL_EXT bits the model acts on.
const (
	ctrlExtEERST = 1 << 13
)

// MDIC fields.
const (
	mdicDataMask = 0xFFFF
	mdicRegShift = 16
	mdicPhyShift = 21
	mdicOpWrite  = 1 << 26
	mdicOpRead   = 2 << 26
	mdicOpMask   = 3 << 26
	mdicReady    = 1 << 28
	mdicIntEn    = 1 << 29
	mdicError    = 1 << 30
)

// Interrupt causes (ICR, ICS, IMS, IMC share the layout).
const (
	IntTXDW   = 1 << 0  // transmit descriptor written back
	IntTXQE   = 1 << 1  // transmit queue empty
	IntLSC    = 1 << 2  // link status change
	IntRXSEQ  = 1 << 3  // receive sequence error
	IntRXDMT0 = 1 << 4  // receive descriptor minimum threshold
	IntRXO    = 1 << 6  // receiver overrun
	IntRXT0   = 1 << 7  // receiver timer
	IntMDAC   = 1 << 9  // MDI/O access complete
	IntRXCFG  = 1 << 10 // receiving /C/ ordered sets
	IntGPI    = 0xF << 11
	IntTXDLOW = 1 << 15 // transmit descriptor low threshold
	IntSRPD   = 1 << 16 // small receive packet detected
	// intValid are the causes the 82540 implements.
	intValid = 0x1FFFF &^ (1<<5 | 1<<8)
)

// RCTL bits.
const (
	rctlEN      = 1 << 1
	rctlSBP     = 1 << 2
	rctlUPE     = 1 << 3
	rctlMPE     = 1 << 4
	rctlLPE     = 1 << 5
	rctlRDMTS   = 3 << 8
	rctlMOShift = 12
	rctlBAM     = 1 << 15
	rctlBSIZE   = 3 << 16
	rctlVFE     = 1 << 18
	rctlCFIEN   = 1 << 19
	rctlCFI     = 1 << 20
	rctlBSEX    = 1 << 25
	rctlSECRC   = 1 << 26
	// rctlWritable: everything the 82540 defines (bit 0 RST is only on
	// the 82542; bits 10-11, 14, 21, 24, 27-31 reserved).
	rctlWritable = 0x06DFB3FE
)

// TCTL bits.
const (
	tctlEN       = 1 << 1
	tctlPSP      = 1 << 3
	tctlWritable = 0x03FFFFFE
)

// RXCSUM bits.
const (
	rxcsumPCSS  = 0xFF
	rxcsumIPOFL = 1 << 8
	rxcsumTUOFL = 1 << 9
)

// RAH bits.
const (
	rahAV = 1 << 31
)

// Timer register flush bit (RDTR, TIDV): write 1 to fire the timer now.
const timerFPD = 1 << 31

// regKind says how a plain register behaves; registers with side effects
// are handled by name in mmio.go and are marked special here so that the
// table stays the single list of what exists.
type regKind uint8

const (
	kindRW      regKind = iota // storage; write keeps mask bits
	kindRO                     // reads the stored value, writes ignored
	kindStat                   // statistics counter, cleared on read
	kindSpecial                // behaviour in mmio.go
)

type regInfo struct {
	name  string
	kind  regKind
	mask  uint32 // writable bits (kindRW)
	reset uint32 // value after power-on and CTRL.RST
}

// regTable is the register map of the 82540EM, as data: every register
// the model knows, how it behaves and what it holds after reset. An
// offset not in the table (and not in an array below) is unknown: it
// reads 0, drops writes and is recorded (Device.Unknown). Arrays (MTA,
// RA, VFTA, wake-up tables) are expanded by init.
var regTable = map[uint32]regInfo{
	regCTRL:    {"CTRL", kindSpecial, ctrlWritable, ctrlFD | ctrlASDE | 2<<8},
	regSTATUS:  {"STATUS", kindSpecial, 0, 0},
	regEECD:    {"EECD", kindSpecial, 0, eecdPRES},
	regEERD:    {"EERD", kindSpecial, 0, 0},
	regCTRLEXT: {"CTRL_EXT", kindSpecial, 0x01F3FFFF &^ (1 << 13), 0},
	regFLA:     {"FLA", kindRW, 0, 0},
	regMDIC:    {"MDIC", kindSpecial, 0, mdicReady},
	regFCAL:    {"FCAL", kindRW, 0xFFFFFFFF, 0},
	regFCAH:    {"FCAH", kindRW, 0x0000FFFF, 0},
	regFCT:     {"FCT", kindRW, 0x0000FFFF, 0},
	regVET:     {"VET", kindRW, 0x0000FFFF, 0x8100},
	regICR:     {"ICR", kindSpecial, 0, 0},
	regITR:     {"ITR", kindSpecial, 0x0000FFFF, 0},
	regICS:     {"ICS", kindSpecial, 0, 0},
	regIMS:     {"IMS", kindSpecial, 0, 0},
	regIMC:     {"IMC", kindSpecial, 0, 0},
	regRCTL:    {"RCTL", kindSpecial, rctlWritable, 0},
	regFCTTV:   {"FCTTV", kindRW, 0x0000FFFF, 0},
	regTXCW:    {"TXCW", kindRW, 0xC000FFFF, 0},
	regRXCW:    {"RXCW", kindRO, 0, 0},
	regTCTL:    {"TCTL", kindSpecial, tctlWritable, tctlPSP | 0xF<<4 | 0x40<<12},
	regTIPG:    {"TIPG", kindRW, 0x3FFFFFFF, 8 | 8<<10 | 6<<20},
	regAIT:     {"AIT", kindRW, 0x0000FFFF, 0},
	regLEDCTL:  {"LEDCTL", kindRW, 0xFFFFFFFF, 0x07068302},
	regPBA:     {"PBA", kindRW, 0x0000003F, 0x30},
	regFCRTL:   {"FCRTL", kindRW, 0x8000FFF8, 0},
	regFCRTH:   {"FCRTH", kindRW, 0x0000FFF8, 0},
	regRDFH:    {"RDFH", kindRW, 0x1FFF, 0},
	regRDFT:    {"RDFT", kindRW, 0x1FFF, 0},
	regRDFHS:   {"RDFHS", kindRW, 0x1FFF, 0},
	regRDFTS:   {"RDFTS", kindRW, 0x1FFF, 0},
	regRDFPC:   {"RDFPC", kindRW, 0x1FFF, 0},
	regRDBAL:   {"RDBAL", kindSpecial, 0xFFFFFFF0, 0},
	regRDBAH:   {"RDBAH", kindSpecial, 0xFFFFFFFF, 0},
	regRDLEN:   {"RDLEN", kindSpecial, 0x000FFF80, 0},
	regRDH:     {"RDH", kindSpecial, 0x0000FFFF, 0},
	regRDT:     {"RDT", kindSpecial, 0x0000FFFF, 0},
	regRDTR:    {"RDTR", kindSpecial, 0x0000FFFF, 0},
	regRXDCTL:  {"RXDCTL", kindRW, 0x003F3F3F, 0x00010000},
	regRADV:    {"RADV", kindRW, 0x0000FFFF, 0},
	regRSRPD:   {"RSRPD", kindRW, 0x00000FFF, 0},
	regTXDMAC:  {"TXDMAC", kindRW, 0x1, 0},
	regTDFH:    {"TDFH", kindRW, 0x1FFF, 0},
	regTDFT:    {"TDFT", kindRW, 0x1FFF, 0},
	regTDFHS:   {"TDFHS", kindRW, 0x1FFF, 0},
	regTDFTS:   {"TDFTS", kindRW, 0x1FFF, 0},
	regTDFPC:   {"TDFPC", kindRW, 0x1FFF, 0},
	regTDBAL:   {"TDBAL", kindSpecial, 0xFFFFFFF0, 0},
	regTDBAH:   {"TDBAH", kindSpecial, 0xFFFFFFFF, 0},
	regTDLEN:   {"TDLEN", kindSpecial, 0x000FFF80, 0},
	regTDH:     {"TDH", kindSpecial, 0x0000FFFF, 0},
	regTDT:     {"TDT", kindSpecial, 0x0000FFFF, 0},
	regTIDV:    {"TIDV", kindSpecial, 0x0000FFFF, 0},
	regTXDCTL:  {"TXDCTL", kindRW, 0xFF3F3F3F, 0},
	regTADV:    {"TADV", kindRW, 0x0000FFFF, 0},
	regTSPMT:   {"TSPMT", kindRW, 0xFFFFFFFF, 0x01000400},
	regRXCSUM:  {"RXCSUM", kindRW, 0x000003FF, rxcsumIPOFL | rxcsumTUOFL},
	regWUC:     {"WUC", kindRW, 0x0000000F, 0},
	regWUFC:    {"WUFC", kindRW, 0x000F00FF, 0},
	regWUS:     {"WUS", kindRW, 0, 0},
	regMANC:    {"MANC", kindRW, 0x00FFFFFE, 0},
	regIPAV:    {"IPAV", kindRW, 0x0001000F, 0},
	regWUPL:    {"WUPL", kindRO, 0, 0},
}

// statNames names the statistics registers (all kindStat). The 64-bit
// octet counters are pairs: reading the high half clears both halves.
var statNames = map[uint32]string{
	regCRCERRS: "CRCERRS", 0x04004: "ALGNERRC", regSYMERRS: "SYMERRS", regRXERRC: "RXERRC",
	regMPC: "MPC", 0x04014: "SCC", 0x04018: "ECOL", 0x0401C: "MCC", 0x04020: "LATECOL",
	regCOLC: "COLC", 0x04030: "DC", 0x04034: "TNCRS", 0x04038: "SEC", 0x0403C: "CEXTERR",
	regRLEC: "RLEC", 0x04048: "XONRXC", 0x0404C: "XONTXC", 0x04050: "XOFFRXC",
	0x04054: "XOFFTXC", 0x04058: "FCRUC", regPRC64: "PRC64", regPRC127: "PRC127",
	regPRC255: "PRC255", regPRC511: "PRC511", regPRC1023: "PRC1023", regPRC1522: "PRC1522",
	regGPRC: "GPRC", regBPRC: "BPRC", regMPRC: "MPRC", regGPTC: "GPTC",
	regGORCL: "GORCL", regGORCH: "GORCH", regGOTCL: "GOTCL", regGOTCH: "GOTCH",
	regRNBC: "RNBC", regRUC: "RUC", regRFC: "RFC", regROC: "ROC", 0x040B0: "RJC",
	0x040B4: "MGTPRC", 0x040B8: "MGTPDC", 0x040BC: "MGTPTC",
	regTORL: "TORL", regTORH: "TORH", regTOTL: "TOTL", regTOTH: "TOTH",
	regTPR: "TPR", regTPT: "TPT", regPTC64: "PTC64", regPTC127: "PTC127",
	regPTC255: "PTC255", regPTC511: "PTC511", regPTC1023: "PTC1023", regPTC1522: "PTC1522",
	regMPTC: "MPTC", regBPTC: "BPTC", regTSCTC: "TSCTC", regTSCTFC: "TSCTFC",
}

// stat64High maps the high half of each 64-bit counter to its low half.
var stat64High = map[uint32]uint32{
	regGORCH: regGORCL, regGOTCH: regGOTCL, regTORH: regTORL, regTOTH: regTOTL,
}

func init() {
	for off, name := range statNames {
		regTable[off] = regInfo{name, kindStat, 0, 0}
	}
	array := func(base uint32, n int, stride uint32, name string, mask uint32) {
		for i := 0; i < n; i++ {
			regTable[base+uint32(i)*stride] = regInfo{name, kindRW, mask, 0}
		}
	}
	array(regMTA, mtaEntries, 4, "MTA", 0xFFFFFFFF)
	array(regVFTA, vftaEntries, 4, "VFTA", 0xFFFFFFFF)
	array(regRA, raEntries, 8, "RAL", 0xFFFFFFFF)
	array(regRA+4, raEntries, 8, "RAH", rahAV|0x3<<16|0xFFFF)
	array(regIP4AT, 4, 8, "IP4AT", 0xFFFFFFFF)
	array(regIP6AT, 4, 4, "IP6AT", 0xFFFFFFFF)
	array(regFFLT, 4, 8, "FFLT", 0x7FF)
	array(regFFMT, 128, 8, "FFMT", 0xF)
	array(regFFVT, 128, 8, "FFVT", 0xFFFFFFFF)
	for i := 0; i < 32; i++ {
		regTable[regWUPM+uint32(4*i)] = regInfo{"WUPM", kindRO, 0, 0}
	}
}

// RegName returns the manual's name for the register at off, or "" if
// the model does not know it.
func RegName(off uint32) string { return regTable[off&^3].name }
