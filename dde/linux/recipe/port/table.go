package port

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
)

// Report is the coverage of every PCI NIC driver of the tarball: the
// DDE's reach, and how far the next port is.
type Report struct {
	Kernel      string           `json:"kernel"`
	Tarball     string           `json:"tarball_sha256"`
	Runtime     string           `json:"runtime"`
	Drivers     []DriverCoverage `json:"drivers"` // compiled, fewest missing first
	NotCompiled []Failure        `json:"not_compiled"`
	// NotConfigured are PCI NIC modules Debian's configuration does not
	// build (other architectures, obsolete hardware): not compiled.
	NotConfigured []string `json:"not_configured"`
	// Pending were not compiled within the time budget: run again.
	Pending    []string `json:"pending"`
	MostWanted []Wanted `json:"most_wanted"` // missing symbols by how many drivers reference them
	Totals     Totals   `json:"totals"`
}

// DriverCoverage is one row of the table.
type DriverCoverage struct {
	Driver         string   `json:"driver"`
	Dir            string   `json:"dir"`
	Files          int      `json:"files"`
	Symbols        int      `json:"symbols"`
	Implemented    int      `json:"implemented"`
	HandStubbed    int      `json:"hand_stubbed"`
	Libc           int      `json:"libc"`
	Missing        int      `json:"missing"`
	MissingSymbols []string `json:"missing_symbols"`
}

// Failure is a driver that does not compile in DDE mode.
type Failure struct {
	Driver string `json:"driver"`
	Dir    string `json:"dir"`
	Error  string `json:"error"` // the compiler's first error line
}

// Wanted is a missing symbol and the number of drivers referencing it.
type Wanted struct {
	Name    string `json:"name"`
	Drivers int    `json:"drivers"`
}

// Totals sum the report up.
type Totals struct {
	Drivers      int      `json:"drivers"` // PCI NIC drivers in Debian's configuration
	Compiled     int      `json:"compiled"`
	NotCompiled  int      `json:"not_compiled"`
	Pending      int      `json:"pending"`
	FullyCovered []string `json:"fully_covered"` // drivers with 0 missing
	Union        int      `json:"union"`         // distinct symbols the compiled drivers reference
	Implemented  int      `json:"implemented"`   // of the union, by class
	HandStubbed  int      `json:"hand_stubbed"`
	Libc         int      `json:"libc"`
	Missing      int      `json:"missing"`
}

// mostWanted is how many missing symbols the report lists by demand.
const mostWanted = 15

// MakeReport classifies the drivers' symbols with p and sums up.
func MakeReport(p *Providers, drivers []Driver, notConfigured []string) *Report {
	r := &Report{NotConfigured: slices.Clone(notConfigured), Drivers: []DriverCoverage{}, NotCompiled: []Failure{}, Pending: []string{}}
	if r.NotConfigured == nil {
		r.NotConfigured = []string{}
	}
	union := map[string]bool{}
	demand := map[string]int{}
	for i := range drivers {
		d := &drivers[i]
		if d.Pending {
			r.Pending = append(r.Pending, d.Label())
			continue
		}
		if d.Error != "" {
			r.NotCompiled = append(r.NotCompiled, Failure{Driver: d.Label(), Dir: d.Dir, Error: d.Error})
			continue
		}
		c := p.Cover(d.Label(), d.Undefined)
		n := c.Counts()
		row := DriverCoverage{Driver: d.Label(), Dir: d.Dir, Files: len(d.Sources), Symbols: len(c.Symbols),
			Implemented: n[Implemented], HandStubbed: n[HandStubbed], Libc: n[Libc], Missing: n[Missing],
			MissingSymbols: c.Names(Missing)}
		if row.MissingSymbols == nil {
			row.MissingSymbols = []string{}
		}
		r.Drivers = append(r.Drivers, row)
		for _, s := range c.Symbols {
			union[s.Name] = true
			if s.Class == Missing {
				demand[s.Name]++
			}
		}
	}
	slices.SortFunc(r.Drivers, func(a, b DriverCoverage) int {
		return cmp.Or(cmp.Compare(a.Missing, b.Missing), cmp.Compare(a.Driver, b.Driver))
	})
	slices.SortFunc(r.NotCompiled, func(a, b Failure) int { return cmp.Compare(a.Driver, b.Driver) })
	t := &r.Totals
	slices.Sort(r.Pending)
	t.Compiled, t.NotCompiled, t.Pending = len(r.Drivers), len(r.NotCompiled), len(r.Pending)
	t.Drivers = t.Compiled + t.NotCompiled + t.Pending
	t.FullyCovered = []string{}
	for _, d := range r.Drivers {
		if d.Missing == 0 {
			t.FullyCovered = append(t.FullyCovered, d.Driver)
		}
	}
	t.Union = len(union)
	for name := range union {
		switch p.Classify(name) {
		case Implemented:
			t.Implemented++
		case HandStubbed:
			t.HandStubbed++
		case Libc:
			t.Libc++
		default:
			t.Missing++
		}
	}
	r.MostWanted = []Wanted{}
	for name, n := range demand {
		r.MostWanted = append(r.MostWanted, Wanted{Name: name, Drivers: n})
	}
	slices.SortFunc(r.MostWanted, func(a, b Wanted) int {
		return cmp.Or(cmp.Compare(b.Drivers, a.Drivers), cmp.Compare(a.Name, b.Name))
	})
	if len(r.MostWanted) > mostWanted {
		r.MostWanted = r.MostWanted[:mostWanted]
	}
	return r
}

