package e1000

import (
	"encoding/binary"
	"testing"
	"time"
)

// fuzzRegs are the registers the fuzzer aims at most of the time.
var fuzzRegs = []uint32{
	regCTRL, regSTATUS, regEECD, regEERD, regCTRLEXT, regMDIC, regICR, regITR, regICS,
	regIMS, regIMC, regRCTL, regTCTL, regRDBAL, regRDBAH, regRDLEN, regRDH, regRDT,
	regRDTR, regRADV, regTDBAL, regTDBAH, regTDLEN, regTDH, regTDT, regTIDV, regTADV,
	regRXCSUM, regRA, regRA + 4, regMTA, regVFTA, regPBA, regVET, regGORCH, regGPRC,
	regTXDCTL, regCTRLDup,
}

const fuzzPool = 16 << 10

// nullWire counts frames and keeps none.
type nullWire struct{ n int }

func (w *nullWire) Send([]byte) error { w.n++; return nil }

// FuzzDevice drives the model with arbitrary MMIO and port writes and
// reads, frames, clock steps and link flaps over a pool of arbitrary
// bytes (so every descriptor the device fetches is random). The model
// must not panic, must stay bounded, and every DMA the pool refused must
// have been reported.
func FuzzDevice(f *testing.F) {
	op := func(kind byte, reg byte, v uint32, size, extra byte) []byte {
		b := []byte{kind, reg, 0, 0, 0, 0, size, extra}
		binary.LittleEndian.PutUint32(b[2:], v)
		return b
	}
	var legacyTx []byte
	legacyTx = binary.LittleEndian.AppendUint64(legacyTx, 0x2000)
	legacyTx = binary.LittleEndian.AppendUint32(legacyTx, 64|txCmdEOP|txCmdRS|txCmdIC|20<<16)
	legacyTx = binary.LittleEndian.AppendUint32(legacyTx, 14<<8)
	f.Add(legacyTx, op(0, 24, 1, 4, 0))                                         // TDT=1
	f.Add(legacyTx, append(op(3, 0, 0x10000|200, 0, 0), op(0, 17, 5, 4, 0)...)) // frame, RDT
	f.Add([]byte{}, append(op(0, 0, ctrlRST, 4, 0), op(1, 1, 0, 4, 0)...))
	f.Add([]byte{0xFF}, append(op(0, 22, 1000, 4, 0), op(0, 24, 63, 4, 0)...))
	f.Add([]byte{}, append(op(6, 0, regTDT, 4, 0), op(6, 1, 1, 4, 0)...))

	f.Fuzz(func(t *testing.T, mem []byte, ops []byte) {
		p := &pool{mem: make([]byte, fuzzPool)}
		copy(p.mem, mem)
		clk := &fakeClock{}
		var events int
		d, err := New(Config{MAC: testMAC, DMA: p, Wire: &nullWire{}, IRQ: &line{}, Clock: clk,
			OnEvent: func(Event) { events++ }})
		if err != nil {
			t.Fatal(err)
		}
		w := func(off, v uint32) { d.WriteMMIO(off, 4, uint64(v)) }
		w(regCTRL, ctrlSLU|ctrlASDE|ctrlFD)
		w(regTDLEN, 0x400)
		w(regRDBAL, 0x400)
		w(regRDLEN, 0x400)
		w(regRCTL, rctlEN|rctlBAM|rctlUPE)
		w(regTCTL, tctlEN|tctlPSP)
		w(regIMS, intValid)
		w(regITR, 100)

		for len(ops) >= 8 {
			o := ops[:8]
			ops = ops[8:]
			v := binary.LittleEndian.Uint32(o[2:])
			reg := fuzzRegs[int(o[1])%len(fuzzRegs)]
			if o[1]&0x80 != 0 {
				reg = v >> 8 % BARSize &^ 3
			}
			size := []int{1, 2, 4, 8, 3}[o[6]%5]
			switch o[0] % 8 {
			case 0:
				d.WriteMMIO(reg, 4, uint64(v))
			case 1:
				d.ReadMMIO(reg, size)
			case 2:
				d.WriteMMIO(reg+uint32(o[7]%8), size, uint64(v)|uint64(v)<<32)
			case 3:
				n := int(v % 20000)
				frame := make([]byte, n)
				copy(frame, p.mem[int(o[7])*64:])
				if v&0x10000 != 0 && n >= 6 {
					copy(frame, testMAC[:])
				}
				d.Receive(frame)
			case 4:
				clk.now += time.Duration(v%100000) * time.Nanosecond
				d.Tick()
			case 5:
				d.SetLink(v&1 != 0)
			case 6:
				if o[7]&1 == 0 {
					d.WriteIO(uint32(o[1]%16)*4, size, v)
				} else {
					d.ReadIO(uint32(o[1]%16)*4, size)
				}
			case 7:
				if v%16 == 0 {
					d.Reset()
				}
			}
		}
		s := d.Stats()
		if uint64(len(p.refusedAddrs)) != s.DMARefused {
			t.Fatalf("pool refused %d accesses, device reported %d", len(p.refusedAddrs), s.DMARefused)
		}
		if events == 0 && (s.DMARefused+s.RingErrors+s.DescErrors+s.BadAccesses) != 0 {
			t.Fatalf("problems counted but none reported: %+v", s)
		}
		if at, ok := d.NextDeadline(); ok && at < 0 {
			t.Fatalf("deadline %v", at)
		}
	})
}
