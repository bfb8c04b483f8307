package inject

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"grailos/arch/machine/wire"
	"grailos/dde/linux/fault"
	"grailos/kernel"
)

// System is the system a campaign boots: {{NAME}}, {{DRIVER}} (server
// name, binary nic-{{DRIVER}}, device model of the same name), the
// driver's {{HANG}} timeout and {{HEARTBEAT}}. The restart intensity is
// out of reach: every fault may cost a restart; the driver restarts from
// a warm spare.
const System = `name = "{{NAME}}"
[supervisor]
heartbeat = "200ms"
hang_timeout = "10s" # only the driver is hung fast: a false hang of another would lose the workload
intensity = 1000000
period = "1s"
backoff = "0s"
on_exhausted = "give_up"
[[server]]
name = "{{DRIVER}}"
binary = "nic-{{DRIVER}}"
role = "driver"
spare = true
heartbeat = "{{HEARTBEAT}}"
hang_timeout = "{{HANG}}"
args = ["-virtual-time", "-inject"]
devices = ["nic0:{{DRIVER}}"]
provides = ["nic"]
[server.limits]
memory = "64MiB"
[[server]]
name = "net"
uses = ["nic"]
provides = ["net"]
args = ["-addr", "192.0.2.2/24", "-gw", "192.0.2.1"] # netAddr
[server.limits]
memory = "128MiB"
`

// netAddr is the net server's address in System: the ping flood's target.
const netAddr = "192.0.2.2"

// SystemClient is the client of the tcp workload, added to System.
const SystemClient = `[[server]]
name = "fetch"
uses = ["net"]
restart = "temporary"
args = ["-url", "http://192.0.2.1:8080/", "-rounds", "1000000000", "-every", "20ms", "-wait", "30s"]
[server.limits]
memory = "64MiB"
`

// Booted is what the campaign needs of a booted system.
type Booted struct {
	Kernel       *kernel.Kernel
	PeerNetns    string
	MachineAlive func() bool // the machine process still runs
	MachinePid   func() int  // the machine process's pid (its memory is watched)
	Stop         func() error
	// DeviceFault arms a device fault (fault.ClassDevice) in the machine
	// of the driver's device, Device; the machine's reports of it are
	// kernel events of that subject (fault-armed, fault-fired,
	// fault-done; detail id=ID ...). Nil: no device faults.
	DeviceFault func(fault.Spec) error
	Device      string
}

// Booter boots a system file; out receives the system's output.
type Booter func(system []byte, out io.Writer) (*Booted, error)

// Options of a campaign.
type Options struct {
	Faults  int      // faults of the whole campaign (all shards)
	Seed    uint64   // with the fault's index, chooses each fault
	Classes []string // ParseClasses
	Driver  string   // the driver server, e.g. e1000
	Shard   int      // this shard, 0 ≤ Shard < Shards: faults i with i % Shards == Shard
	Shards  int
	BinDir  string // where nic-<Driver> is (its text is where code faults go)
	Name    string // the system's name (default inject-<shard>); shards on one host need different ones
	// Window is how long a fired fault without a visible effect is
	// watched; a fault that stops the data keeps being watched up to
	// StallLimit before the harness restarts the driver. FireWait is how
	// long an armed fault may take to fire.
	Window, FireWait, StallLimit time.Duration
	// HangTimeout is the driver's hang timeout (init's heartbeat comes at
	// a sixth of it): a hang fault costs about this much.
	HangTimeout time.Duration
	// MinRTO is the peer's minimum TCP retransmission timeout
	// (wire.SetMinRTO; 0: Linux's default, 200 ms).
	MinRTO    time.Duration
	RoundSize int64 // bytes per checksummed download round
	// Rate paces the download (bytes a second; 0: as fast as it goes).
	// The workload only has to show the driver works: a paced one leaves
	// the cores to the restarts, which are what a fault costs.
	Rate int64
	// Workloads run through the driver during every fault (Workload*;
	// default DefaultWorkloads).
	Workloads []string
	Replay    []Record // run these faults (their Specs) instead of planning
	ReplayOf  string   // where Replay came from (FILE:LINE), for the records
	// OnFault hears each fault as it ends (records in order; done counts
	// them, total is this shard's); the command writes the JSON line and
	// draws the progress bar.
	OnFault func(done, total int, r Record) error
	// Stream: the records go only to OnFault, Report.Records stays empty
	// (a long campaign keeps no record in memory); SummaryFile names the
	// file OnFault writes them to, for the summary's replay hints.
	Stream      bool
	SummaryFile string
	Log         io.Writer // the system's output, when wanted
}

