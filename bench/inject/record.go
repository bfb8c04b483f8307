package inject

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"

	"grailos/dde/linux/fault"
)

// Outcomes of a fault.
const (
	OutcomeNone    = "none"         // fired; no visible effect: the driver kept running, the data kept flowing
	OutcomeLatent  = "not-fired"    // armed, but its code or call did not run within the wait
	OutcomeCrash   = "crash"        // the driver died (signal, exit) and was restarted; the data resumed
	OutcomeHang    = "hang"         // the driver stopped answering heartbeats, was killed and restarted; the data resumed
	OutcomeStall   = "stalled"      // the driver kept answering but forwarded nothing: the harness restarted it
	OutcomeClient  = "client-error" // the client saw an error (a broken connection); the system stayed healthy
	OutcomeOutside = "outside"      // failure outside the driver: another task or the machine, lost data, or no recovery
	OutcomeHarness = "harness"      // the injector or the harness failed: the fault says nothing about the driver
)

// Outcomes lists them in report order.
var Outcomes = []string{OutcomeNone, OutcomeLatent, OutcomeCrash, OutcomeHang, OutcomeStall, OutcomeClient,
	OutcomeOutside, OutcomeHarness}

// Record is one fault of a campaign: one JSON line, with everything
// needed to replay it (Spec, against the binary Binary names).
type Record struct {
	Index  int        `json:"index"`
	Seed   uint64     `json:"seed"`
	Shard  string     `json:"shard"` // I/N
	Driver string     `json:"driver"`
	Binary string     `json:"binary_sha256"` // of the driver's server binary (first 16 hex digits)
	Spec   fault.Spec `json:"spec"`
	Kind   string     `json:"kind"` // code/flip, api/alloc, hang, dma/tx...
	// What the fault changes, for a person (code and hang faults).
	Function string `json:"function,omitempty"`
	Source   string `json:"source,omitempty"`
	Insn     string `json:"insn,omitempty"`

	Fired       bool    `json:"fired"`
	FiredDetail string  `json:"fired_detail,omitempty"` // the driver's fault-fired event
	FiredAt     string  `json:"fired_at,omitempty"`     // where a failed kernel-API call came from
	ArmedMS     float64 `json:"armed_ms,omitempty"`     // the fault's start → the driver confirmed it armed
	FiredMS     float64 `json:"fired_ms,omitempty"`     // the fault's start → it fired
	Outcome     string  `json:"outcome"`
	Detail      string  `json:"detail,omitempty"`
	Exit        string  `json:"driver_exit,omitempty"` // how the driver ended, if it did
	RecoveryMS  float64 `json:"recovery_ms,omitempty"` // fired → the client's data flowing again
	// Phases of a restart, ms after the fault fired: exited, ready,
	// link-up, first-frame (the driver's), data (the client's).
	Phases map[string]float64 `json:"phases_ms,omitempty"`
	// Cleanup: the harness's restart of a driver the fault left running,
	// ms after the restart began: ready, data (the client's flowing again).
	Cleanup map[string]float64 `json:"cleanup_ms,omitempty"`
	// RSS: resident memory (KiB) of every long-lived process after the
	// fault: the kernel, init, the net server, the client, the machine.
	RSS         map[string]int64 `json:"rss_kib,omitempty"`
	Bytes       int64            `json:"bytes"`                      // the client's bytes over the fault's time
	BadRounds   int              `json:"bad_rounds,omitempty"`       // downloads whose checksum did not match
	IOMMU       []string         `json:"iommu_refused,omitempty"`    // the machine's refusals after the fault
	ClientErrs  []string         `json:"client_errors,omitempty"`    // what the client saw
	Outside     []string         `json:"outside_evidence,omitempty"` // why the outcome is outside
	Seconds     float64          `json:"seconds"`                    // this fault, restart included
	Retries     int              `json:"retries,omitempty"`          // runs lost to the driver going away before the fault fired
	early       bool             // harness outcome: the driver went away before the fault fired
	Replay      string           `json:"replay_of,omitempty"`    // FILE:LINE, on a replay
	ReplayMatch *bool            `json:"replay_match,omitempty"` // on a replay: same outcome as recorded
}

