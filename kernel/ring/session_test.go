package ring

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestSessionBytes(t *testing.T) {
	tests := []struct {
		l    Layout
		want int
		err  string
	}{
		// header + 4 queues of 192+16·cap (rounded to 64) + 2 data areas.
		{Layout{Slots: 1, SlotSize: 1}, 64 + 4*256 + 2*64, ""},
		{Layout{Slots: 4, SlotSize: 2048}, 64 + 4*256 + 2*8192, ""},
		{Layout{Slots: 5, SlotSize: 100}, 64 + 4*320 + 2*512, ""},
		{Layout{Slots: 256, SlotSize: 2048}, 64 + 4*(192+4096) + 2*524288, ""},
		{Layout{Slots: 0, SlotSize: 64}, 0, "0 slots"},
		{Layout{Slots: 4, SlotSize: 0}, 0, "exceed"},
		{Layout{Slots: MaxCapacity + 1, SlotSize: 1}, 0, "slots"},
		{Layout{Slots: 1 << 16, SlotSize: 1<<15 + 1}, 0, "exceed"},
	}
	for _, tc := range tests {
		got, err := SessionBytes(tc.l)
		if got != tc.want || (err == nil) != (tc.err == "") || (err != nil && !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("SessionBytes(%+v) = %d, %v; want %d, %q", tc.l, got, err, tc.want, tc.err)
		}
	}
}

// newSessionPair makes side A (initialising) and side B over one area.
func newSessionPair(t testing.TB, l Layout) (a, b *Session) {
	t.Helper()
	size, err := SessionBytes(l)
	if err != nil {
		t.Fatal(err)
	}
	mem := sharedMem(t, size)
	if a, err = NewSession(mem, l, SideA, true); err != nil {
		t.Fatal(err)
	}
	if b, err = NewSession(mem, l, SideB, false); err != nil {
		t.Fatal(err)
	}
	return a, b
}

func TestNewSessionRejects(t *testing.T) {
	l := Layout{Slots: 4, SlotSize: 64}
	size, _ := SessionBytes(l)
	mem := sharedMem(t, size+64)
	fresh := sharedMem(t, size)
	if _, err := NewSession(mem, l, SideA, true); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		mem  []byte
		l    Layout
		side Side
		init bool
		want string
	}{
		{"B initialises", mem, l, SideB, true, "only side A initialises"},
		{"bad side", mem, l, Side(2), false, "invalid side Side(2)"},
		{"short", mem[:size-1], l, SideB, false, "need"},
		{"misaligned", mem[8:], l, SideB, false, "not 64-byte aligned"},
		{"bad layout", mem, Layout{}, SideB, false, "0 slots"},
		{"other slot size", mem, Layout{Slots: 4, SlotSize: 32}, SideB, false, "layout 4×64 (queue cap 4), want 4×32"},
		{"other slot count", mem, Layout{Slots: 3, SlotSize: 64}, SideB, false, "layout 4×64"},
		{"uninitialised", fresh, l, SideB, false, "not initialised"},
	}
	for _, tc := range tests {
		_, err := NewSession(tc.mem, tc.l, tc.side, tc.init)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err %v, want containing %q", tc.name, err, tc.want)
		}
	}
}

func TestSessionInitialState(t *testing.T) {
	l := Layout{Slots: 5, SlotSize: 96}
	a, b := newSessionPair(t, l)
	if a.Side() != SideA || b.Side() != SideB || a.Layout() != l || b.Tx().Layout() != l {
		t.Fatalf("sides %v %v layouts %+v %+v", a.Side(), b.Side(), a.Layout(), b.Tx().Layout())
	}
	if a.Tx() != a.tx || a.Tx().Active.tail != b.Rx().Active.tail || a.Rx().Free.tail != b.Tx().Free.tail {
		t.Fatal("A's Tx is not B's Rx")
	}
	for _, s := range []*Session{a, b} {
		// The sender owns every buffer of its Tx direction at the start.
		out := make([]Desc, 8)
		n, err := s.Tx().Free.Pop(out)
		if n != l.Slots || err != nil {
			t.Fatalf("side %v: Tx free Pop = %d, %v", s.Side(), n, err)
		}
		for i, d := range out[:n] {
			if want := (Desc{Offset: uint32(i * l.SlotSize), Len: uint32(l.SlotSize)}); d != want {
				t.Fatalf("side %v: free[%d] = %+v, want %+v", s.Side(), i, d, want)
			}
		}
		if n, err := s.Rx().Active.Pop(out); n != 0 || err != nil {
			t.Fatalf("side %v: Rx active Pop = %d, %v", s.Side(), n, err)
		}
		if f := s.Tx().Active.Free(); f != 8 {
			t.Fatalf("side %v: Tx active Free = %d, want 8", s.Side(), f)
		}
	}
}

func TestBuffer(t *testing.T) {
	l := Layout{Slots: 4, SlotSize: 100}
	a, _ := newSessionPair(t, l)
	d := a.Tx()
	tests := []struct {
		desc    Desc
		wantLen int
		wantOff int // -1: must fail
	}{
		{Desc{Offset: 0, Len: 100}, 100, 0},
		{Desc{Offset: 300, Len: 1}, 1, 300},
		{Desc{Offset: 200, Len: 0, Cookie: 1<<64 - 1}, 0, 200},
		{Desc{Offset: 1, Len: 1}, 0, -1},
		{Desc{Offset: 150, Len: 10}, 0, -1},
		{Desc{Offset: 400, Len: 0}, 0, -1},
		{Desc{Offset: 4294967200, Len: 50}, 0, -1}, // a slot boundary, far out
		{Desc{Offset: 1<<32 - 1, Len: 1}, 0, -1},
		{Desc{Offset: 0, Len: 101}, 0, -1},
		{Desc{Offset: 300, Len: 1<<32 - 1}, 0, -1},
	}
	for _, tc := range tests {
		buf, err := d.Buffer(tc.desc)
		if tc.wantOff < 0 {
			if !errors.Is(err, ErrBadDesc) || buf != nil {
				t.Errorf("Buffer(%+v) = len %d, %v; want ErrBadDesc", tc.desc, len(buf), err)
			}
			continue
		}
		if err != nil || len(buf) != tc.wantLen || cap(buf) != tc.wantLen {
			t.Errorf("Buffer(%+v) = len %d cap %d, %v; want len=cap=%d", tc.desc, len(buf), cap(buf), err, tc.wantLen)
			continue
		}
		if tc.wantLen > 0 && &buf[0] != &d.data[tc.wantOff] {
			t.Errorf("Buffer(%+v) does not start at data offset %d", tc.desc, tc.wantOff)
		}
	}
}

