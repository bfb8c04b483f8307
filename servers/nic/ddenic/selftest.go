//go:build dde

package ddenic

import (
	"bytes"
	"fmt"
	"time"

	dde "grailos/dde/linux"
)

// Recorder is a dde.NetHost and a hw.Wire that keep what they are given:
// the frames the driver hands up and the carrier changes, the frames the
// model puts on the wire, the transmit wake-ups.
type Recorder struct {
	Up      [][]byte // frames the driver handed up
	Carrier []bool   // carrier changes, in order
	TxReady int      // transmit queue wake-ups
	// TxTimeouts are the queues the transmit watchdog found stalled.
	TxTimeouts []int
	Wire       [][]byte // frames the device transmitted
}

// Receive records a frame handed up (dde.NetHost.Receive).
func (r *Recorder) Receive(f []byte) { r.Up = append(r.Up, f) }

// carrier records a carrier change (dde.NetHost.Carrier, via Host).
func (r *Recorder) carrier(up bool) { r.Carrier = append(r.Carrier, up) }

// Send implements hw.Wire.Send.
func (r *Recorder) Send(f []byte) error { r.Wire = append(r.Wire, bytes.Clone(f)); return nil }

// CarrierUp reports whether the last carrier change was up.
func (r *Recorder) CarrierUp() bool { return len(r.Carrier) > 0 && r.Carrier[len(r.Carrier)-1] }

// Host returns r as a dde.NetHost (with TxWaker and TxTimeouter).
func (r *Recorder) Host() dde.NetHost { return recorderHost{r} }

type recorderHost struct{ r *Recorder }

func (h recorderHost) Receive(f []byte) { h.r.Receive(f) }
func (h recorderHost) Carrier(up bool)  { h.r.carrier(up) }
func (h recorderHost) TxReady()         { h.r.TxReady++ }
func (h recorderHost) TxTimeout(q int)  { h.r.TxTimeouts = append(h.r.TxTimeouts, q) }

// Selftest runs the driver against the in-process model: probe, open,
// the clock moved until the link is up, one ARP request out and its
// reply in. Driver lines go to log.
func Selftest(p Port, virtual bool, log func(string)) error {
	const poolBus = 0x40000000 // below 4 GiB: some drivers set a 32-bit DMA mask
	mac := [6]byte{0x52, 0x54, 0x00, 0x12, 0x34, 0x56}
	pool, err := dde.NewPool(8 << 20)
	if err != nil {
		return err
	}
	defer dde.FreePool(pool)
	rec := &Recorder{}
	m, err := NewMachine(p.Model, mac, pool, poolBus, rec)
	if err != nil {
		return err
	}
	rt, err := dde.New(dde.Config{Device: m, Module: p.Module, Pool: pool, PoolBus: poolBus, VirtualTime: virtual,
		Log: log, Net: rec.Host()})
	if err != nil {
		return err
	}
	m.SetIRQ(rt.IRQ)
	if err := rt.Start(); err != nil {
		return err
	}
	if err := rt.Open(); err != nil {
		return err
	}
	for i := 0; i < 100 && !rec.CarrierUp(); i++ {
		at, ok := rt.NextDeadline()
		if !ok {
			break
		}
		if !virtual {
			time.Sleep(at - rt.Elapsed())
		}
		rt.RunPending(at)
	}
	request := ARP(1, mac, [6]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, [4]byte{192, 0, 2, 2}, [4]byte{192, 0, 2, 1})
	if err := rt.Xmit(request); err != nil {
		return err
	}
	peer := [6]byte{0x02, 0, 0, 0, 0, 1}
	m.Model().Receive(ARP(2, peer, mac, [4]byte{192, 0, 2, 1}, [4]byte{192, 0, 2, 2}))
	rt.RunPending(rt.Now())
	st := rt.Stats()
	log(fmt.Sprintf("selftest: carrier %v, %d frame(s) on the wire, %d received, clock %v, %d of %d pool pages used",
		rec.Carrier, len(rec.Wire), len(rec.Up), st.Now, st.PoolPagesUsed, st.PoolPages))
	if err := rt.Stop(); err != nil {
		return err
	}
	if len(rec.Wire) != 1 || len(rec.Up) != 1 || !rec.CarrierUp() {
		return fmt.Errorf("selftest failed")
	}
	return nil
}

// ARP builds an ARP frame (op 1 request, 2 reply) of Ethernet's minimum
// 60 bytes: from src to dst, sender IP sip, target IP tip.
func ARP(op byte, src, dst [6]byte, sip, tip [4]byte) []byte {
	f := make([]byte, 60)
	copy(f, dst[:])
	copy(f[6:], src[:])
	copy(f[12:], []byte{0x08, 0x06, 0, 1, 0x08, 0x00, 6, 4, 0, op})
	copy(f[22:], src[:])
	copy(f[28:], sip[:])
	if op == 2 {
		copy(f[32:], dst[:])
	}
	copy(f[38:], tip[:])
	return f
}
