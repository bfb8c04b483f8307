package chanbench

import (
	"os"
	"testing"
)

func TestMain(m *testing.M) {
	MaybePeer()
	os.Exit(m.Run())
}

func TestRun(t *testing.T) {
	const n = 500
	r, err := Run(n)
	if err != nil {
		t.Fatal(err)
	}
	if r.Read.N != n || r.Socket.N != n {
		t.Errorf("samples: read %d, socket %d; want %d", r.Read.N, r.Socket.N, n)
	}
	if r.ReadsPerSec <= 0 || r.PostedPerSec <= 0 || r.SocketPerSec <= 0 {
		t.Errorf("rates %+v", r)
	}
}

// BenchmarkChannel measures, against one peer process: an MMIO read
// round trip, a posted MMIO write (b.N writes then one Sync), and the
// baseline 24-byte round trip over a SOCK_SEQPACKET Unix socket.
func BenchmarkChannel(b *testing.B) {
	p, err := Start()
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	b.Run("MMIORead", func(b *testing.B) {
		b.ReportAllocs()
		for i := range b.N {
			if _, err := p.Client.MMIORead(0, uint32(i%1024)*4, 4); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("PostedWrite", func(b *testing.B) {
		b.ReportAllocs()
		for i := range b.N {
			if err := p.Client.MMIOWrite(0, uint32(i%1024)*4, 4, uint64(i)); err != nil {
				b.Fatal(err)
			}
		}
		if err := p.Client.Sync(); err != nil {
			b.Fatal(err)
		}
	})
	b.Run("SocketBaseline", func(b *testing.B) {
		b.ReportAllocs()
		msg, got := make([]byte, 24), make([]byte, 64)
		for range b.N {
			if _, err := p.Socket.Write(msg); err != nil {
				b.Fatal(err)
			}
			if n, err := p.Socket.Read(got); err != nil || n != 24 {
				b.Fatal(n, err)
			}
		}
	})
}