// Report is a campaign's result.
type Report struct {
	Records   []Record `json:"-"`
	Summary   Summary  `json:"summary"`
	Functions int      `json:"donor_functions"` // in the binary
	Ran       []string `json:"functions_ran"`   // under the workload (the profile): where code faults go
}

// Defaults of Options.
const (
	DefaultWindow      = 200 * time.Millisecond
	DefaultFireWait    = 2 * time.Second
	DefaultStallLimit  = time.Second
	DefaultHangTimeout = 300 * time.Millisecond
	DefaultMinRTO      = 5 * time.Millisecond
	DefaultRoundSize   = 32 << 20
	recoverLimit       = 30 * time.Second
	minProgress        = 256 << 10               // bytes that show the data flows
	profileWindow      = 2200 * time.Millisecond // e1000 runs its watchdog every 2 s
)

// campaign is one running campaign.
type campaign struct {
	o       Options
	k       *kernel.Kernel
	b       *Booted
	mon     *monitor
	fns     []fault.Function
	binSum  string
	bytes0  int64     // the client's bytes when the fault in progress began
	armedAt time.Time // when the fault in progress was confirmed armed
	tcp     bool      // the download runs
	ping    *flood    // the ping flood, if it runs
}

// Run boots the system and runs the campaign's faults of this shard.
func Run(boot Booter, o Options) (*Report, error) {
	if o.Shards < 1 {
		o.Shards = 1
	}
	switch {
	case o.Faults < 1 && len(o.Replay) == 0:
		return nil, errors.New("inject: at least one fault")
	case o.Shard < 0 || o.Shard >= o.Shards:
		return nil, fmt.Errorf("inject: shard %d of %d", o.Shard, o.Shards)
	case len(o.Classes) == 0:
		o.Classes = fault.Classes
	}
	o.Window = cmpOr(o.Window, DefaultWindow)
	o.FireWait = cmpOr(o.FireWait, DefaultFireWait)
	o.StallLimit = max(cmpOr(o.StallLimit, DefaultStallLimit), o.Window)
	o.RoundSize = cmpOr(o.RoundSize, DefaultRoundSize)
	o.HangTimeout = cmpOr(o.HangTimeout, DefaultHangTimeout)
	// A hung driver must be found by init (a heartbeat period and the
	// timeout) before the harness calls it stalled.
	o.StallLimit = max(o.StallLimit, 2*o.HangTimeout+200*time.Millisecond)
	if len(o.Workloads) == 0 {
		o.Workloads = DefaultWorkloads
	}
	if o.Name == "" {
		o.Name = fmt.Sprintf("inject-%d", o.Shard)
	}
	bin := filepath.Join(o.BinDir, "nic-"+o.Driver)
	port, fns, err := fault.DonorFunctions(bin)
	if err != nil {
		return nil, err
	}
	var data []fault.Target
	if len(o.Replay) == 0 && slices.ContainsFunc(o.Classes, func(c string) bool { return strings.HasPrefix(c, fault.ClassData) }) {
		if data, err = fault.DataTargets(bin, port); err != nil {
			return nil, err
		}
	}
	sum, err := hashFile(bin)
	if err != nil {
		return nil, err
	}
	for _, r := range o.Replay {
		if r.Binary != sum {
			fmt.Fprintf(os.Stderr, "inject: warning: fault %d was recorded against binary %s, this one is %s: its text may differ\n",
				r.Index, r.Binary, sum)
		}
	}
	var key [32]byte
	copy(key[:], "grail inject")
	h := sha256.New()
	io.CopyN(h, rand.NewChaCha8(key), o.RoundSize)
	mon := &monitor{client: "fetch", want: hex.EncodeToString(h.Sum(nil)), size: o.RoundSize, tee: o.Log}
	sys := strings.NewReplacer("{{NAME}}", o.Name, "{{DRIVER}}", o.Driver,
		"{{HANG}}", o.HangTimeout.String(), "{{HEARTBEAT}}", max(o.HangTimeout/6, time.Millisecond).String()).Replace(System)
	tcp := slices.Contains(o.Workloads, WorkloadTCP)
	if tcp {
		sys += SystemClient
	}
	b, err := boot([]byte(sys), mon)
	if err != nil {
		return nil, err
	}
	defer b.Stop()
	if o.MinRTO > 0 {
		if err := wire.SetMinRTO(b.PeerNetns, o.MinRTO); err != nil {
			return nil, err
		}
	}
	closePeer, err := servePeer(b.PeerNetns, key, o.RoundSize, o.Rate)
	if err != nil {
		return nil, err
	}
	defer closePeer()
	c := &campaign{o: o, k: b.Kernel, b: b, mon: mon, fns: fns, binSum: sum, tcp: tcp}
	if slices.Contains(o.Workloads, WorkloadPing) {
		if _, _, err := b.Kernel.Events().Wait(0, recoverLimit, func(e kernel.Event) bool { return e.Subject == "net" && e.Kind == "ready" }); err != nil {
			return nil, fmt.Errorf("inject: the net server is not up: %v", err)
		}
		if c.ping, err = startFlood(b.PeerNetns, netAddr); err != nil {
			return nil, err
		}
		defer c.ping.stop()
	}
	start := time.Now()
	if err := c.flowing(recoverLimit); err != nil {
		return nil, fmt.Errorf("inject: the workload did not start: %v", err)
	}
	rep := &Report{Functions: len(fns)}
	planner := &Planner{Seed: o.Seed, Classes: o.Classes, Data: data, Driver: o.Driver}
	if len(o.Replay) == 0 && needsProfile(o.Classes) {
		if planner.Hot, err = c.profileRetried(); err != nil {
			return nil, fmt.Errorf("inject: profile: %w", err)
		}
		for _, f := range planner.Hot {
			rep.Ran = append(rep.Ran, f.Name)
		}
	}
	var todo []Planned
	var meta []Record
	if len(o.Replay) > 0 {
		for _, r := range o.Replay {
			todo = append(todo, Planned{Spec: r.Spec, Function: r.Function, Source: r.Source, Insn: r.Insn})
			meta = append(meta, r)
		}
	} else {
		for i := o.Shard; i < o.Faults; i += o.Shards {
			p, err := planner.Plan(i)
			if err != nil {
				// Reported, never dropped: a fault the planner could not make.
				p = Planned{Spec: fault.Spec{ID: fmt.Sprintf("f%d", i), Class: strings.Split(ClassOf(o.Classes, i), "/")[0]}}
				meta = append(meta, Record{Index: i, Outcome: OutcomeHarness, Detail: "planning: " + err.Error()})
			} else {
				meta = append(meta, Record{Index: i})
			}
			todo = append(todo, p)
		}
	}
	wedged := 0
	tally := NewTally(o.SummaryFile)
	for n, p := range todo {
		r := meta[n]
		r.Seed, r.Shard, r.Driver, r.Binary = o.Seed, fmt.Sprintf("%d/%d", o.Shard, o.Shards), o.Driver, sum
		r.Spec, r.Kind, r.Function, r.Source, r.Insn = p.Spec, Kind(p.Spec), p.Function, p.Source, p.Insn
		if len(o.Replay) > 0 {
			// Only the fault and its identity carry over: the results are the replay's.
			recorded := r.Outcome
			r = Record{Index: r.Index, Seed: r.Seed, Shard: r.Shard, Driver: r.Driver, Binary: r.Binary, Spec: r.Spec,
				Kind: r.Kind, Function: r.Function, Source: r.Source, Insn: r.Insn, Replay: cmpOr(o.ReplayOf, fmt.Sprintf("fault %d", r.Index))}
			r = c.one(r)
			match := r.Outcome == recorded
			r.ReplayMatch = &match
		} else if r.Outcome == "" {
			r = c.attempt(r)
		}
		tally.Add(r)
		if !o.Stream {
			rep.Records = append(rep.Records, r)
		}
		if o.OnFault != nil {
			if err := o.OnFault(n+1, len(todo), r); err != nil {
				return rep, err
			}
		}
		// A system that does not come back is reported on the fault that
		// broke it (outside); if it stays broken the campaign ends here.
		if err := c.flowing(recoverLimit); err != nil {
			if wedged++; wedged >= 2 {
				rep.Summary = tally.Summary()
				return rep, fmt.Errorf("inject: the system does not recover (after fault %d): %v", r.Index, err)
			}
			c.restart()
		} else {
			wedged = 0
		}
	}
	rep.Summary = tally.Summary()
	rep.Summary.Seconds = time.Since(start).Seconds()
	return rep, nil
}

