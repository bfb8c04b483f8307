package netserver_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"syscall"
	"testing"
	"time"

	"gvisor.dev/gvisor/pkg/tcpip/link/loopback"

	"grailos/kernel/ring"
	"grailos/kernel/shm"
	"grailos/personalities/native"
	"grailos/servers/net/netserver"
	"grailos/servers/net/socket"
)

// setup runs a stack on a loopback link (127.0.0.1/8, ::1/128) and opens
// one session on it, returned as a native personality.
func setup(t testing.TB) (*netserver.Server, *native.Net) {
	t.Helper()
	srv, err := netserver.New(loopback.New(), netserver.Config{Addrs: []netip.Prefix{
		netip.MustParsePrefix("127.0.0.1/8"), netip.MustParsePrefix("::1/128")}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stack.Close)
	return srv, open(t, srv)
}

func open(t testing.TB, srv *netserver.Server) *native.Net {
	f, err := shm.Create("socket-session", socket.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	region, err := shm.Map(f, true)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	ss, err := srv.OpenSession(region.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	c, err := socket.NewClient(region.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c.Close()
		ss.Close()
		ss.Wait()
		region.Close()
	})
	return native.New(c)
}

// net/http, unchanged, serves and fetches through the personality.
func TestHTTP(t *testing.T) {
	_, n := setup(t)
	blob := bytes.Repeat([]byte("grailos netstack "), 200000) // 3.4 MB
	ln, err := n.Listen("tcp", "127.0.0.1:8080")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(blob) })}
	go hs.Serve(ln)
	defer hs.Close()
	cl := &http.Client{Transport: &http.Transport{DialContext: n.DialContext}}
	defer cl.CloseIdleConnections()
	for _, url := range []string{"http://127.0.0.1:8080/", "http://[::1]:8080/"} {
		if url == "http://[::1]:8080/" {
			// A second listener on IPv6.
			ln6, err := n.Listen("tcp6", "[::1]:8080")
			if err != nil {
				t.Fatal(err)
			}
			go hs.Serve(ln6)
		}
		resp, err := cl.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		h := sha256.New()
		size, err := io.Copy(h, resp.Body)
		resp.Body.Close()
		if want := sha256.Sum256(blob); err != nil || size != int64(len(blob)) || !bytes.Equal(h.Sum(nil), want[:]) {
			t.Errorf("%s: %d bytes, %v", url, size, err)
		}
	}
}

func TestUDPAndDeadlines(t *testing.T) {
	_, n := setup(t)
	pc, err := n.ListenPacket("udp", "127.0.0.1:7007")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	c, err := n.DialContext(context.Background(), "udp", "127.0.0.1:7007")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write([]byte("ping")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 100)
	k, from, err := pc.ReadFrom(buf)
	if err != nil || string(buf[:k]) != "ping" || from.String() != c.LocalAddr().String() {
		t.Fatalf("ReadFrom: %q from %v (%v), want ping from %v", buf[:k], from, err, c.LocalAddr())
	}
	if _, err := pc.WriteTo([]byte("pong"), from); err != nil {
		t.Fatal(err)
	}
	if k, err := c.Read(buf); err != nil || string(buf[:k]) != "pong" {
		t.Fatalf("Read: %q, %v", buf[:k], err)
	}
	// A read deadline ends a waiting read; a later one is ignored.
	pc.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	if _, _, err := pc.ReadFrom(buf); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("read past the deadline: %v", err)
	}
	pc.SetReadDeadline(time.Time{})
	// Close ends a waiting read with net.ErrClosed.
	errc := make(chan error, 1)
	go func() { _, _, err := pc.ReadFrom(buf); errc <- err }()
	// The read is in flight when its socket closes, or it starts after
	// and sees the closed socket: either way the outcome is ErrClosed.
	pc.Close()
	if err := <-errc; !errors.Is(err, net.ErrClosed) {
		t.Errorf("read on a closed socket: %v", err)
	}
}

func TestConnRefusedAndEOF(t *testing.T) {
	_, n := setup(t)
	if _, err := n.DialContext(context.Background(), "tcp", "127.0.0.1:1"); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("dial a closed port: %v", err)
	}
	ln, err := n.Listen("tcp", "127.0.0.1:9000")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		c.Write([]byte("bye"))
		c.Close()
	}()
	c, err := n.DialContext(context.Background(), "tcp", "127.0.0.1:9000")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	got, err := io.ReadAll(c)
	if err != nil || string(got) != "bye" {
		t.Errorf("ReadAll: %q, %v", got, err)
	}
}