// WriteRecord writes r as one JSON line.
func WriteRecord(w io.Writer, r Record) error {
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// ReadRecords reads a campaign file (JSON lines; blank lines skipped).
func ReadRecords(file string) ([]Record, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []Record
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		if strings.TrimSpace(sc.Text()) == "" {
			continue
		}
		var r Record
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", file, n, err)
		}
		out = append(out, r)
	}
	return out, sc.Err()
}

// ReadLine reads the record on line n (from 1) of a campaign file:
// FILE:LINE of --replay.
func ReadLine(spec string) (Record, error) {
	i := strings.LastIndex(spec, ":")
	if i < 0 {
		return Record{}, fmt.Errorf("--replay %q: want FILE:LINE", spec)
	}
	n, err := strconv.Atoi(spec[i+1:])
	if err != nil || n < 1 {
		return Record{}, fmt.Errorf("--replay %q: want FILE:LINE (lines count from 1)", spec)
	}
	f, err := os.Open(spec[:i])
	if err != nil {
		return Record{}, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for l := 1; sc.Scan(); l++ {
		if l == n {
			var r Record
			if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
				return Record{}, fmt.Errorf("%s: %w", spec, err)
			}
			return r, r.Spec.Validate()
		}
	}
	return Record{}, fmt.Errorf("%s: the file has fewer lines", spec)
}

// Summary counts outcomes per kind of fault.
type Summary struct {
	Faults   int                       `json:"faults"`
	Fired    int                       `json:"fired"`
	Outcomes map[string]int            `json:"outcomes"`
	ByKind   map[string]map[string]int `json:"by_kind"`
	Outside  []string                  `json:"outside"` // one line per failure outside the driver, with its replay hint
	Harness  []string                  `json:"harness"`
	Seconds  float64                   `json:"seconds"` // the campaign's wall time (0 after a merge: shards overlap)
	// Recovery is the p50/p99 of fired → data flowing again over the
	// faults the driver was restarted for.
	RecoveryP50 float64 `json:"recovery_p50_ms"`
	RecoveryP99 float64 `json:"recovery_p99_ms"`
	// Completed counts faults after which the workload went on intact
	// (no failure outside the driver, no harness failure, no error the
	// client saw).
	Completed int   `json:"completed"`
	Bytes     int64 `json:"bytes"`      // the client's bytes, checked round by round
	BadRounds int   `json:"bad_rounds"` // rounds whose checksum did not match
	// Memory is each long-lived process's resident memory, early in the
	// campaign (the median over a shard's first 100 faults from fault
	// 1000 on, or from a tenth of a shorter campaign) and at its end (the
	// median over its last 100).
	Memory []Growth `json:"memory,omitempty"`
}

// Growth is one process's resident memory over a campaign.
type Growth struct {
	Process  string  `json:"process"` // name, and @shard when shards were merged
	From     int     `json:"from_fault"`
	FromKiB  int64   `json:"from_kib"`
	To       int     `json:"to_fault"`
	ToKiB    int64   `json:"to_kib"`
	GrowthPC float64 `json:"growth_percent"`
}

// Tally folds records into a Summary as they come, keeping little of
// each: a campaign of millions of faults must not grow the harness.
type Tally struct {
	s    Summary
	file string
	line int
	rec  []float64
	mem  map[string]*memTrack
}

// rssPoint is one record's memory sample.
type rssPoint struct {
	index int
	rss   map[string]int64
}

// memWindow is how many of a shard's faults each end of the memory
// comparison takes the median over: a Go process's resident memory moves
// by a few MiB with its garbage collections, so one sample at each end
// would compare two moments of that cycle, not two sizes.
const memWindow = 100

// memTrack follows one shard's memory: the samples before fault 1000 (the
// start, when the shard ends before it: memWindow from a tenth of them
// on), the first memWindow at or past fault 1000, and the last memWindow.
type memTrack struct {
	early []rssPoint
	from  []rssPoint
	last  []rssPoint // a ring: next is the oldest
	next  int
}