func needsProfile(classes []string) bool {
	for _, c := range classes {
		if strings.HasPrefix(c, fault.ClassCode) || c == fault.ClassHang {
			return true
		}
	}
	return false
}

func cmpOr[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// profileRetried is profile, again (at most twice more) when the driver
// restarted while it ran (its watch points went with it).
func (c *campaign) profileRetried() ([]fault.Function, error) {
	for try := 0; ; try++ {
		mark := c.k.Events().Len()
		hot, err := c.profile()
		if err == nil || try == 2 {
			return hot, err
		}
		if _, _, gone := c.k.Events().Wait(mark, 0, c.driverEvent("exited")); gone != nil {
			return nil, err // not a restart: a real failure
		}
		fmt.Fprintf(os.Stderr, "inject: the driver restarted during the profile (%v): profiling again\n", err)
		if err := c.flowing(recoverLimit); err != nil {
			return nil, err
		}
	}
}

// profile watches every donor function's entry for a moment of the
// workload and returns those that ran.
func (c *campaign) profile() ([]fault.Function, error) {
	ev := c.k.Events()
	// One watch point per entry: two names may share one (aliases such
	// as init_module).
	var addrs []uint64
	for _, f := range c.fns {
		if len(addrs) == 0 || addrs[len(addrs)-1] != f.Addr {
			addrs = append(addrs, f.Addr)
		}
	}
	// Two windows: what ran in the first is watched again, and only what
	// ran in both counts — a function that ran once (after the link came
	// up, say) would mostly not run again while a fault waits for it.
	ran := map[uint64]bool{}
	watch := addrs
	for range 2 {
		notes, err := fault.WatchNotes(watch)
		if err != nil {
			return nil, err
		}
		for _, n := range notes {
			mark := ev.Len()
			if err := c.k.Note(c.o.Driver, n); err != nil {
				return nil, err
			}
			e, _, err := ev.Wait(mark, 5*time.Second, c.driverEvent("watching", "inject-refused"))
			if err != nil {
				return nil, err
			}
			if e.Kind == "inject-refused" {
				return nil, errors.New(e.Detail)
			}
		}
		time.Sleep(profileWindow)
		mark := ev.Len()
		if err := c.k.Note(c.o.Driver, fault.ProfileNote); err != nil {
			return nil, err
		}
		e, _, err := ev.Wait(mark, 5*time.Second, c.driverEvent("profile"))
		if err != nil {
			return nil, err
		}
		hits, err := fault.ParseProfile(e.Detail)
		if err != nil {
			return nil, err
		}
		if len(hits) != len(addrs) {
			return nil, fmt.Errorf("%d entries reported, %d watched", len(hits), len(addrs))
		}
		watch = nil
		for i, h := range hits {
			ran[addrs[i]] = h
			if h {
				watch = append(watch, addrs[i])
			}
		}
		if len(watch) == 0 {
			break
		}
	}
	var hot []fault.Function
	for _, f := range c.fns {
		if ran[f.Addr] {
			hot = append(hot, f)
		}
	}
	if len(hot) == 0 {
		return nil, errors.New("no donor function ran")
	}
	return hot, nil
}

func (c *campaign) driverEvent(kinds ...string) func(kernel.Event) bool {
	return func(e kernel.Event) bool {
		if e.Subject != c.o.Driver {
			return false
		}
		for _, k := range kinds {
			if e.Kind == k {
				return true
			}
		}
		return false
	}
}

// flowing waits until every workload moves on (c.ahead).
func (c *campaign) flowing(d time.Duration) error {
	p0 := c.level()
	deadline := time.Now().Add(d)
	for {
		if c.ahead(p0, c.level()) {
			return nil
		}
		if time.Now().After(deadline) {
			errs, _, _ := c.mon.since(0)
			return fmt.Errorf("the workload did not move for %v (%s; client errors: %v)%s", d, c.moved(p0, c.level()), last(errs, 3), c.pingEnded())
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// pingEnded says, after a comma, that the ping flood ended and why.
func (c *campaign) pingEnded() string {
	if c.ping != nil {
		if e := c.ping.ended(); e != "" {
			return ", " + e
		}
	}
	return ""
}

// restart kills the driver (init restarts it) and waits until it is
// ready again.
func (c *campaign) restart() error {
	ev := c.k.Events()
	mark := ev.Len()
	if err := c.k.Kill(c.o.Driver); err != nil {
		return err
	}
	if _, i, err := ev.Wait(mark, recoverLimit, c.driverEvent("exited")); err != nil {
		return err
	} else {
		mark = i
	}
	_, _, err := ev.Wait(mark, recoverLimit, c.driverEvent("ready"))
	return err
}

func last(s []string, n int) []string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

func hashFile(file string) (string, error) {
	f, err := os.Open(file)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}

// servePeer serves rounds of size bytes of the ChaCha8 stream of key at
// http://192.0.2.1:8080/ in the peer namespace, at most rate bytes a
// second (0: as fast as it goes).
func servePeer(ns string, key [32]byte, size, rate int64) (func(), error) {
	var srv *http.Server
	err := wire.InNetns(ns, func() error {
		ln, err := net.Listen("tcp", "192.0.2.1:8080")
		if err != nil {
			return err
		}
		srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", strconv.FormatInt(size, 10))
			src := io.Reader(rand.NewChaCha8(key))
			if rate > 0 {
				src = &paced{r: src, rate: rate, start: time.Now()}
			}
			io.CopyN(w, src, size)
		})}
		go srv.Serve(ln)
		return nil
	})
	if err != nil {
		return nil, err
	}
	// Closed before the system stops: an open socket would keep the
	// namespace alive after its name is removed.
	return func() { srv.Close() }, nil
}

// paced reads from r at most rate bytes a second on average since start.
type paced struct {
	r     io.Reader
	rate  int64
	start time.Time
	n     int64
}

func (p *paced) Read(b []byte) (int, error) {
	if len(b) > 64<<10 {
		b = b[:64<<10]
	}
	if ahead := time.Duration(p.n*int64(time.Second)/p.rate) - time.Since(p.start); ahead > 0 {
		time.Sleep(ahead)
	}
	n, err := p.r.Read(b)
	p.n += int64(n)
	return n, err
}
