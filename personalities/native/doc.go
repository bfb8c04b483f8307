// Package native is the native personality: the Go API programs use to
// reach the network on GrailOS. Its types satisfy net.Conn (*Conn, and a
// dialed *PacketConn), net.Listener (*Listener) and net.PacketConn
// (*PacketConn) over the net server's socket session (servers/net/socket),
// so ordinary Go code — net/http clients and servers, io.Copy — runs
// unchanged:
//
//	n, err := native.Open(task)                  // the session; also the default
//	tr := &http.Transport{DialContext: n.DialContext}
//	ln, err := native.Listen("tcp", ":8080")     // then http.Serve(ln, h)
//	pc, err := native.ListenPacket("udp", ":7")
//
// Deadlines are the client's (as the contract says): a waiting request is
// cancelled when its deadline passes, and the call returns an error that
// wraps os.ErrDeadlineExceeded. Close answers waiting calls with
// net.ErrClosed. Addresses are literal: the net server has no resolver yet.
//
// Concurrency: one Read and one Write may run at once on a Conn; a Write
// keeps up to writeWindow chunks in flight.
package native
