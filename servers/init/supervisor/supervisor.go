package supervisor

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
)

// Strategy says which children are restarted together.
type Strategy string

// Strategies, spelled as in the system file.
const (
	OneForOne  Strategy = "one_for_one"
	RestForOne Strategy = "rest_for_one"
)

// Restart says after which exits a child is restarted.
type Restart string

// Restart types, spelled as in the system file.
const (
	Permanent Restart = "permanent" // after every exit
	Transient Restart = "transient" // only after an abnormal exit
	Temporary Restart = "temporary" // never
)

// OnExhausted says what happens when the intensity is exceeded.
type OnExhausted string

// Reactions to exhaustion, spelled as in the system file.
const (
	GiveUp   OnExhausted = "give_up"  // leave the failing child down, the rest keeps running
	Escalate OnExhausted = "escalate" // the supervisor fails; init exits and the system stops
)

// Policy is a supervisor's restart policy.
type Policy struct {
	Strategy    Strategy
	Intensity   int           // at most this many restarts ...
	Period      time.Duration // ... within this window
	Backoff     time.Duration // delay before the first restart of a crash series
	BackoffMax  time.Duration // cap of the doubled delay; 0 = no cap
	OnExhausted OnExhausted
}

// Child is one supervised child as configured.
type Child struct {
	Name    string
	Restart Restart
}

// ChildState is where a child stands, for `grail ps`.
type ChildState int

// Child states. A child is Stopped until its first OnStarted.
const (
	Stopped    ChildState = iota // not running and not to be restarted (yet)
	Running                      // started and not exited
	Restarting                   // a Decision restarts it; waiting for OnStarted
	GivenUp                      // left down after the supervisor was exhausted
)

var stateNames = [...]string{"stopped", "running", "restarting", "given-up"}

func (s ChildState) String() string {
	if s < 0 || int(s) >= len(stateNames) {
		return fmt.Sprintf("ChildState(%d)", int(s))
	}
	return stateNames[s]
}

// ChildInfo is a child's configuration, state and counters.
type ChildInfo struct {
	Name        string
	Restart     Restart
	State       ChildState
	Restarts    int // restarts decided for this child since New
	Consecutive int // crashes in the current series (drives the backoff)
}

// Decision is what the caller does after an exit. See the package doc for the
// order in which its fields are carried out.
type Decision struct {
	Stop      []string      // running children to stop first, reverse start order
	Restart   []string      // children to start, start order
	Delay     time.Duration // wait this long before starting Restart
	Exhausted bool          // the intensity was exceeded; nothing is restarted
	Escalate  bool          // exhausted with OnExhausted == Escalate
	GiveUp    []string      // exhausted with OnExhausted == GiveUp: children left down
	Reason    string        // one line for the event log
}

type child struct {
	Child
	state       ChildState
	restarts    int
	consecutive int
	startedAt   time.Duration
}

// Supervisor applies a Policy to a fixed list of children.
type Supervisor struct {
	policy   Policy
	children []child
	index    map[string]int
	stamps   []time.Duration // restart times within the window, oldest first
}

// Validate reports whether New accepts p and children.
func Validate(p Policy, children []Child) error {
	var errs []error
	switch p.Strategy {
	case OneForOne, RestForOne:
	default:
		errs = append(errs, fmt.Errorf("unknown strategy %q", p.Strategy))
	}
	switch p.OnExhausted {
	case GiveUp, Escalate:
	default:
		errs = append(errs, fmt.Errorf("unknown on_exhausted %q", p.OnExhausted))
	}
	if p.Intensity < 0 {
		errs = append(errs, fmt.Errorf("negative intensity %d", p.Intensity))
	}
	if p.Period < 0 || p.Backoff < 0 || p.BackoffMax < 0 {
		errs = append(errs, errors.New("negative period, backoff or backoff_max"))
	}
	seen := make(map[string]bool, len(children))
	for _, c := range children {
		if seen[c.Name] {
			errs = append(errs, fmt.Errorf("child %q listed twice", c.Name))
		}
		seen[c.Name] = true
		switch c.Restart {
		case Permanent, Transient, Temporary:
		default:
			errs = append(errs, fmt.Errorf("child %q: unknown restart %q", c.Name, c.Restart))
		}
	}
	return errors.Join(errs...)
}

// New returns a supervisor for children, listed in start order, all Stopped.
// It panics if Validate fails: the system file parser has checked both
// already, so a failure here is a programming error.
func New(p Policy, children []Child) *Supervisor {
	if err := Validate(p, children); err != nil {
		panic("supervisor.New: " + err.Error())
	}
	s := &Supervisor{
		policy:   p,
		children: make([]child, len(children)),
		index:    make(map[string]int, len(children)),
	}
	for i, c := range children {
		s.children[i] = child{Child: c}
		s.index[c.Name] = i
	}
	return s
}

// OnStarted records that name was started at now. It is also how an operator
// brings a given-up child back. It reports whether name is a child.
func (s *Supervisor) OnStarted(name string, now time.Duration) bool {
	i, ok := s.index[name]
	if !ok {
		return false
	}
	c := &s.children[i]
	c.state = Running
	c.startedAt = now
	return true
}

