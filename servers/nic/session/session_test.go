package session

import (
	"bytes"
	"testing"
	"time"

	"grailos/kernel/ring"
	"grailos/kernel/shm"
)

func pair(t *testing.T) (*Server, *Client) {
	t.Helper()
	f, err := shm.Create("nic-test", Bytes())
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	a, err := shm.Map(f, true)
	if err != nil {
		t.Fatal(err)
	}
	b, err := shm.Map(f, true)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close(); b.Close() })
	s, err := NewServer(a.Bytes(), [6]byte{0x52, 0x54, 0, 0x12, 0x34, 0x56}, 1500)
	if err != nil {
		t.Fatal(err)
	}
	c, err := NewClient(b.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	return s, c
}

func frame(n int, tag byte) []byte {
	f := make([]byte, n)
	for i := range f {
		f[i] = tag + byte(i)
	}
	return f
}

func TestFramesBothWays(t *testing.T) {
	s, c := pair(t)
	deadline := time.Now().Add(time.Second)
	for i := 0; i < 1000; i++ { // several laps of the rings
		out := frame(60+i%1400, byte(i))
		if err := c.Send(out, deadline); err != nil {
			t.Fatal(err)
		}
		var got []byte
		n, err := s.Pending(8, func(f []byte) { got = append([]byte(nil), f...) })
		if err != nil || n != 1 || !bytes.Equal(got, out) {
			t.Fatalf("frame %d: pending %d %v, equal %v", i, n, err, bytes.Equal(got, out))
		}
		in := frame(64+i%1000, byte(i+7))
		if ok, err := s.Deliver(in); !ok || err != nil {
			t.Fatalf("deliver %d: %v %v", i, ok, err)
		}
		buf := make([]byte, 2048)
		m, err := c.Recv(buf, deadline)
		if err != nil || !bytes.Equal(buf[:m], in) {
			t.Fatalf("recv %d: %v", i, err)
		}
	}
}

func TestStatus(t *testing.T) {
	s, c := pair(t)
	st, err := c.Status()
	if err != nil || st.Link || st.LinkGen != 0 || st.MTU != 1500 || st.MAC != [6]byte{0x52, 0x54, 0, 0x12, 0x34, 0x56} {
		t.Fatalf("status %+v %v", st, err)
	}
	s.SetLink(true)
	s.SetLink(true)
	s.SetLink(false)
	s.SetLink(true)
	st, _ = c.Status()
	if !st.Link || st.LinkGen != 3 {
		t.Fatalf("after flaps: %+v", st)
	}
}

// Bad descriptors and lengths from the client are refused and counted.
func TestServerRefusesBadFrames(t *testing.T) {
	s, c := pair(t)
	if err := c.Send(make([]byte, 10), time.Now()); err == nil {
		t.Error("client sent a 10-byte frame")
	}
	c.SendRaw(ring.Desc{Offset: 3, Len: 64})                                      // not a slot
	c.SendRaw(ring.Desc{Offset: 0, Len: 9})                                       // runt
	c.SendRaw(ring.Desc{Offset: 0, Len: 4000})                                    // longer than a slot
	c.SendRaw(ring.Desc{Offset: uint32(Layout.Slots * Layout.SlotSize), Len: 64}) // past the data area
	n, err := s.Pending(8, func([]byte) { t.Error("a bad frame reached the wire") })
	if err != nil || n != 0 {
		t.Fatalf("pending: %d %v", n, err)
	}
	if st := s.Status(); st.Refused != 4 {
		t.Fatalf("refused %d, want 4", st.Refused)
	}
}

func TestDeliverDropsWhenClientFull(t *testing.T) {
	s, _ := pair(t)
	for i := 0; i < Layout.Slots; i++ {
		if ok, err := s.Deliver(frame(60, 1)); !ok || err != nil {
			t.Fatalf("deliver %d: %v %v", i, ok, err)
		}
	}
	if ok, _ := s.Deliver(frame(60, 1)); ok {
		t.Fatal("delivered with no free buffer")
	}
	if st := s.Status(); st.Dropped != 1 {
		t.Fatalf("dropped %d, want 1", st.Dropped)
	}
}

func FuzzServerPending(f *testing.F) {
	f.Add(uint32(0), uint32(60), uint64(1))
	f.Fuzz(func(t *testing.T, off, n uint32, cookie uint64) {
		s, c := pair(t)
		c.SendRaw(ring.Desc{Offset: off, Len: n, Cookie: cookie})
		s.Pending(8, func(fr []byte) {
			if len(fr) < 14 || len(fr) > MaxFrame {
				t.Fatalf("frame of %d bytes passed", len(fr))
			}
		})
	})
}

// OpRxMode requests: exactly one flags byte of known flags.
func TestParseRxMode(t *testing.T) {
	for _, c := range []struct {
		in                []byte
		promisc, allmulti bool
		ok                bool
	}{
		{[]byte{OpRxMode, 0}, false, false, true},
		{[]byte{OpRxMode, RxPromisc}, true, false, true},
		{[]byte{OpRxMode, RxAllMulti}, false, true, true},
		{[]byte{OpRxMode, RxPromisc | RxAllMulti}, true, true, true},
		{[]byte{OpRxMode, 4}, false, false, false},
		{[]byte{OpRxMode}, false, false, false},
		{[]byte{OpRxMode, 0, 0}, false, false, false},
		{[]byte{OpOpen, 0}, false, false, false},
	} {
		p, a, err := ParseRxMode(c.in)
		if (err == nil) != c.ok || p != c.promisc || a != c.allmulti {
			t.Errorf("ParseRxMode(%v) = %v, %v, %v", c.in, p, a, err)
		}
	}
}
