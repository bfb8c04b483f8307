package nic

import (
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
	"strings"
	"time"

	"grailos/arch/machine/devchan/chanbench"
	"grailos/kernel"
)

// System is the system `grail bench nic` boots.
const System = `name = "bench-nic"
[supervisor]
intensity = 0
heartbeat = "0s"
[[server]]
name = "e1000"
binary = "nic-e1000"
role = "driver"
args = ["-virtual-time"]
devices = ["nic0"]
provides = ["nic"]
[server.limits]
memory = "64MiB"
[[server]]
name = "nicbench"
uses = ["nic"]
args = ["-n", "{{N}}", "-m", "{{M}}"]
[server.limits]
memory = "64MiB"
`

// Booter boots a system file and returns the kernel, the pid of the
// machine process, and a stop function.
type Booter func(system []byte) (*kernel.Kernel, int, func() error, error)

// Report is the whole benchmark's output.
type Report struct {
	GrailOS        Result           `json:"grailos"`
	Veth           Result           `json:"linux_veth"`
	FramesRatio    float64          `json:"frames_per_s_grailos_over_veth"`
	RTTRatio       float64          `json:"rtt_p50_grailos_over_veth"`
	MMIO           chanbench.Result `json:"mmio"`
	DriverRSS      int64            `json:"driver_server_rss_bytes"`
	MachineRSS     int64            `json:"machine_rss_bytes"`
	DriverPoolNote string           `json:"driver_rss_note"`
}

// RunAll runs the benchmark.
func RunAll(boot Booter, rss func(pid int) (int64, error), n, m int, progress io.Writer) (*Report, error) {
	rep := &Report{DriverPoolNote: "resident memory includes the touched pages of the shared DMA pool and session memory"}
	fmt.Fprintf(progress, "baseline: veth pair to a Linux namespace: %d echo round trips, a flood of %d echoes (window 32)\n", n, m)
	v, err := NewVeth("n", netip.MustParsePrefix("198.51.100.1/24"))
	if err != nil {
		return nil, fmt.Errorf("veth baseline: %w", err)
	}
	f := Flow{MAC: v.MAC, Addr: netip.MustParseAddr("198.51.100.2"), Peer: netip.MustParseAddr("198.51.100.1")}
	if err := Resolve(v, &f); err != nil {
		v.Close()
		return nil, err
	}
	rep.Veth, err = Run(v, f, n, m, 32)
	v.Close()
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(progress, "MMIO over the device channel: two processes\n")
	if rep.MMIO, err = chanbench.Run(200000); err != nil {
		return nil, err
	}
	fmt.Fprintf(progress, "GrailOS: nicbench → NIC session → e1000 server (Linux driver) → machine → TAP → Linux namespace\n")
	sys := strings.NewReplacer("{{N}}", fmt.Sprint(n), "{{M}}", fmt.Sprint(m)).Replace(System)
	k, machinePid, stop, err := boot([]byte(sys))
	if err != nil {
		return nil, err
	}
	defer stop()
	deadline := time.Now().Add(5 * time.Minute)
	var line string
	for line == "" && time.Now().Before(deadline) {
		for _, l := range k.Logs("nicbench") {
			if rest, ok := strings.CutPrefix(l, "RESULT "); ok {
				line = rest
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	if line == "" {
		return nil, fmt.Errorf("no result from nicbench; its output: %v", k.Logs("nicbench"))
	}
	var r struct {
		Result
		Error string `json:"error"`
	}
	if err := json.Unmarshal([]byte(line), &r); err != nil {
		return nil, err
	}
	if r.Error != "" {
		return nil, fmt.Errorf("nicbench: %s", r.Error)
	}
	rep.GrailOS = r.Result
	for _, t := range k.Tasks() {
		if t.Name == "e1000" {
			rep.DriverRSS = t.RSSBytes
		}
	}
	rep.MachineRSS, _ = rss(machinePid)
	rep.FramesRatio = rep.GrailOS.FramesPerSec / rep.Veth.FramesPerSec
	rep.RTTRatio = rep.GrailOS.RTT.P50 / rep.Veth.RTT.P50
	return rep, nil
}

// Print writes the report for people.
func (r *Report) Print(w io.Writer) {
	fmt.Fprintf(w, "\nICMP echo to a Linux stack                 RTT p50    p99      flood frames/s   lost\n")
	row := func(name string, x Result) {
		fmt.Fprintf(w, "  %-40s %7.1fµs %7.1fµs %12.0f      %d\n", name, x.RTT.P50, x.RTT.P99, x.FramesPerSec, x.Lost)
	}
	row("GrailOS: session → e1000 driver → machine", r.GrailOS)
	row("Linux: raw socket on a veth pair", r.Veth)
	fmt.Fprintf(w, "  ratios GrailOS/Linux: frames/s %.2f×, RTT p50 %.2f×\n", r.FramesRatio, r.RTTRatio)
	fmt.Fprintf(w, "\ndevice channel (driver ↔ machine, two processes):\n")
	r.MMIO.Print(w)
	fmt.Fprintf(w, "\nresident memory: e1000 driver server %.1f MiB (goal ≤ 24 besides its pool), machine %.1f MiB (goal ≤ 16)\n",
		float64(r.DriverRSS)/(1<<20), float64(r.MachineRSS)/(1<<20))
}
