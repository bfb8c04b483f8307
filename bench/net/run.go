package net

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"grailos/arch/machine/wire"
	"grailos/kernel"
)

// System is the system `grail bench net` boots: the e1000 driver server,
// the net server and the benchmark client.
const System = `name = "bench-net"
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
name = "net"
uses = ["nic"]
provides = ["net"]
args = ["-addr", "192.0.2.2/24", "-gw", "192.0.2.1"]
[server.limits]
memory = "128MiB"
[[server]]
name = "netbench"
uses = ["net"]
args = ["-peer", "192.0.2.1:5001", "-size", "{{SIZE}}", "-requests", "{{REQ}}"]
[server.limits]
memory = "64MiB"
`

// Booted is what the harness needs of a booted system.
type Booted struct {
	Kernel     *kernel.Kernel
	MachinePid int
	PeerNetns  string // the namespace at the other end of nic0's wire
	Stop       func() error
}

// Booter boots a system file.
type Booter func(system []byte) (*Booted, error)

// Report is the benchmark's output.
type Report struct {
	GrailOS []Phase `json:"grailos"`
	Linux   []Phase `json:"linux_veth"`
	// Ratios GrailOS/Linux: throughput and request rate (higher is
	// better, goal ≥ 0.9 for throughput) and CPU per GiB (lower is better).
	Ratios       map[string]float64 `json:"ratios_grailos_over_linux"`
	NetServerRSS int64              `json:"net_server_peak_rss_bytes"`
	Notes        []string           `json:"notes"`
}

// Options of a run.
type Options struct {
	Size      int64 // bytes per GrailOS bulk phase
	VethSize  int64 // bytes per baseline bulk phase
	Requests  int
	Progress  io.Writer
	PollEvery time.Duration
}

// RunAll runs both paths.
func RunAll(boot Booter, o Options) (*Report, error) {
	if o.PollEvery == 0 {
		o.PollEvery = 2 * time.Millisecond
	}
	rep := &Report{Ratios: map[string]float64{}}
	var err error
	fmt.Fprintf(o.Progress, "baseline: two Linux namespaces over a veth pair (%d MiB each way, %d requests)\n", o.VethSize>>20, o.Requests)
	if rep.Linux, err = runVeth(o); err != nil {
		return nil, fmt.Errorf("veth baseline: %w", err)
	}
	fmt.Fprintf(o.Progress, "GrailOS: netbench → net server → e1000 server → machine → TAP → Linux namespace (%d MiB each way, %d requests)\n", o.Size>>20, o.Requests)
	if rep.GrailOS, rep.NetServerRSS, err = runGrail(boot, o); err != nil {
		return nil, err
	}
	for i, g := range rep.GrailOS {
		l := rep.Linux[i]
		switch {
		case g.MiBps > 0:
			rep.Ratios[g.Name+"_throughput"] = g.MiBps / l.MiBps
			rep.Ratios[g.Name+"_cpu_per_gib"] = g.CPUPerGiB / l.CPUPerGiB
		case g.ReqPerS > 0:
			rep.Ratios[g.Name+"_rate"] = g.ReqPerS / l.ReqPerS
		}
	}
	rep.Notes = []string{
		"CPU time is the sum over every process on the path during the phase (schedstat run time); " +
			"for GrailOS that is the benchmark client, net server, e1000 server, machine and the grail process " +
			"(kernel and the peer's server); for Linux the grail process running both ends. Kernel work in " +
			"softirq context is charged to whichever process was running.",
		"net_server_peak_rss_bytes is VmHWM of the net server after the run (goal ≤ 64 MiB).",
	}
	return rep, nil
}

// runVeth runs the workload between two namespaces in this process.
func runVeth(o Options) ([]Phase, error) {
	p, err := NewPair()
	if err != nil {
		return nil, err
	}
	defer p.Close()
	addr := net.JoinHostPort(p.ServerAddr, "5001")
	var ln net.Listener
	if err := wire.InNetns(p.Server, func() (err error) {
		ln, err = net.Listen("tcp", addr)
		return err
	}); err != nil {
		return nil, err
	}
	defer ln.Close()
	go Serve(ln)
	dial := func() (c net.Conn, err error) {
		err = wire.InNetns(p.Client, func() (err error) {
			c, err = net.DialTimeout("tcp", addr, 10*time.Second)
			return err
		})
		return c, err
	}
	var phases []Phase
	var t0 int64
	err = Workload(dial, o.VethSize, o.Requests, func(string) { t0 = SelfCPUTime() }, func(ph Phase) {
		ph.CPUSeconds = float64(SelfCPUTime()-t0) / 1e9
		ph.CPUByProcess = map[string]float64{"grail (client and server)": ph.CPUSeconds}
		perGiB(&ph)
		phases = append(phases, ph)
	})
	return phases, err
}

func perGiB(ph *Phase) {
	if ph.Bytes > 0 {
		ph.CPUPerGiB = ph.CPUSeconds / (float64(ph.Bytes) / (1 << 30))
	}
}

