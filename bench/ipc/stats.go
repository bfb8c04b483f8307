// Package ipc is `grail bench ipc`: 64-byte request/response round trips
// between two isolated GrailOS tasks through (a) a shared-memory ring with
// spin-then-sleep wake-up and (b) an endpoint call through the kernel, and,
// in the same run, the same exchange between two plain processes over a
// Unix socket and over a pair of pipes. It reports p50/p99 of each, the
// ratios to the Unix socket, batched ring throughput, and the resident
// memory of the kernel, init and an idle server.
package ipc

import (
	"sort"
	"time"
)

// Latency summarises round-trip samples.
type Latency struct {
	N   int     `json:"n"`
	P50 float64 `json:"p50_us"`
	P90 float64 `json:"p90_us"`
	P99 float64 `json:"p99_us"`
	Max float64 `json:"max_us"`
}

// Summarize computes percentiles of samples (sorted in place).
func Summarize(samples []time.Duration) Latency {
	if len(samples) == 0 {
		return Latency{}
	}
	sort.Slice(samples, func(i, j int) bool { return samples[i] < samples[j] })
	at := func(q float64) float64 {
		i := int(q * float64(len(samples)-1))
		return float64(samples[i]) / 1e3
	}
	return Latency{N: len(samples), P50: at(0.50), P90: at(0.90), P99: at(0.99), Max: float64(samples[len(samples)-1]) / 1e3}
}
