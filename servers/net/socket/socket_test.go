package socket

import (
	"errors"
	"net/netip"
	"testing"
)

func TestHeaderRoundTrip(t *testing.T) {
	h := Header{Op: OpSend, Flags: 0, Status: 104, Handle: 0xdeadbeef, Tag: 7, Len: 3, Arg: 1 << 40}
	msg := make([]byte, HeaderSize+3)
	h.Put(msg)
	got, err := DecodeHeader(msg)
	if err != nil || got != h {
		t.Fatalf("DecodeHeader = %+v, %v; want %+v", got, err, h)
	}
}

func TestDecodeHeaderErrors(t *testing.T) {
	msg := make([]byte, HeaderSize+8)
	Header{Op: OpSend, Tag: 9, Len: 4000}.Put(msg)
	for _, c := range []struct {
		name string
		msg  []byte
		want error
		tag  uint32
	}{
		{"empty", nil, ErrShort, 0},
		{"short", msg[:HeaderSize-1], ErrShort, 0},
		{"len too big", msg, ErrLength, 9},
		{"len too small", append(msg, make([]byte, 5000)...), ErrLength, 9},
	} {
		h, err := DecodeHeader(c.msg)
		if !errors.Is(err, c.want) || h.Tag != c.tag {
			t.Errorf("%s: tag %d, %v; want tag %d, %v", c.name, h.Tag, err, c.tag, c.want)
		}
	}
	// A len field near 2^32 must not wrap.
	Header{Len: 0xffffffff - HeaderSize + 1 + 8}.Put(msg)
	if _, err := DecodeHeader(msg); !errors.Is(err, ErrLength) {
		t.Errorf("wrapping len: %v", err)
	}
}

func TestAddr(t *testing.T) {
	for _, s := range []string{"192.0.2.1:80", "[2001:db8::1]:7007", "0.0.0.0:0", "[::]:65535"} {
		a := netip.MustParseAddrPort(s)
		b := make([]byte, AddrSize)
		PutAddr(b, a)
		got, err := DecodeAddr(b)
		if err != nil || got != a {
			t.Errorf("%s: %v, %v", s, got, err)
		}
	}
	// v4-mapped is sent as IPv4.
	b := make([]byte, AddrSize)
	PutAddr(b, netip.MustParseAddrPort("[::ffff:192.0.2.1]:1"))
	if got, _ := DecodeAddr(b); got != netip.MustParseAddrPort("192.0.2.1:1") {
		t.Errorf("v4-mapped: %v", got)
	}
	bad := func(mod func(b []byte)) []byte {
		b := make([]byte, AddrSize)
		PutAddr(b, netip.MustParseAddrPort("192.0.2.1:80"))
		mod(b)
		return b
	}
	for name, b := range map[string][]byte{
		"short":       make([]byte, AddrSize-1),
		"family 0":    bad(func(b []byte) { b[0] = 0 }),
		"family 9":    bad(func(b []byte) { b[0] = 9 }),
		"pad":         bad(func(b []byte) { b[1] = 1 }),
		"v4 trailing": bad(func(b []byte) { b[19] = 1 }),
	} {
		if _, err := DecodeAddr(b); !errors.Is(err, ErrAddress) {
			t.Errorf("%s: %v, want ErrAddress", name, err)
		}
	}
}

func TestDecodeSocketArg(t *testing.T) {
	for _, c := range []struct {
		arg          uint64
		kind, family int
		ok           bool
	}{
		{Stream | IPv4<<8, Stream, IPv4, true},
		{Datagram | IPv6<<8, Datagram, IPv6, true},
		{3 | IPv4<<8, 0, 0, false},
		{Stream | 5<<8, 0, 0, false},
		{Stream | IPv4<<8 | 1<<20, 0, 0, false},
	} {
		k, f, err := DecodeSocketArg(c.arg)
		if (err == nil) != c.ok || k != c.kind || f != c.family {
			t.Errorf("%#x: %d %d %v", c.arg, k, f, err)
		}
	}
}

func FuzzDecodeHeader(f *testing.F) {
	msg := make([]byte, HeaderSize+4)
	Header{Op: OpSend, Len: 4}.Put(msg)
	f.Add(msg)
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := DecodeHeader(b)
		if err != nil {
			return
		}
		if int(h.Len)+HeaderSize != len(b) {
			t.Fatalf("accepted len %d for %d bytes", h.Len, len(b))
		}
		out := make([]byte, len(b))
		h.Put(out)
		if string(out[:HeaderSize]) != string(b[:HeaderSize]) {
			t.Fatalf("round trip differs")
		}
	})
}

func FuzzDecodeAddr(f *testing.F) {
	b := make([]byte, AddrSize)
	PutAddr(b, netip.MustParseAddrPort("192.0.2.1:80"))
	f.Add(b)
	f.Fuzz(func(t *testing.T, b []byte) {
		a, err := DecodeAddr(b)
		if err != nil {
			return
		}
		out := make([]byte, AddrSize)
		PutAddr(out, a)
		if a.Addr().Is4In6() || string(out) != string(b[:AddrSize]) {
			t.Fatalf("%x decodes to %v, which encodes to %x", b[:AddrSize], a, out)
		}
	})
}

func FuzzDecodeSocketArg(f *testing.F) {
	f.Add(uint64(Stream | IPv4<<8))
	f.Fuzz(func(t *testing.T, arg uint64) {
		k, fam, err := DecodeSocketArg(arg)
		if err == nil && uint64(k|fam<<8) != arg {
			t.Fatalf("%#x accepted as %d/%d", arg, k, fam)
		}
	})
}