// runGrail boots the system and follows netbench's phases, snapshotting
// the CPU time of every process on the path around each.
func runGrail(boot Booter, o Options) ([]Phase, int64, error) {
	sys := strings.NewReplacer("{{SIZE}}", fmt.Sprint(o.Size), "{{REQ}}", fmt.Sprint(o.Requests)).Replace(System)
	b, err := boot([]byte(sys))
	if err != nil {
		return nil, 0, err
	}
	defer b.Stop()
	k := b.Kernel
	var ln net.Listener
	if err := wire.InNetns(b.PeerNetns, func() (err error) {
		ln, err = net.Listen("tcp", "192.0.2.1:5001")
		return err
	}); err != nil {
		return nil, 0, err
	}
	defer ln.Close()
	go Serve(ln)

	procs := func() map[string]int {
		m := map[string]int{"machine": b.MachinePid}
		for _, n := range []string{"e1000", "net", "netbench"} {
			if pid, ok := k.Pid(n); ok {
				m[n] = pid
			}
		}
		return m
	}
	snapshot := func(pids map[string]int) map[string]int64 {
		s := map[string]int64{"grail (kernel, peer server)": SelfCPUTime()}
		for n, pid := range pids {
			s[n] = CPUTime(pid)
		}
		return s
	}
	var phases []Phase
	var before map[string]int64
	var pids map[string]int
	seen := 0
	deadline := time.Now().Add(30 * time.Minute)
	for time.Now().Before(deadline) {
		lines := k.Logs("netbench")
		for ; seen < len(lines); seen++ {
			l := lines[seen]
			switch {
			case strings.HasPrefix(l, "BEGIN "):
				pids = procs()
				before = snapshot(pids)
				fmt.Fprintf(o.Progress, "  %s ...\n", strings.TrimPrefix(l, "BEGIN "))
			case strings.HasPrefix(l, "END "):
				after := snapshot(pids)
				var ph Phase
				if err := json.Unmarshal([]byte(strings.TrimPrefix(l, "END ")), &ph); err != nil {
					return nil, 0, fmt.Errorf("netbench: %q: %v", l, err)
				}
				ph.CPUByProcess = map[string]float64{}
				for n, v := range after {
					d := float64(v-before[n]) / 1e9
					ph.CPUByProcess[n] = d
					ph.CPUSeconds += d
				}
				perGiB(&ph)
				phases = append(phases, ph)
			case strings.HasPrefix(l, "ERROR "):
				return nil, 0, fmt.Errorf("netbench: %s", strings.TrimPrefix(l, "ERROR "))
			case l == "DONE":
				var rss int64
				if pid, ok := k.Pid("net"); ok {
					rss = PeakRSS(pid)
				}
				return phases, rss, nil
			}
		}
		time.Sleep(o.PollEvery)
	}
	return nil, 0, fmt.Errorf("netbench did not finish within 30 minutes; its output: %v", k.Logs("netbench"))
}

// Print writes the report for people.
func (r *Report) Print(w io.Writer) {
	fmt.Fprintf(w, "\n%-14s %-8s %12s %12s %12s %14s\n", "workload", "path", "MiB/s", "requests/s", "RTT p50 µs", "CPU s per GiB")
	for i, g := range r.GrailOS {
		for _, row := range []struct {
			path string
			p    Phase
		}{{"GrailOS", g}, {"Linux", r.Linux[i]}} {
			p := row.p
			num := func(v float64, f string) string {
				if v == 0 {
					return "-"
				}
				return fmt.Sprintf(f, v)
			}
			fmt.Fprintf(w, "%-14s %-8s %12s %12s %12s %14s\n", p.Name, row.path, num(p.MiBps, "%.1f"), num(p.ReqPerS, "%.0f"),
				num(p.RTTp50us, "%.1f"), num(p.CPUPerGiB, "%.2f"))
		}
	}
	fmt.Fprintf(w, "\nratios GrailOS/Linux:")
	for _, k := range []string{"tcp_receive_throughput", "tcp_send_throughput", "tcp_requests_rate", "tcp_receive_cpu_per_gib", "tcp_send_cpu_per_gib"} {
		fmt.Fprintf(w, " %s %.2f×", strings.TrimPrefix(k, "tcp_"), r.Ratios[k])
	}
	fmt.Fprintf(w, "\n(goal: ≥ 0.9× Linux throughput)\n\nwhere the CPU goes on the GrailOS path (seconds per GiB):\n")
	for _, g := range r.GrailOS {
		if g.Bytes == 0 {
			continue
		}
		fmt.Fprintf(w, "  %-12s", g.Name)
		for _, n := range []string{"netbench", "net", "e1000", "machine", "grail (kernel, peer server)"} {
			fmt.Fprintf(w, "  %s %.2f", strings.Fields(n)[0], g.CPUByProcess[n]/(float64(g.Bytes)/(1<<30)))
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "\nnet server peak resident memory: %.1f MiB (goal ≤ 64)\n", float64(r.NetServerRSS)/(1<<20))
}
