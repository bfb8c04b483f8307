package ipc

import (
	"encoding/json"
	"fmt"
	"time"

	"grailos/kernel/ring"
	"grailos/kernel/sys"
	"grailos/servers/echo/echoproto"
)

// TaskResult is what the benchmark task measures inside GrailOS and prints
// as one "RESULT {json}" line.
type TaskResult struct {
	Ring          Latency `json:"ring"`
	Endpoint      Latency `json:"endpoint_call"`
	KernelOp      Latency `json:"kernel_op"`
	BatchMsgs     int     `json:"batch_messages"`
	BatchSize     int     `json:"batch_size"`
	BatchSeconds  float64 `json:"batch_seconds"`
	BatchMsgsPerS float64 `json:"batch_messages_per_s"`
	Error         string  `json:"error,omitempty"`
}

// RunTask is the main of the benchmark task (bench/ipc/ipcbench): it
// measures against the echo server it was granted and prints the result.
func RunTask(t *sys.Task, n int) {
	r := measure(t, n)
	b, _ := json.Marshal(r)
	fmt.Printf("RESULT %s\n", b)
}

func measure(t *sys.Task, n int) (r TaskResult) {
	fail := func(err error) TaskResult { r.Error = err.Error(); return r }
	ep, err := t.Cap("echo")
	if err != nil {
		return fail(err)
	}
	c := &echoproto.Client{T: t, EP: ep, Timeout: 10 * time.Second}
	if err := c.Open(); err != nil {
		return fail(err)
	}
	msg := make([]byte, 64)
	out := make([]byte, 2048)

	samples := make([]time.Duration, 0, n)
	for i := 0; i < n+n/10; i++ {
		msg[0] = byte(i)
		st := time.Now()
		k, err := c.RoundTrip(msg, out, time.Now().Add(5*time.Second))
		d := time.Since(st)
		if err != nil {
			return fail(fmt.Errorf("ring round trip %d: %w", i, err))
		}
		if k != 64 || out[0] != msg[0] {
			return fail(fmt.Errorf("ring round trip %d: wrong answer", i))
		}
		if i >= n/10 {
			samples = append(samples, d)
		}
	}
	r.Ring = Summarize(samples)

	m := n / 4
	samples = samples[:0]
	for i := 0; i < m+m/10; i++ {
		msg[0] = byte(i)
		st := time.Now()
		got, err := c.Echo(msg)
		d := time.Since(st)
		if err != nil {
			return fail(fmt.Errorf("endpoint call %d: %w", i, err))
		}
		if len(got) != 64 || got[0] != msg[0] {
			return fail(fmt.Errorf("endpoint call %d: wrong answer", i))
		}
		if i >= m/10 {
			samples = append(samples, d)
		}
	}
	r.Endpoint = Summarize(samples)

	samples = samples[:0]
	for i := 0; i < m+m/10; i++ {
		st := time.Now()
		_, _, err := t.Inspect(ep)
		d := time.Since(st)
		if err != nil {
			return fail(fmt.Errorf("kernel op %d: %w", i, err))
		}
		if i >= m/10 {
			samples = append(samples, d)
		}
	}
	r.KernelOp = Summarize(samples)

	r.BatchSize = 64
	total := 200 * n
	st := time.Now()
	if err := batch(c.Session(), total, r.BatchSize); err != nil {
		return fail(fmt.Errorf("batched: %w", err))
	}
	r.BatchSeconds = time.Since(st).Seconds()
	r.BatchMsgs = total
	r.BatchMsgsPerS = float64(total) / r.BatchSeconds
	return r
}

// batch streams total 64-byte messages through the echo session in batches,
// keeping up to a full ring in flight, and checks every echo's sequence.
func batch(s *ring.Session, total, size int) error {
	tx, rx := s.Tx(), s.Rx()
	descs := make([]ring.Desc, size)
	sent, recvd := 0, 0
	deadline := time.Now().Add(5 * time.Minute)
	for recvd < total {
		if sent < total {
			want := min(size, total-sent)
			k, err := tx.Free.Pop(descs[:want])
			if err != nil {
				return err
			}
			for i := 0; i < k; i++ {
				b, err := tx.Buffer(ring.Desc{Offset: descs[i].Offset, Len: 64})
				if err != nil {
					return err
				}
				b[0] = byte(sent + i)
				descs[i].Len = 64
				descs[i].Cookie = uint64(sent + i)
			}
			if pushed := tx.Active.Push(descs[:k]); pushed != k {
				return fmt.Errorf("pushed %d of %d", pushed, k)
			}
			sent += k
		}
		k, err := rx.Active.Pop(descs)
		if err != nil {
			return err
		}
		for i := 0; i < k; i++ {
			if descs[i].Cookie != uint64(recvd+i) {
				return fmt.Errorf("message %d came back as %d", recvd+i, descs[i].Cookie)
			}
			descs[i].Len = uint32(echoproto.Layout.SlotSize)
		}
		rx.Free.Push(descs[:k])
		recvd += k
		if k == 0 && sent == total {
			if err := rx.Active.Wait(deadline); err != nil {
				return err
			}
		}
	}
	return nil
}