// Requests a hostile client might send are answered with errors.
func TestBadRequests(t *testing.T) {
	_, n := setup(t)
	c := n.Client()
	do := func(h socket.Header, payload []byte) socket.Header {
		r, _, err := c.Do(h, payload, nil, nil, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	s := do(socket.Header{Op: socket.OpSocket, Arg: socket.Stream | socket.IPv4<<8}, nil)
	for _, tc := range []struct {
		name string
		h    socket.Header
		p    []byte
		want syscall.Errno
	}{
		{"bogus handle", socket.Header{Op: socket.OpRecv, Handle: 0xdead, Arg: 1}, nil, syscall.EBADF},
		{"bad kind", socket.Header{Op: socket.OpSocket, Arg: 3 | 4<<8}, nil, syscall.EINVAL},
		{"unknown op", socket.Header{Op: 99, Handle: s.Handle}, nil, syscall.EINVAL},
		{"bad address", socket.Header{Op: socket.OpConnect, Handle: s.Handle}, make([]byte, socket.AddrSize), syscall.EINVAL},
		{"v6 address on a v4 socket", socket.Header{Op: socket.OpBind, Handle: s.Handle}, addr("[2001:db8::1]:1"), syscall.EAFNOSUPPORT},
		{"unknown option", socket.Header{Op: socket.OpSetOpt, Handle: s.Handle, Arg: 77 << 32}, nil, syscall.ENOPROTOOPT},
		{"backlog 0", socket.Header{Op: socket.OpListen, Handle: s.Handle}, nil, syscall.EINVAL},
		{"recv 0 bytes", socket.Header{Op: socket.OpRecv, Handle: s.Handle}, nil, syscall.EINVAL},
		{"shutdown 4", socket.Header{Op: socket.OpShutdown, Handle: s.Handle, Arg: 4}, nil, syscall.EINVAL},
		{"accept unlistened", socket.Header{Op: socket.OpAccept, Handle: s.Handle}, nil, syscall.EINVAL},
		{"close", socket.Header{Op: socket.OpClose, Handle: s.Handle}, nil, 0},
		{"send closed", socket.Header{Op: socket.OpSend, Handle: s.Handle}, []byte("x"), syscall.EBADF},
	} {
		if r := do(tc.h, tc.p); syscall.Errno(r.Status) != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, syscall.Errno(r.Status), tc.want)
		}
	}
	msg := make([]byte, socket.HeaderSize)
	socket.Header{Op: socket.OpSocket, Tag: 0xfff0, Len: 1}.Put(msg)
	if r, _, err := c.Exchange(msg, nil, 5*time.Second); err != nil || syscall.Errno(r.Status) != syscall.EINVAL {
		t.Errorf("length mismatch: %v, %v", syscall.Errno(r.Status), err)
	}
	c.PushDesc(ring.Desc{Offset: 3, Len: 10})
	if r := do(socket.Header{Op: socket.OpSocket, Arg: socket.Datagram | socket.IPv6<<8}, nil); r.Status != 0 {
		t.Errorf("after a bogus descriptor: %v", syscall.Errno(r.Status))
	}
	if st, err := c.Status(); err != nil || st.Refused != 1 || st.Sockets != 1 {
		t.Errorf("status %+v, %v; want 1 refused, 1 socket", st, err)
	}
}

func addr(s string) []byte {
	b := make([]byte, socket.AddrSize)
	socket.PutAddr(b, netip.MustParseAddrPort(s))
	return b
}

// Whatever a client writes into a request, the server survives and keeps
// serving.
func FuzzRequest(f *testing.F) {
	msg := make([]byte, socket.HeaderSize+socket.AddrSize)
	socket.Header{Op: socket.OpBind, Handle: 1, Tag: 1, Len: socket.AddrSize}.Put(msg)
	copy(msg[socket.HeaderSize:], addr("127.0.0.1:80"))
	f.Add(msg)
	f.Add([]byte{socket.OpSocket, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 4})
	_, n := setup(f)
	c := n.Client()
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) < socket.HeaderSize || len(b) > socket.Layout.SlotSize {
			return
		}
		b[8], b[9], b[10], b[11] = 0xf0, 0xff, 0xff, 0xff // our tag, so the reply finds us
		if b[0] == socket.OpCancel || b[0] == socket.OpAccept || b[0] == socket.OpRecv || b[0] == socket.OpConnect {
			b[0] = socket.OpAddr // those may wait (or not answer) by design
		}
		c.Exchange(b, nil, 5*time.Second)
		r, _, err := c.Do(socket.Header{Op: socket.OpAddr, Handle: 0xffff0000}, nil, nil, nil, nil, nil)
		if err != nil || syscall.Errno(r.Status) != syscall.EBADF {
			t.Fatalf("server stopped serving: %v %v", err, r.Status)
		}
	})
}
