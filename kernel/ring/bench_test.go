package ring

import (
	"strconv"
	"testing"
	"time"
)

// BenchmarkPingPong measures one round trip between two goroutines: a
// single Desc out on one queue and back on another, each side blocking in
// Wait (spin, then futex) between messages.
func BenchmarkPingPong(b *testing.B) {
	ping, pingPeer := newQueue[Desc](b, 64)
	pong, pongPeer := newQueue[Desc](b, 64)
	done := make(chan error, 1)
	go func() {
		var d [1]Desc
		for {
			if err := pingPeer.Wait(time.Time{}); err != nil {
				done <- err
				return
			}
			if n, _ := pingPeer.Pop(d[:]); n == 1 {
				pongPeer.Push(d[:])
				if d[0].Cookie == stopCookie {
					done <- nil
					return
				}
			}
		}
	}()
	b.ReportAllocs()
	var d [1]Desc
	b.ResetTimer()
	for i := range b.N {
		d[0].Cookie = uint64(i)
		ping.Push(d[:])
		for {
			if err := pong.Wait(time.Time{}); err != nil {
				b.Fatal(err)
			}
			if n, _ := pong.Pop(d[:]); n == 1 {
				break
			}
		}
		if d[0].Cookie != uint64(i) {
			b.Fatalf("got cookie %d, want %d", d[0].Cookie, i)
		}
	}
	b.StopTimer()
	d[0].Cookie = stopCookie
	ping.Push(d[:])
	if err := <-done; err != nil {
		b.Fatal(err)
	}
}

// BenchmarkThroughput streams b.N descriptors from a producer goroutine to
// the benchmark goroutine in batches of the given size through a queue of
// 256 entries.
func BenchmarkThroughput(b *testing.B) {
	for _, batch := range []int{1, 16, 64} {
		b.Run("batch="+strconv.Itoa(batch), func(b *testing.B) {
			prod, cons := newQueue[Desc](b, 256)
			go func() {
				buf := make([]Desc, batch)
				for sent := 0; sent < b.N; {
					k := min(batch, b.N-sent)
					for i := range k {
						buf[i].Cookie = uint64(sent + i)
					}
					for off := 0; off < k; {
						n := prod.Push(buf[off:k])
						if n == 0 && prod.WaitSpace(time.Time{}) != nil {
							return
						}
						off += n
					}
					sent += k
				}
			}()
			b.ReportAllocs()
			out := make([]Desc, batch)
			b.ResetTimer()
			for got := 0; got < b.N; {
				n, err := cons.Pop(out)
				if err != nil {
					b.Fatal(err)
				}
				if n == 0 {
					if err := cons.Wait(time.Time{}); err != nil {
						b.Fatal(err)
					}
					continue
				}
				if out[n-1].Cookie != uint64(got+n-1) {
					b.Fatalf("got cookie %d, want %d", out[n-1].Cookie, got+n-1)
				}
				got += n
			}
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "items/s")
		})
	}
}

// BenchmarkSessionPingPongProcess measures one message round trip through
// a session to a child process that echoes it: the cross-process cost
// including futex sleeps and wake-ups when a side outwaits its spin.
func BenchmarkSessionPingPongProcess(b *testing.B) {
	s, cmd := startHelper(b, "echo")
	tx, rx := s.Tx(), s.Rx()
	var d [1]Desc
	deadline := time.Now().Add(time.Hour)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		for {
			n, err := tx.Free.Pop(d[:])
			if err != nil {
				b.Fatal(err)
			}
			if n == 1 {
				break
			}
			if err := tx.Free.Wait(deadline); err != nil {
				b.Fatal(err)
			}
		}
		d[0].Len, d[0].Cookie = 64, uint64(i)
		tx.Active.Push(d[:])
		for {
			if err := rx.Active.Wait(deadline); err != nil {
				b.Fatal(err)
			}
			if n, _ := rx.Active.Pop(d[:]); n == 1 {
				break
			}
		}
		if d[0].Cookie != uint64(i) {
			b.Fatalf("got cookie %d, want %d", d[0].Cookie, i)
		}
		rx.Free.Push(d[:])
	}
	b.StopTimer()
	if err := sendStop(s, deadline); err != nil {
		b.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		b.Fatal(err)
	}
}