// TestSessionExchange runs both sides in-process, each in its own
// goroutine: A sends messages, B echoes them reversed.
func TestSessionExchange(t *testing.T) {
	const msgs = 20000
	a, b := newSessionPair(t, Layout{Slots: 8, SlotSize: 64})
	deadline := time.Now().Add(time.Minute)
	errc := make(chan error, 1)
	go func() { errc <- echo(b, deadline, reverse) }()
	if err := exchange(a, msgs, deadline, reverse); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
}

const stopCookie = 1<<64 - 1

func reverse(dst, src []byte) {
	for i := range src {
		dst[len(src)-1-i] = src[i]
	}
}

// payload is message seq's content: a length and bytes derived from seq.
func payload(seq uint64, max int) []byte {
	p := make([]byte, 1+int(mix(seq)%uint64(max)))
	for i := range p {
		p[i] = byte(mix(seq + uint64(i)))
	}
	return p
}

// echo is the B side of exchange: it returns every message transformed by
// f, until a message carries stopCookie.
func echo(s *Session, deadline time.Time, f func(dst, src []byte)) error {
	rx, tx := s.Rx(), s.Tx()
	var in, out [16]Desc
	for {
		n, err := rx.Active.Pop(in[:])
		if err != nil {
			return err
		}
		if n == 0 {
			if err := rx.Active.Wait(deadline); err != nil {
				return err
			}
			continue
		}
		for i := 0; i < n; {
			got, err := tx.Free.Pop(out[:n-i])
			if err != nil {
				return err
			}
			if got == 0 {
				if err := tx.Free.Wait(deadline); err != nil {
					return err
				}
				continue
			}
			for j := range got {
				d := in[i+j]
				if d.Cookie == stopCookie {
					return nil
				}
				src, err := rx.Buffer(d)
				if err != nil {
					return err
				}
				out[j].Len, out[j].Cookie = d.Len, d.Cookie
				dst, err := tx.Buffer(out[j])
				if err != nil {
					return err
				}
				f(dst, src)
			}
			if pushed := tx.Active.Push(out[:got]); pushed != got {
				return errors.New("echo: active queue full")
			}
			i += got
		}
		if pushed := rx.Free.Push(in[:n]); pushed != n {
			return errors.New("echo: free queue full")
		}
	}
}

// exchange is the A side: it sends msgs messages, pipelined, checks that
// each comes back as f(payload), then sends the stop message.
func exchange(s *Session, msgs int, deadline time.Time, f func(dst, src []byte)) error {
	tx, rx := s.Tx(), s.Rx()
	max := tx.Layout().SlotSize
	var sent, recv int
	var ds [16]Desc
	want := make([]byte, max)
	for recv < msgs {
		progress := false
		if sent < msgs {
			n, err := tx.Free.Pop(ds[:min(len(ds), msgs-sent)])
			if err != nil {
				return err
			}
			for i := range n {
				p := payload(uint64(sent+i), max)
				ds[i].Len, ds[i].Cookie = uint32(len(p)), uint64(sent+i)
				buf, err := tx.Buffer(ds[i])
				if err != nil {
					return err
				}
				copy(buf, p)
			}
			if pushed := tx.Active.Push(ds[:n]); pushed != n {
				return errors.New("exchange: active queue full")
			}
			sent += n
			progress = progress || n > 0
		}
		n, err := rx.Active.Pop(ds[:])
		if err != nil {
			return err
		}
		for _, d := range ds[:n] {
			if d.Cookie != uint64(recv) {
				return errors.New("exchange: reply out of order")
			}
			buf, err := rx.Buffer(d)
			if err != nil {
				return err
			}
			p := payload(d.Cookie, max)
			f(want, p)
			if string(buf) != string(want[:len(p)]) {
				return errors.New("exchange: reply corrupted")
			}
			recv++
		}
		if pushed := rx.Free.Push(ds[:n]); pushed != n {
			return errors.New("exchange: free queue full")
		}
		progress = progress || n > 0
		if !progress {
			// Outstanding messages come back on Rx; with none outstanding
			// we wait for the peer to return Tx buffers.
			wait := rx.Active.Wait
			if sent == recv {
				wait = tx.Free.Wait
			}
			if err := wait(deadline); err != nil {
				return err
			}
		}
	}
	return sendStop(s, deadline)
}

func sendStop(s *Session, deadline time.Time) error {
	tx := s.Tx()
	var d [1]Desc
	for {
		n, err := tx.Free.Pop(d[:])
		if err != nil {
			return err
		}
		if n == 1 {
			break
		}
		if err := tx.Free.Wait(deadline); err != nil {
			return err
		}
	}
	d[0].Len, d[0].Cookie = 0, stopCookie
	if tx.Active.Push(d[:]) != 1 {
		return errors.New("stop: active queue full")
	}
	return nil
}