// NewTally starts a summary; file (the --json file the records are
// written to, in order) names them in the replay hints.
func NewTally(file string) *Tally {
	return &Tally{s: Summary{Outcomes: map[string]int{}, ByKind: map[string]map[string]int{}}, file: file,
		mem: map[string]*memTrack{}}
}

// Add counts r, the next record (a shard's records in fault order).
func (t *Tally) Add(r Record) {
	t.line++
	s := &t.s
	s.Faults++
	if r.Fired {
		s.Fired++
	}
	s.Outcomes[r.Outcome]++
	if s.ByKind[r.Kind] == nil {
		s.ByKind[r.Kind] = map[string]int{}
	}
	s.ByKind[r.Kind][r.Outcome]++
	hint := fmt.Sprintf("fault %d (%s): %s", r.Index, r.Kind, r.Detail)
	if t.file != "" {
		hint += fmt.Sprintf(" — grail inject --replay %s:%d", t.file, t.line)
	}
	switch r.Outcome {
	case OutcomeOutside:
		s.Outside = append(s.Outside, hint)
	case OutcomeHarness:
		s.Harness = append(s.Harness, hint)
	}
	switch r.Outcome {
	case OutcomeOutside, OutcomeHarness, OutcomeClient:
	default:
		s.Completed++
	}
	s.Bytes += r.Bytes
	s.BadRounds += r.BadRounds
	if r.RecoveryMS > 0 && (r.Outcome == OutcomeCrash || r.Outcome == OutcomeHang || r.Outcome == OutcomeStall) {
		t.rec = append(t.rec, r.RecoveryMS)
	}
	if len(r.RSS) > 0 {
		m := t.mem[r.Shard]
		if m == nil {
			m = &memTrack{}
			t.mem[r.Shard] = m
		}
		p := rssPoint{r.Index, r.RSS}
		switch {
		case len(m.from) == memWindow:
		case r.Index >= 1000:
			m.from = append(m.from, p)
		default:
			m.early = append(m.early, p)
		}
		if len(m.last) < memWindow {
			m.last = append(m.last, p)
		} else {
			m.last[m.next] = p
			m.next = (m.next + 1) % memWindow
		}
	}
}

// Summary returns the summary so far.
func (t *Tally) Summary() Summary {
	s := t.s
	if len(t.rec) > 0 {
		rec := slices.Sorted(slices.Values(t.rec))
		s.RecoveryP50 = rec[len(rec)/2]
		s.RecoveryP99 = rec[min(len(rec)-1, len(rec)*99/100)]
	}
	shards := slices.Sorted(maps.Keys(t.mem))
	s.Memory = nil
	for _, sh := range shards {
		m := t.mem[sh]
		from := m.from
		if len(from) == 0 {
			from = m.early[len(m.early)/10 : min(len(m.early), len(m.early)/10+memWindow)]
		}
		last := slices.Clone(m.last)
		slices.SortFunc(last, func(a, b rssPoint) int { return a.index - b.index })
		if len(from) == 0 || from[len(from)-1].index >= last[0].index {
			continue // the two windows overlap: too short a campaign to say
		}
		for _, n := range slices.Sorted(maps.Keys(last[len(last)-1].rss)) {
			a, b := medianRSS(from, n), medianRSS(last, n)
			if a == 0 {
				continue
			}
			name := n
			if len(shards) > 1 {
				name += "@" + sh
			}
			s.Memory = append(s.Memory, Growth{Process: name, From: from[0].index, FromKiB: a, To: last[len(last)-1].index, ToKiB: b,
				GrowthPC: 100 * float64(b-a) / float64(a)})
		}
	}
	return s
}

// medianRSS is the median resident memory of process n over ps.
func medianRSS(ps []rssPoint, n string) int64 {
	var v []int64
	for _, p := range ps {
		if k, ok := p.rss[n]; ok {
			v = append(v, k)
		}
	}
	if len(v) == 0 {
		return 0
	}
	slices.Sort(v)
	return v[len(v)/2]
}