// Table prints the report for a person: one row per compiled driver
// (fewest missing first), the drivers that do not compile with their
// first error, the most wanted missing symbols and the totals line.
func (r *Report) Table(w io.Writer) error {
	wd := len("DRIVER")
	for _, d := range r.Drivers {
		wd = max(wd, len(d.Driver))
	}
	fmt.Fprintf(w, "%-*s  FILES  SYMBOLS  IMPLEMENTED  HAND-STUBBED  LIBC  MISSING\n", wd, "DRIVER")
	for _, d := range r.Drivers {
		fmt.Fprintf(w, "%-*s  %5d  %7d  %11d  %12d  %4d  %7d\n", wd, d.Driver, d.Files, d.Symbols, d.Implemented, d.HandStubbed, d.Libc, d.Missing)
	}
	if len(r.NotCompiled) > 0 {
		fmt.Fprintf(w, "\ndo not compile in DDE mode (%d):\n", len(r.NotCompiled))
		for _, f := range r.NotCompiled {
			fmt.Fprintf(w, "  %s: %s\n", f.Driver, f.Error)
		}
	}
	if len(r.Pending) > 0 {
		fmt.Fprintf(w, "\nnot compiled within the time budget, run again to continue (%d): %s\n", len(r.Pending), strings.Join(r.Pending, " "))
	}
	if len(r.NotConfigured) > 0 {
		fmt.Fprintf(w, "\nnot in Debian's configuration, not compiled (%d): %s\n", len(r.NotConfigured), strings.Join(r.NotConfigured, " "))
	}
	if len(r.MostWanted) > 0 {
		var parts []string
		for _, m := range r.MostWanted {
			parts = append(parts, fmt.Sprintf("%s %d", m.Name, m.Drivers))
		}
		fmt.Fprintf(w, "\nmost wanted missing symbols (drivers referencing them): %s\n", strings.Join(parts, ", "))
	}
	_, err := fmt.Fprintf(w, "\n%s\n", r.Totals.Line())
	return err
}

// Line is the one-line total.
func (t Totals) Line() string {
	covered := "none"
	if len(t.FullyCovered) > 0 {
		covered = strings.Join(t.FullyCovered, " ")
	}
	pending := ""
	if t.Pending > 0 {
		pending = fmt.Sprintf(", %d pending", t.Pending)
	}
	return fmt.Sprintf("%d PCI NIC drivers: %d compile, %d do not%s; %d fully covered (0 missing): %s; "+
		"union of %d symbols: %d implemented, %d hand-stubbed, %d libc, %d missing",
		t.Drivers, t.Compiled, t.NotCompiled, pending, len(t.FullyCovered), covered, t.Union, t.Implemented, t.HandStubbed, t.Libc, t.Missing)
}

// JSON writes the report as indented JSON.
func (r *Report) JSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}