// OnExit records that name exited at now (abnormally: crashed, was killed, or
// was found hung) and decides what to do.
func (s *Supervisor) OnExit(name string, abnormal bool, now time.Duration) Decision {
	i, ok := s.index[name]
	if !ok {
		return Decision{Reason: fmt.Sprintf("unknown child %q exited: ignored", name)}
	}
	c := &s.children[i]
	how := "exited normally"
	if abnormal {
		how = "exited abnormally"
	}
	if c.state != Running {
		return Decision{Reason: fmt.Sprintf("%q %s while %s: ignored", name, how, c.state)}
	}
	switch {
	case c.Restart == Temporary:
		c.state = Stopped
		return Decision{Reason: fmt.Sprintf("%q %s: temporary, not restarted", name, how)}
	case c.Restart == Transient && !abnormal:
		c.state = Stopped
		return Decision{Reason: fmt.Sprintf("%q %s: transient, not restarted", name, how)}
	}

	if now-c.startedAt >= s.policy.Period {
		c.consecutive = 0
	}
	s.forget(now)
	if n := len(s.stamps) + 1; n > s.policy.Intensity {
		return s.exhausted(i, fmt.Sprintf("%q %s: %d restarts in %s exceeds intensity %d",
			name, how, n, s.policy.Period, s.policy.Intensity))
	}
	s.stamps = append(s.stamps, now)
	c.consecutive++

	d := Decision{Delay: s.policy.backoff(c.consecutive)}
	group := []int{i}
	if s.policy.Strategy == RestForOne {
		for j := len(s.children) - 1; j > i; j-- {
			if s.children[j].state == Running {
				d.Stop = append(d.Stop, s.children[j].Name)
			}
		}
		for j := i + 1; j < len(s.children); j++ {
			sib := &s.children[j]
			switch {
			case sib.state != Running && sib.state != Restarting:
			case sib.Restart == Temporary:
				sib.state = Stopped
			default:
				group = append(group, j)
			}
		}
	}
	for _, j := range group {
		g := &s.children[j]
		if g.state == Running { // a pending restart is superseded, not added
			g.restarts++
		}
		g.state = Restarting
		d.Restart = append(d.Restart, g.Name)
	}
	d.Reason = fmt.Sprintf("%q %s: restarting [%s] after %s (%d restarts in %s, intensity %d)",
		name, how, strings.Join(d.Restart, " "), d.Delay, len(s.stamps), s.policy.Period, s.policy.Intensity)
	return d
}

// exhausted builds the Decision for a refused restart of child i.
func (s *Supervisor) exhausted(i int, why string) Decision {
	c := &s.children[i]
	c.state = GivenUp
	d := Decision{Exhausted: true}
	if s.policy.OnExhausted == Escalate {
		d.Escalate = true
		for j := len(s.children) - 1; j >= 0; j-- {
			if s.children[j].state == Running {
				d.Stop = append(d.Stop, s.children[j].Name)
			}
		}
		d.Reason = why + "; escalating"
		return d
	}
	d.GiveUp = []string{c.Name}
	d.Reason = fmt.Sprintf("%s; leaving [%s] down", why, c.Name)
	return d
}

// forget drops restart stamps older than the window ending at now.
func (s *Supervisor) forget(now time.Duration) {
	k := 0
	for k < len(s.stamps) && s.stamps[k] < now-s.policy.Period {
		k++
	}
	s.stamps = s.stamps[k:]
}

// backoff returns the delay before restarting a child with n consecutive
// crashes, saturating instead of overflowing.
func (p Policy) backoff(n int) time.Duration {
	if p.Backoff <= 0 || n <= 0 {
		return 0
	}
	d := p.Backoff
	for k := 1; k < n; k++ {
		if p.BackoffMax > 0 && d >= p.BackoffMax {
			break
		}
		if d > math.MaxInt64/2 {
			d = math.MaxInt64
			break
		}
		d *= 2
	}
	if p.BackoffMax > 0 && d > p.BackoffMax {
		d = p.BackoffMax
	}
	return d
}

// State returns name's state; Stopped for a name that is not a child.
func (s *Supervisor) State(name string) ChildState {
	if i, ok := s.index[name]; ok {
		return s.children[i].state
	}
	return Stopped
}

// Info returns name's configuration, state and counters.
func (s *Supervisor) Info(name string) (ChildInfo, bool) {
	i, ok := s.index[name]
	if !ok {
		return ChildInfo{}, false
	}
	return s.children[i].info(), true
}

// Children returns every child's ChildInfo in start order.
func (s *Supervisor) Children() []ChildInfo {
	out := make([]ChildInfo, len(s.children))
	for i := range s.children {
		out[i] = s.children[i].info()
	}
	return out
}

func (c *child) info() ChildInfo {
	return ChildInfo{Name: c.Name, Restart: c.Restart, State: c.state, Restarts: c.restarts, Consecutive: c.consecutive}
}
