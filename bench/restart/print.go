package restart

import (
	"fmt"
	"io"
)

// Print writes the report for people.
func (r *Report) Print(w io.Writer) {
	spare := "no spare"
	if r.Spare {
		spare = "warm spare"
	}
	fmt.Fprintf(w, "\n%d restarts of %s (%s, %s) during a TCP download, %.0f s\n\n", len(r.Restarts), r.Driver, r.How, spare, r.Seconds)
	fmt.Fprintf(w, "  %-28s %9s %9s %9s %9s\n", "ms after the crash", "p50", "p90", "p99", "max")
	names := map[string]string{"exited": "reaped (kernel)", "detected": "crash detected (init)", "spawned": "new instance spawned",
		"confined": "confined (checked)", "attached": "device attached", "runtime_up": "DDE runtime up",
		"probe_done": "driver probe done", "ready": "server ready", "link_up": "link up",
		"first_frame": "first frame forwarded", "client_stall": "client's longest stall"}
	for _, p := range append(append([]string(nil), Phases...), "client_stall") {
		s := r.Summary[p]
		fmt.Fprintf(w, "  %-28s %9.2f %9.2f %9.2f %9.2f\n", names[p], s.P50/1e3, s.P90/1e3, s.P99/1e3, s.Max/1e3)
	}
	verdict := "intact"
	if !r.Intact {
		verdict = "NOT INTACT"
	}
	fmt.Fprintf(w, "\n  transfer: %d rounds, %.1f MiB checked: %s; the peer answered %d requests", r.Rounds, float64(r.Bytes)/(1<<20), verdict, r.Requests)
	if r.Requests <= int64(r.Rounds)+1 && len(r.Errors) == 0 {
		fmt.Fprintf(w, " (one per round: no connection was reset)")
	}
	fmt.Fprintln(w)
	for _, e := range r.Errors {
		fmt.Fprintf(w, "  client error: %s\n", e)
	}
	fmt.Fprintf(w, "  goals: crash → first frame p50 ≤ 2 ms (%.2f), p99 ≤ 10 ms (%.2f)\n", r.Summary["first_frame"].P50/1e3, r.Summary["first_frame"].P99/1e3)
	fmt.Fprintf(w, "  tracepoints: %s\n", r.Trace)
}