// Summarize counts records (each shard's in fault order); file names them
// in the replay hints.
func Summarize(recs []Record, file string) Summary {
	t := NewTally(file)
	for _, r := range recs {
		t.Add(r)
	}
	return t.Summary()
}

// Print writes the summary table: one row per kind of fault, one column
// per outcome.
func (s Summary) Print(w io.Writer) {
	kinds := make([]string, 0, len(s.ByKind))
	for k := range s.ByKind {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprint(tw, "KIND\tFAULTS\t")
	for _, o := range Outcomes {
		fmt.Fprintf(tw, "%s\t", strings.ToUpper(o))
	}
	fmt.Fprintln(tw)
	row := func(name string, m map[string]int) {
		n := 0
		for _, v := range m {
			n += v
		}
		fmt.Fprintf(tw, "%s\t%d\t", name, n)
		for _, o := range Outcomes {
			fmt.Fprintf(tw, "%d\t", m[o])
		}
		fmt.Fprintln(tw)
	}
	for _, k := range kinds {
		row(k, s.ByKind[k])
	}
	row("all", s.Outcomes)
	tw.Flush()
	fmt.Fprintf(w, "%d faults, %d fired (%.1f%%)", s.Faults, s.Fired, pct(s.Fired, s.Faults))
	if s.Seconds > 0 {
		fmt.Fprintf(w, " in %.1f s: %.2f faults/s", s.Seconds, float64(s.Faults)/s.Seconds)
	}
	fmt.Fprintln(w)
	if s.RecoveryP50 > 0 {
		fmt.Fprintf(w, "driver restarted: fired → data flowing again p50 %.0f ms, p99 %.0f ms\n", s.RecoveryP50, s.RecoveryP99)
	}
	fmt.Fprintf(w, "workload completed after %d of %d faults (%.2f%%); %.1f GiB checked, %d rounds corrupted\n",
		s.Completed, s.Faults, pct(s.Completed, s.Faults), float64(s.Bytes)/(1<<30), s.BadRounds)
	if len(s.Memory) > 0 {
		fmt.Fprintln(w, "resident memory of the long-lived processes (medians over 100 faults of a shard):")
		for _, g := range s.Memory {
			fmt.Fprintf(w, "  %-14s %6.1f MiB from fault %d → %6.1f MiB up to fault %d (%+.1f%%)\n", g.Process, float64(g.FromKiB)/1024, g.From,
				float64(g.ToKiB)/1024, g.To, g.GrowthPC)
		}
	}
	fmt.Fprintf(w, "failures outside the driver: %d\n", len(s.Outside))
	for _, l := range s.Outside {
		fmt.Fprintf(w, "  %s\n", l)
	}
	if len(s.Harness) > 0 {
		fmt.Fprintf(w, "harness failures (the fault says nothing about the driver): %d\n", len(s.Harness))
		for _, l := range s.Harness {
			fmt.Fprintf(w, "  %s\n", l)
		}
	}
}

func pct(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return 100 * float64(a) / float64(b)
}

// Merge reads shard files and returns their records in fault order, and
// an error if two shards ran the same fault of the same campaign or the
// shards are of different campaigns (seed, driver, binary).
func Merge(files []string) ([]Record, error) {
	var all []Record
	seen := map[int]string{}
	for _, f := range files {
		recs, err := ReadRecords(f)
		if err != nil {
			return nil, err
		}
		for _, r := range recs {
			if len(all) > 0 && (r.Seed != all[0].Seed || r.Driver != all[0].Driver || r.Binary != all[0].Binary) {
				return nil, fmt.Errorf("%s: fault %d is of another campaign (seed %d, %s, binary %s; first: seed %d, %s, binary %s)",
					f, r.Index, r.Seed, r.Driver, r.Binary, all[0].Seed, all[0].Driver, all[0].Binary)
			}
			if r.Replay != "" {
				continue
			}
			if prev, dup := seen[r.Index]; dup {
				return nil, fmt.Errorf("fault %d is in both %s and %s", r.Index, prev, f)
			}
			seen[r.Index] = f
			all = append(all, r)
		}
	}
	slices.SortFunc(all, func(a, b Record) int { return a.Index - b.Index })
	return all, nil
}
