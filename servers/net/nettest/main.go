// Command nettest is a test client of the net server, written as an
// ordinary Go program on the native personality: it downloads a URL with
// net/http and prints its size and SHA-256, makes UDP round trips over
// IPv4 and IPv6, checks a read deadline, and sends the socket session bad
// input. It prints "CHECK name outcome" lines and DONE; the system tests
// read them.
package main

import (
	"context"
	"crypto/sha256"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"time"

	"golang.org/x/sys/unix"

	"grailos/kernel/ring"
	"grailos/kernel/sys"
	"grailos/personalities/native"
	"grailos/servers/net/socket"
)

func main() {
	t, err := sys.Start()
	if err != nil {
		fmt.Fprintf(os.Stderr, "nettest: %v\n", err)
		os.Exit(1)
	}
	fs := flag.NewFlagSet("nettest", flag.ContinueOnError)
	url := fs.String("http", "", "URL to download")
	udp := fs.String("udp", "", "UDP echo server (IPv4)")
	udp6 := fs.String("udp6", "", "UDP echo server (IPv6)")
	bad := fs.Bool("bad", false, "send the socket session bad input")
	peer := fs.String("peer", "", "a TCP address to wait for before the checks (the peer's servers start after us)")
	if err := fs.Parse(t.Args); err != nil {
		os.Exit(2)
	}
	go t.Serve(context.Background())
	t.Ready()
	n, err := native.Open(t)
	if err != nil {
		fmt.Printf("CHECK open %v\n", err)
		os.Exit(1)
	}
	if *peer != "" {
		fmt.Printf("CHECK peer %s\n", outcome(await(*peer)))
	}
	if *udp != "" {
		fmt.Printf("CHECK udp %s\n", outcome(echo("udp", *udp)))
		fmt.Printf("CHECK udp-deadline %s\n", outcome(deadline(*udp)))
	}
	if *udp6 != "" {
		fmt.Printf("CHECK udp6 %s\n", outcome(echo("udp", *udp6)))
	}
	if *url != "" {
		size, sum, err := get(n, *url)
		if err != nil {
			fmt.Printf("CHECK http %v\n", err)
		} else {
			fmt.Printf("CHECK http %d %x\n", size, sum)
		}
	}
	if *bad {
		badInput(n.Client())
	}
	fmt.Println("DONE")
	select {}
}

func outcome(err error) string {
	if err != nil {
		return err.Error()
	}
	return "ok"
}

// await connects to addr until it accepts (the test starts its servers in
// the peer namespace once the system is up, so they may not be there yet).
func await(addr string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for {
		c, err := native.Dial(ctx, "tcp", addr)
		if err == nil {
			return c.Close()
		}
		if ctx.Err() != nil {
			return err
		}
		// Refused: not listening yet. Ask again shortly.
		select {
		case <-ctx.Done():
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// echo sends three datagrams to an echo server and checks the answers.
func echo(network, addr string) error {
	c, err := native.Dial(context.Background(), network, addr)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 1500)
	for i := range 3 {
		msg := fmt.Sprintf("grailos udp %d via %s", i, addr)
		if _, err := c.Write([]byte(msg)); err != nil {
			return err
		}
		k, err := c.Read(buf)
		if err != nil {
			return err
		}
		if string(buf[:k]) != msg {
			return fmt.Errorf("echo %q, want %q", buf[:k], msg)
		}
	}
	return nil
}

// deadline reads from a socket nothing answers on and expects the
// deadline to end the read.
func deadline(addr string) error {
	host, _, _ := net.SplitHostPort(addr)
	c, err := native.Dial(context.Background(), "udp", net.JoinHostPort(host, "9"))
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	_, err = c.Read(make([]byte, 100))
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		return fmt.Errorf("read past the deadline: %v", err)
	}
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		return fmt.Errorf("not a timeout: %v", err)
	}
	return nil
}

func get(n *native.Net, url string) (int64, []byte, error) {
	cl := &http.Client{Transport: &http.Transport{DialContext: n.DialContext}, Timeout: 2 * time.Minute}
	defer cl.CloseIdleConnections()
	resp, err := cl.Get(url)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return 0, nil, fmt.Errorf("status %s", resp.Status)
	}
	h := sha256.New()
	size, err := io.Copy(h, resp.Body)
	return size, h.Sum(nil), err
}

// badInput sends the socket session requests a broken or hostile client
// might and prints the status each gets.
func badInput(c *socket.Client) {
	do := func(name string, h socket.Header, payload []byte) socket.Header {
		r, _, err := c.Do(h, payload, nil, nil, make([]byte, socket.MaxPayload), nil)
		if err != nil {
			fmt.Printf("CHECK %s %v\n", name, err)
			return r
		}
		fmt.Printf("CHECK %s %s\n", name, errName(r.Status))
		return r
	}
	s := do("socket", socket.Header{Op: socket.OpSocket, Arg: socket.Stream | socket.IPv4<<8}, nil)
	do("bogus-handle", socket.Header{Op: socket.OpRecv, Handle: 0xdead, Arg: 100}, nil)
	do("bad-kind", socket.Header{Op: socket.OpSocket, Arg: 9 | 9<<8}, nil)
	do("unknown-op", socket.Header{Op: 200, Handle: s.Handle}, nil)
	do("bad-address", socket.Header{Op: socket.OpConnect, Handle: s.Handle}, make([]byte, socket.AddrSize))
	do("short-address", socket.Header{Op: socket.OpBind, Handle: s.Handle}, []byte{4, 0, 1})
	do("bad-option", socket.Header{Op: socket.OpSetOpt, Handle: s.Handle, Arg: 99 << 32}, nil)
	do("bad-backlog", socket.Header{Op: socket.OpListen, Handle: s.Handle, Arg: 1 << 40}, nil)
	do("recv-zero", socket.Header{Op: socket.OpRecv, Handle: s.Handle}, nil)
	do("recv-unconnected", socket.Header{Op: socket.OpRecv, Handle: s.Handle, Arg: 100}, nil)
	do("sendto-on-stream", socket.Header{Op: socket.OpSendTo, Handle: s.Handle}, make([]byte, 40))
	// A header whose length field disagrees with the message.
	msg := make([]byte, socket.HeaderSize+8)
	socket.Header{Op: socket.OpSend, Handle: s.Handle, Tag: 0xfffffff0, Len: 4000}.Put(msg)
	if r, _, err := c.Exchange(msg, nil, 5*time.Second); err != nil {
		fmt.Printf("CHECK length-mismatch %v\n", err)
	} else {
		fmt.Printf("CHECK length-mismatch %s\n", errName(r.Status))
	}
	do("close", socket.Header{Op: socket.OpClose, Handle: s.Handle}, nil)
	do("send-closed", socket.Header{Op: socket.OpSend, Handle: s.Handle}, []byte("x"))
	do("close-closed", socket.Header{Op: socket.OpClose, Handle: s.Handle}, nil)
	// Descriptors that name no slot: no reply is possible; counted.
	c.PushDesc(ring.Desc{Offset: 7, Len: 30})
	c.PushDesc(ring.Desc{Offset: 0, Len: 1 << 30})
	r := do("alive", socket.Header{Op: socket.OpSocket, Arg: socket.Datagram | socket.IPv6<<8}, nil)
	do("close-alive", socket.Header{Op: socket.OpClose, Handle: r.Handle}, nil)
	st, err := c.Status()
	fmt.Printf("CHECK refused %d %v\n", st.Refused, err)
}

func errName(status uint16) string {
	if status == 0 {
		return "ok"
	}
	return unix.ErrnoName(unix.Errno(status))
}
