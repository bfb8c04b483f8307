// Package rtl8139 owns the register-level model of the Realtek RTL8139
// Fast Ethernet controller (PCI 10EC:8139) in its classic "C mode", after
// the RTL8139C(L) datasheet and checked against what Linux 6.1's
// unmodified 8139too driver does (rtl8139_init_board, rtl8139_init_one,
// read_eeprom, mdio_read/mdio_write, rtl8139_hw_start, start_xmit,
// rtl8139_tx_interrupt, rtl8139_rx, rtl8139_rx_err, rtl8139_interrupt,
// __set_rx_mode) — precise enough for that driver to probe it, bring the
// link up and pass frames. QEMU's hw/net/rtl8139.c was read for
// comparison; where it and the datasheet differ the datasheet wins and
// the choice is noted in the code.
//
// Like package e1000, the package knows nothing of processes or IPC: the
// machine wires a Device through DMA (the granted pool), Wire (frames
// out), IRQ (INTA#) and an optional Clock, forwards port I/O on BAR0 to
// ReadIO/WriteIO and memory accesses on BAR1 to ReadMMIO/WriteMMIO (the
// same 256 registers; 8139too picks one with use_io), and frames from
// the wire to Receive. PCIHeader gives the configuration-space identity.
//
// Identity: PCI revision 0x10. QEMU reports 0x20 (its 8139C+), which
// 8139too refuses ("use 8139cp"), so the model does not copy it. TCR
// reports HWRevRTL8139C by default (8139too: "RTL-8139C"); HWRevQEMU
// reproduces QEMU's TCR, which 8139too does not know and treats as the
// original RTL-8139 (then it also halts the clock with HLTCLK 'H' after
// probe and restarts it with 'R' in open; while halted the model's
// receiver drops frames, as QEMU's does).
//
// What is modelled, by file:
//
//   - regs.go: the register map as data (offset, width, name, behaviour,
//     writable bits, reset value). Unknown offsets (including the C+
//     registers at 0xD9–0xFF) read 0, drop writes and are recorded in
//     Device.Unknown. Config1/3/4 and BMCR speed/duplex take writes only
//     while 9346CR is unlocked (EEM = 11); other writes are dropped and
//     counted (Stats.LockedWrites), as the chip does.
//   - mmio.go: register access of 1, 2 or 4 bytes, naturally aligned,
//     through either BAR (MMIO also takes 8, as two dwords, with the same
//     signatures as package e1000); an access covering several registers (8139too's
//     RTL_W32(MAC0 + 4, …)) or part of one is split per register. CR with
//     self-clearing RST, RE/TE, BUFE; CAPR/CBR; TSAD; MSR; the MII
//     registers mapped at 0x62–0x6A (BMCR, BMSR, ANAR, ANLPAR, ANER — what
//     mdio_read maps for phy_id 32); CSCR with the link-change bit.
//   - eeprom.go: the 93C46 (64 words) bit-banged through 9346CR, with
//     the 0x8129 signature, the PCI IDs and the MAC at words 7–9;
//     9346CR auto-load.
//   - tx.go: the four TSAD/TSD descriptors in round-robin order, the
//     OWN/TOK/TABT write-back, TOK/TER interrupts, loopback.
//   - rx.go: the receive ring with header, CRC, dword alignment, both
//     wrap modes, the CAPR-16 offset, overflow (RXOVW, MPC), the
//     broadcast/multicast-hash/physical/promiscuous filter.
//   - intr.go: ISR (write 1 to clear) and IMR driving INTA#; TCTR and
//     TimerInt (PCSTimeout) on the Clock.
//
// Not modelled: C+ mode (descriptor rings, CpCmd, checksum offload,
// VLAN), early receive/transmit thresholds and their interrupts (ERBCR,
// ERSR, MULINT have no effect), transmit FIFO underrun, collisions and
// retransmission on TCR.CLRABT, receive errors (CRC, alignment, runts
// are never produced: AcceptErr/AcceptRunt have nothing to accept),
// wake-on-LAN and power management beyond storing their registers, the
// twister/PHY parameter registers' meaning, the BMSR latched-low link
// bit, cable-length change, flash access.
//
// Design rules and invariants:
//
//   - Transmit runs synchronously on the TSD write (or on CR.TE coming
//     on); receive runs synchronously in Receive. Nothing runs on its own
//     goroutine, so after any call returns the registers, ring and
//     interrupt state are final. The timer moves only in Tick.
//   - Every memory access goes through DMA with the exact address and
//     length; a refused access is counted and reported (Config.OnEvent)
//     with its address, length and purpose, never dropped silently. The
//     device reacts as to a PCI master abort: a transmit descriptor is
//     aborted (TABT, TER) and a received frame lost, with SERR (PCIErr)
//     raised in ISR either way. A TSD size of 0 or above MaxFrame aborts
//     the descriptor with a report. Values read from guest memory are
//     never interpreted (the ring is write-only for the device).
//   - No register value can make the model panic or loop without bound
//     (fuzzed by FuzzDevice); offsets are reduced modulo the ring length.
//
// Locking: one mutex per Device guards all state. Hooks (DMA, Wire, IRQ,
// Wake, BusMaster, OnEvent) run with it held and must not call back into
// the Device.
package rtl8139
