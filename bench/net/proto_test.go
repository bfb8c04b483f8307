package net

import (
	"net"
	"testing"
)

// The workload against the peer server over loopback: every phase moves
// exactly what it says, and the request phase checks every answer.
func TestWorkloadLoopback(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Skipf("no loopback TCP: %v", err)
	}
	defer ln.Close()
	go Serve(ln)
	dial := func() (net.Conn, error) { return net.Dial("tcp", ln.Addr().String()) }
	var begun []string
	var phases []Phase
	const size = 3<<20 + 17
	err = Workload(dial, size, 50, func(n string) { begun = append(begun, n) }, func(p Phase) { phases = append(phases, p) })
	if err != nil {
		t.Fatal(err)
	}
	if len(begun) != 3 || len(phases) != 3 {
		t.Fatalf("begun %v, %d phases", begun, len(phases))
	}
	for i, want := range []string{"tcp_receive", "tcp_send", "tcp_requests"} {
		if begun[i] != want || phases[i].Name != want {
			t.Errorf("phase %d: begun %q, result %q, want %q", i, begun[i], phases[i].Name, want)
		}
	}
	if phases[0].Bytes != size || phases[1].Bytes != size || phases[2].Requests != 50 {
		t.Errorf("phases %+v", phases)
	}
	if _, err := Requests(dial, 0, 64); err == nil {
		t.Error("Requests with n = 0 accepted")
	}
}
