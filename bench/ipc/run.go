package ipc

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"grailos/kernel"
)

//go:embed bench.toml
var System []byte

// Booter boots a system from a system file and returns its kernel and a
// stop function (cmd/grail provides it; tests too).
type Booter func(system []byte) (*kernel.Kernel, func() error, error)

// Result is the benchmark's output.
type Result struct {
	Ring        Latency `json:"ring_roundtrip"`
	Endpoint    Latency `json:"endpoint_call"`
	KernelOp    Latency `json:"kernel_op_roundtrip"`
	UnixSocket  Latency `json:"unix_socket_roundtrip"`
	Pipe        Latency `json:"pipe_roundtrip"`
	RingVsUnix  float64 `json:"ring_p50_over_unix_p50"`
	CallVsUnix  float64 `json:"call_p50_over_unix_p50"`
	PipeVsUnix  float64 `json:"pipe_p50_over_unix_p50"`
	BatchMsgsPS float64 `json:"ring_batched_messages_per_s"`
	BatchSize   int     `json:"ring_batch_size"`
	KernelRSS   int64   `json:"kernel_rss_bytes"`
	InitRSS     int64   `json:"init_rss_bytes"`
	IdleRSS     int64   `json:"idle_server_rss_bytes"`
	Goals       []Goal  `json:"goals"`
}

// Goal is one target of the issue and whether this run met it.
type Goal struct {
	What     string  `json:"what"`
	Target   string  `json:"target"`
	Measured float64 `json:"measured"`
	Met      bool    `json:"met"`
}

// Run runs the whole benchmark; progress goes to progress.
func Run(boot Booter, n int, progress io.Writer) (*Result, error) {
	res := &Result{}
	var err error
	fmt.Fprintf(progress, "baseline: %d Unix-socket round trips between two processes\n", n)
	if res.UnixSocket, err = baseline("unix", n); err != nil {
		return nil, err
	}
	fmt.Fprintf(progress, "baseline: %d pipe round trips between two processes\n", n)
	if res.Pipe, err = baseline("pipe", n); err != nil {
		return nil, err
	}
	fmt.Fprintf(progress, "GrailOS: booting echo, idle and ipcbench tasks; %d ring round trips, %d endpoint calls, %d batched messages\n", n, n/4, 200*n)
	k, stop, err := boot([]byte(strings.ReplaceAll(string(System), "{{N}}", fmt.Sprint(n))))
	if err != nil {
		return nil, err
	}
	defer stop()
	tr, err := waitResult(k, 5*time.Minute)
	if err != nil {
		return nil, err
	}
	if tr.Error != "" {
		return nil, fmt.Errorf("benchmark task: %s", tr.Error)
	}
	res.Ring, res.Endpoint, res.KernelOp = tr.Ring, tr.Endpoint, tr.KernelOp
	res.BatchMsgsPS, res.BatchSize = tr.BatchMsgsPerS, tr.BatchSize
	for _, t := range k.Tasks() {
		switch t.Name {
		case "kernel":
			res.KernelRSS = t.RSSBytes
		case "init":
			res.InitRSS = t.RSSBytes
		case "idle":
			res.IdleRSS = t.RSSBytes
		}
	}
	u := res.UnixSocket.P50
	res.RingVsUnix, res.CallVsUnix, res.PipeVsUnix = res.Ring.P50/u, res.Endpoint.P50/u, res.Pipe.P50/u
	mib := float64(1 << 20)
	res.Goals = []Goal{
		{"ring round trip p50 / Unix socket p50", "<= 0.5", res.RingVsUnix, res.RingVsUnix <= 0.5},
		{"batched ring messages per second", ">= 5e6", res.BatchMsgsPS, res.BatchMsgsPS >= 5e6},
		{"kernel + init resident MiB", "<= 20", float64(res.KernelRSS+res.InitRSS) / mib, res.KernelRSS+res.InitRSS <= 20<<20},
		{"idle server resident MiB", "<= 10", float64(res.IdleRSS) / mib, res.IdleRSS <= 10<<20},
	}
	return res, nil
}

func waitResult(k *kernel.Kernel, timeout time.Duration) (*TaskResult, error) {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		for _, l := range k.Logs("ipcbench") {
			if rest, ok := strings.CutPrefix(l, "RESULT "); ok {
				var tr TaskResult
				if err := json.Unmarshal([]byte(rest), &tr); err != nil {
					return nil, fmt.Errorf("benchmark task printed a bad result: %v", err)
				}
				return &tr, nil
			}
		}
		for _, t := range k.Tasks() {
			if t.Name == "ipcbench" && t.State != "ready" && t.State != "running" && t.State != "starting" {
				return nil, fmt.Errorf("benchmark task is %s; its output:\n%s", t.State, strings.Join(k.Logs("ipcbench"), "\n"))
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	return nil, fmt.Errorf("no result from the benchmark task within %v", timeout)
}

// Print writes the human-readable report.
func (r *Result) Print(w io.Writer) {
	fmt.Fprintf(w, "\n64-byte request/response round trips (µs)      p50      p99   vs unix p50\n")
	row := func(name string, l Latency, ratio float64) {
		fmt.Fprintf(w, "  %-42s %7.2f  %7.2f   %5.2fx\n", name, l.P50, l.P99, ratio)
	}
	row("GrailOS ring, spin-then-sleep (2 tasks)", r.Ring, r.RingVsUnix)
	row("GrailOS endpoint call via kernel (2 tasks)", r.Endpoint, r.CallVsUnix)
	row("kernel operation (task to kernel and back)", r.KernelOp, r.KernelOp.P50/r.UnixSocket.P50)
	row("Unix socket (2 plain processes)", r.UnixSocket, 1)
	row("pipe pair (2 plain processes)", r.Pipe, r.PipeVsUnix)
	fmt.Fprintf(w, "\nbatched ring throughput: %.2f M messages/s (batches of %d, echoed)\n", r.BatchMsgsPS/1e6, r.BatchSize)
	fmt.Fprintf(w, "resident memory: kernel %.1f MiB, init %.1f MiB, idle server %.1f MiB\n",
		float64(r.KernelRSS)/(1<<20), float64(r.InitRSS)/(1<<20), float64(r.IdleRSS)/(1<<20))
	fmt.Fprintln(w, "\ngoals:")
	for _, g := range r.Goals {
		mark := "met"
		if !g.Met {
			mark = "MISSED"
		}
		fmt.Fprintf(w, "  %-40s %-8s measured %.3g  %s\n", g.What, g.Target, g.Measured, mark)
	}
}

// JSON writes the result as JSON.
func (r *Result) JSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}
