package rtl8139

import (
	"encoding/binary"
	"testing"
	"time"
)

// fuzzRegs are the registers the fuzzer aims at most of the time.
var fuzzRegs = []uint32{
	regIDR0, regMAR0, regMAR0 + 4, regTSD0, regTSD0 + 4, regTSD0 + 8, regTSD0 + 12,
	regTSAD0, regTSAD0 + 4, regRBSTART, regCR, regCAPR, regCBR, regIMR, regISR,
	regTCR, regRCR, regTCTR, regMPC, reg9346CR, regConfig1, regTimerInt, regMSR,
	regConfig3, regConfig4, regHltClk, regMULINT, regTSAD, regBMCR, regBMSR, regANAR,
	regCSCR, regConfig5, 0xE0,
}

const fuzzPool = 64 << 10

type nullWire struct{ n int }

func (w *nullWire) Send([]byte) error { w.n++; return nil }

// FuzzDevice drives the model with arbitrary register reads and writes
// of every size through both BARs, frames, clock steps, link flaps and
// resets. The model must not panic, must stay bounded, must keep its
// ring offsets inside the ring, and must have reported every DMA the
// pool refused.
func FuzzDevice(f *testing.F) {
	op := func(kind, reg byte, v uint32, size, extra byte) []byte {
		b := []byte{kind, reg, 0, 0, 0, 0, size, extra}
		binary.LittleEndian.PutUint32(b[2:], v)
		return b
	}
	cat := func(ops ...[]byte) []byte {
		var out []byte
		for _, o := range ops {
			out = append(out, o...)
		}
		return out
	}
	f.Add(cat(op(0, 3, 60, 2, 0)))                                     // TSD0 = 60
	f.Add(cat(op(3, 0, 0x10000|200, 0, 0), op(0, 11, 0x100, 1, 0)))    // frame, CAPR
	f.Add(cat(op(0, 10, crRST, 0, 0), op(1, 10, 0, 0, 0)))             // reset, read CR
	f.Add(cat(op(0, 9, 0xFFFF00, 2, 0), op(3, 0, 0x10000|1500, 0, 0))) // RBSTART outside
	f.Add(cat(op(0, 16, 0x1880, 2, 0), op(3, 0, 0x10000|1700, 0, 0)))  // 64K ring
	f.Add(cat(op(0, 19, 0x88, 0, 0), op(0, 19, 0x8C, 0, 0), op(1, 19, 0, 0, 0)))
	f.Add(cat(op(0, 21, 1000, 2, 0), op(4, 0, 50000, 0, 0)))

	f.Fuzz(func(t *testing.T, ops []byte) {
		p := &pool{mem: make([]byte, fuzzPool)}
		clk := &fakeClock{}
		var events int
		d, err := New(Config{MAC: testMAC, DMA: p, Wire: &nullWire{}, IRQ: &line{}, Clock: clk,
			OnEvent: func(Event) { events++ }})
		if err != nil {
			t.Fatal(err)
		}
		d.WriteMMIO(regRBSTART, 4, 0x1000)
		d.WriteMMIO(regCR, 1, crRE|crTE)
		d.WriteMMIO(regRCR, 4, rcrAB|rcrAPM|rcrWRAP)
		d.WriteMMIO(regIMR, 2, intValid)

		for len(ops) >= 8 {
			o := ops[:8]
			ops = ops[8:]
			v := binary.LittleEndian.Uint32(o[2:])
			reg := fuzzRegs[int(o[1])%len(fuzzRegs)]
			if o[1]&0x80 != 0 {
				reg = uint32(o[7])
			}
			size := []int{1, 2, 4, 3, 8}[o[6]%5]
			if o[6]&0x80 == 0 && size != 3 { // mostly aligned accesses
				reg &^= uint32(size - 1)
			}
			switch o[0] % 8 {
			case 0:
				d.WriteMMIO(reg, size, uint64(v)|uint64(v)<<32)
			case 1:
				d.ReadMMIO(reg, size)
			case 2:
				d.WriteIO(reg, size, v)
			case 3:
				n := int(v % 2000)
				fr := make([]byte, n)
				for i := range fr {
					fr[i] = o[7] + byte(i)
				}
				if v&0x10000 != 0 && n >= 6 {
					copy(fr, testMAC[:])
				}
				d.Receive(fr)
			case 4:
				clk.now += time.Duration(v%1000000) * time.Nanosecond
				d.Tick()
			case 5:
				d.SetLink(v&1 != 0)
			case 6:
				d.ReadIO(reg, size)
			case 7:
				if v%16 == 0 {
					d.Reset()
				}
			}
			d.mu.Lock()
			L := d.ringLen()
			bad := d.rxWrite >= L || d.rxWrite%4 != 0 || d.txNext >= numTxDesc
			d.mu.Unlock()
			if bad {
				t.Fatalf("ring state out of range: CBR %#x ring %#x next %d", d.rxWrite, L, d.txNext)
			}
		}
		s := d.Stats()
		if uint64(len(p.refused)) != s.DMARefused {
			t.Fatalf("pool refused %d accesses, device reported %d", len(p.refused), s.DMARefused)
		}
		if events == 0 && s.DMARefused+s.DescErrors+s.BadAccesses+s.WireErrors != 0 {
			t.Fatalf("problems counted but none reported: %+v", s)
		}
	})
}
