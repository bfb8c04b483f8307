package supervisor

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

const (
	ms = time.Millisecond
	s1 = time.Second
)

// step is one event: a start (exit == "") or an exit with its expected
// Decision.
type step struct {
	start, exit string
	abnormal    bool
	at          time.Duration
	want        Decision
}

func start(name string, at time.Duration) step { return step{start: name, at: at} }

func crash(name string, at time.Duration, want Decision) step {
	return step{exit: name, abnormal: true, at: at, want: want}
}

func normal(name string, at time.Duration, want Decision) step {
	return step{exit: name, at: at, want: want}
}

// startAll starts every named child at time at.
func startAll(at time.Duration, names ...string) []step {
	var out []step
	for _, n := range names {
		out = append(out, start(n, at))
	}
	return out
}

func seq(parts ...any) []step {
	var out []step
	for _, p := range parts {
		switch p := p.(type) {
		case step:
			out = append(out, p)
		case []step:
			out = append(out, p...)
		}
	}
	return out
}

var (
	perm = func(n string) Child { return Child{Name: n, Restart: Permanent} }
	tran = func(n string) Child { return Child{Name: n, Restart: Transient} }
	temp = func(n string) Child { return Child{Name: n, Restart: Temporary} }
)

func TestSequences(t *testing.T) {
	oneForOne := Policy{Strategy: OneForOne, Intensity: 2, Period: 10 * s1, OnExhausted: GiveUp}
	restForOne := Policy{Strategy: RestForOne, Intensity: 5, Period: 10 * s1, OnExhausted: GiveUp}
	backoff := Policy{Strategy: OneForOne, Intensity: 100, Period: 10 * s1,
		Backoff: 100 * ms, BackoffMax: 350 * ms, OnExhausted: GiveUp}

	tests := []struct {
		name     string
		policy   Policy
		children []Child
		steps    []step
		final    []ChildInfo
	}{{
		name:     "intensity: exactly N restarts are fine, N+1 exhausts and gives up",
		policy:   oneForOne,
		children: []Child{perm("a"), perm("b")},
		steps: seq(startAll(0, "a", "b"),
			crash("a", 1*s1, Decision{Restart: []string{"a"},
				Reason: `"a" exited abnormally: restarting [a] after 0s (1 restarts in 10s, intensity 2)`}),
			start("a", 1*s1),
			crash("a", 2*s1, Decision{Restart: []string{"a"},
				Reason: `"a" exited abnormally: restarting [a] after 0s (2 restarts in 10s, intensity 2)`}),
			start("a", 2*s1),
			crash("a", 3*s1, Decision{Exhausted: true, GiveUp: []string{"a"},
				Reason: `"a" exited abnormally: 3 restarts in 10s exceeds intensity 2; leaving [a] down`}),
			// The budget is the supervisor's: b is refused as well.
			crash("b", 4*s1, Decision{Exhausted: true, GiveUp: []string{"b"},
				Reason: `"b" exited abnormally: 3 restarts in 10s exceeds intensity 2; leaving [b] down`}),
			normal("a", 5*s1, Decision{Reason: `"a" exited normally while given-up: ignored`}),
		),
		final: []ChildInfo{
			{Name: "a", Restart: Permanent, State: GivenUp, Restarts: 2, Consecutive: 2},
			{Name: "b", Restart: Permanent, State: GivenUp},
		},
	}, {
		name:     "window: a stamp exactly Period old still counts",
		policy:   Policy{Strategy: OneForOne, Intensity: 1, Period: 10 * s1, OnExhausted: GiveUp},
		children: []Child{perm("a")},
		steps: seq(start("a", 0),
			crash("a", 5*s1, Decision{Restart: []string{"a"},
				Reason: `"a" exited abnormally: restarting [a] after 0s (1 restarts in 10s, intensity 1)`}),
			start("a", 5*s1),
			crash("a", 15*s1, Decision{Exhausted: true, GiveUp: []string{"a"},
				Reason: `"a" exited abnormally: 2 restarts in 10s exceeds intensity 1; leaving [a] down`}),
		),
		final: []ChildInfo{{Name: "a", Restart: Permanent, State: GivenUp, Restarts: 1, Consecutive: 0}},
	}, {
		name:     "window: a stamp older than Period is forgotten",
		policy:   Policy{Strategy: OneForOne, Intensity: 1, Period: 10 * s1, OnExhausted: GiveUp},
		children: []Child{perm("a")},
		steps: seq(start("a", 0),
			crash("a", 5*s1, Decision{Restart: []string{"a"},
				Reason: `"a" exited abnormally: restarting [a] after 0s (1 restarts in 10s, intensity 1)`}),
			start("a", 5*s1),
			crash("a", 15*s1+1, Decision{Restart: []string{"a"},
				Reason: `"a" exited abnormally: restarting [a] after 0s (1 restarts in 10s, intensity 1)`}),
			start("a", 16*s1),
			crash("a", 17*s1, Decision{Exhausted: true, GiveUp: []string{"a"},
				Reason: `"a" exited abnormally: 2 restarts in 10s exceeds intensity 1; leaving [a] down`}),
		),
		final: []ChildInfo{{Name: "a", Restart: Permanent, State: GivenUp, Restarts: 2, Consecutive: 1}},
	}, {
		name:     "intensity 0: the first restart exhausts; escalate stops the rest in reverse order",
		policy:   Policy{Strategy: OneForOne, Intensity: 0, Period: 0, OnExhausted: Escalate},
		children: []Child{perm("a"), perm("b"), perm("c")},
		steps: seq(startAll(0, "a", "b", "c"),
			crash("b", 1*s1, Decision{Exhausted: true, Escalate: true, Stop: []string{"c", "a"},
				Reason: `"b" exited abnormally: 1 restarts in 0s exceeds intensity 0; escalating`}),
		),
		final: []ChildInfo{
			{Name: "a", Restart: Permanent, State: Running},
			{Name: "b", Restart: Permanent, State: GivenUp},
			{Name: "c", Restart: Permanent, State: Running},
		},
	}, {
		name:     "rest_for_one: stop later children in reverse, restart in start order, temporary stays down",
		policy:   restForOne,
		children: []Child{perm("a"), temp("b"), perm("c"), tran("d")},
		steps: seq(startAll(0, "a", "b", "c", "d"),
			crash("a", 1*s1, Decision{Stop: []string{"d", "c", "b"}, Restart: []string{"a", "c", "d"},
				Reason: `"a" exited abnormally: restarting [a c d] after 0s (1 restarts in 10s, intensity 5)`}),
			// The caller reports a deliberate stop: nothing happens.
			normal("c", 1*s1, Decision{Reason: `"c" exited normally while restarting: ignored`}),
			normal("b", 1*s1, Decision{Reason: `"b" exited normally while stopped: ignored`}),
			startAll(1*s1, "a", "c", "d"),
			crash("c", 2*s1, Decision{Stop: []string{"d"}, Restart: []string{"c", "d"},
				Reason: `"c" exited abnormally: restarting [c d] after 0s (2 restarts in 10s, intensity 5)`}),
		),
		final: []ChildInfo{
			{Name: "a", Restart: Permanent, State: Running, Restarts: 1, Consecutive: 1},
			{Name: "b", Restart: Temporary, State: Stopped},
			{Name: "c", Restart: Permanent, State: Restarting, Restarts: 2, Consecutive: 1},
			{Name: "d", Restart: Transient, State: Restarting, Restarts: 2},
		},
	}, {
		name:     "rest_for_one: a pending restart is superseded and stopped children stay down",
		policy:   Policy{Strategy: RestForOne, Intensity: 5, Period: 10 * s1, Backoff: 1 * s1, OnExhausted: GiveUp},
		children: []Child{perm("a"), perm("b"), tran("c"), perm("d")},
		steps: seq(startAll(0, "a", "b", "c", "d"),
			normal("c", 1*s1, Decision{Reason: `"c" exited normally: transient, not restarted`}),
			crash("d", 2*s1, Decision{Restart: []string{"d"}, Delay: 1 * s1,
				Reason: `"d" exited abnormally: restarting [d] after 1s (1 restarts in 10s, intensity 5)`}),
			// d is waiting for its delay when b crashes.
			crash("b", 2500*ms, Decision{Restart: []string{"b", "d"}, Delay: 1 * s1,
				Reason: `"b" exited abnormally: restarting [b d] after 1s (2 restarts in 10s, intensity 5)`}),
		),
		final: []ChildInfo{
			{Name: "a", Restart: Permanent, State: Running},
			{Name: "b", Restart: Permanent, State: Restarting, Restarts: 1, Consecutive: 1},
			{Name: "c", Restart: Transient, State: Stopped},
			{Name: "d", Restart: Permanent, State: Restarting, Restarts: 1, Consecutive: 1},
		},
	}, {
		name:     "backoff doubles, is capped, and resets after running Period",
		policy:   backoff,
		children: []Child{perm("a")},
		steps: seq(start("a", 0),
			crash("a", 1*s1, Decision{Restart: []string{"a"}, Delay: 100 * ms,
				Reason: `"a" exited abnormally: restarting [a] after 100ms (1 restarts in 10s, intensity 100)`}),
			start("a", 1100*ms),
			crash("a", 2*s1, Decision{Restart: []string{"a"}, Delay: 200 * ms,
				Reason: `"a" exited abnormally: restarting [a] after 200ms (2 restarts in 10s, intensity 100)`}),
			start("a", 2200*ms),
			crash("a", 3*s1, Decision{Restart: []string{"a"}, Delay: 350 * ms,
				Reason: `"a" exited abnormally: restarting [a] after 350ms (3 restarts in 10s, intensity 100)`}),
			start("a", 3350*ms),
			crash("a", 4*s1, Decision{Restart: []string{"a"}, Delay: 350 * ms,
				Reason: `"a" exited abnormally: restarting [a] after 350ms (4 restarts in 10s, intensity 100)`}),
			start("a", 4350*ms),
			// Ran 1ns less than Period: the series goes on (the earlier
			// stamps have left the window).
			crash("a", 14350*ms-1, Decision{Restart: []string{"a"}, Delay: 350 * ms,
				Reason: `"a" exited abnormally: restarting [a] after 350ms (1 restarts in 10s, intensity 100)`}),
			start("a", 14700*ms),
			// Ran exactly Period: the series starts over.
			crash("a", 24700*ms, Decision{Restart: []string{"a"}, Delay: 100 * ms,
				Reason: `"a" exited abnormally: restarting [a] after 100ms (1 restarts in 10s, intensity 100)`}),
		),
		final: []ChildInfo{{Name: "a", Restart: Permanent, State: Restarting, Restarts: 6, Consecutive: 1}},
	}, {
		name:     "restart types: transient after abnormal only, temporary never, permanent always",
		policy:   restForOne,
		children: []Child{tran("t"), temp("x"), perm("p")},
		steps: seq(startAll(0, "t", "x", "p"),
			normal("p", 1*s1, Decision{Restart: []string{"p"},
				Reason: `"p" exited normally: restarting [p] after 0s (1 restarts in 10s, intensity 5)`}),
			crash("x", 2*s1, Decision{Reason: `"x" exited abnormally: temporary, not restarted`}),
			start("p", 2*s1),
			crash("t", 3*s1, Decision{Stop: []string{"p"}, Restart: []string{"t", "p"},
				Reason: `"t" exited abnormally: restarting [t p] after 0s (2 restarts in 10s, intensity 5)`}),
			startAll(3*s1, "t", "p"),
			normal("t", 4*s1, Decision{Reason: `"t" exited normally: transient, not restarted`}),
			crash("nobody", 5*s1, Decision{Reason: `unknown child "nobody" exited: ignored`}),
		),
		final: []ChildInfo{
			{Name: "t", Restart: Transient, State: Stopped, Restarts: 1, Consecutive: 1},
			{Name: "x", Restart: Temporary, State: Stopped},
			{Name: "p", Restart: Permanent, State: Running, Restarts: 2, Consecutive: 1},
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := New(tt.policy, tt.children)
			for i, st := range tt.steps {
				if st.exit == "" {
					if !s.OnStarted(st.start, st.at) {
						t.Fatalf("step %d: OnStarted(%q) = false", i, st.start)
					}
					continue
				}
				got := s.OnExit(st.exit, st.abnormal, st.at)
				if diff := cmp.Diff(st.want, got); diff != "" {
					t.Fatalf("step %d: OnExit(%q, %v, %v) (-want +got):\n%s", i, st.exit, st.abnormal, st.at, diff)
				}
			}
			if diff := cmp.Diff(tt.final, s.Children()); diff != "" {
				t.Errorf("Children() (-want +got):\n%s", diff)
			}
			for _, c := range tt.final {
				if got := s.State(c.Name); got != c.State {
					t.Errorf("State(%q) = %v, want %v", c.Name, got, c.State)
				}
				if got, ok := s.Info(c.Name); !ok || got != c {
					t.Errorf("Info(%q) = %+v, %v, want %+v, true", c.Name, got, ok, c)
				}
			}
		})
	}
}

func TestBackoff(t *testing.T) {
	tests := []struct {
		backoff, max time.Duration
		n            int
		want         time.Duration
	}{
		{0, 0, 5, 0},
		{100 * ms, 0, 0, 0},
		{100 * ms, 0, 1, 100 * ms},
		{100 * ms, 0, 4, 800 * ms},
		{100 * ms, 1 * s1, 4, 800 * ms},
		{100 * ms, 1 * s1, 5, 1 * s1},
		{100 * ms, 1 * s1, 1000, 1 * s1},
		{1 * s1, 0, 1000, time.Duration(1<<63 - 1)}, // saturates instead of overflowing
	}
	for _, tt := range tests {
		p := Policy{Backoff: tt.backoff, BackoffMax: tt.max}
		if got := p.backoff(tt.n); got != tt.want {
			t.Errorf("Policy{Backoff: %v, BackoffMax: %v}.backoff(%d) = %v, want %v", tt.backoff, tt.max, tt.n, got, tt.want)
		}
	}
}

func TestValidate(t *testing.T) {
	good := Policy{Strategy: OneForOne, Intensity: 1, Period: s1, OnExhausted: GiveUp}
	tests := []struct {
		name     string
		policy   Policy
		children []Child
		want     string
	}{
		{"good", good, []Child{perm("a"), temp("b")}, ""},
		{"strategy", Policy{Strategy: "one_for_all", OnExhausted: GiveUp}, nil, `unknown strategy "one_for_all"`},
		{"on_exhausted", Policy{Strategy: OneForOne, OnExhausted: "panic"}, nil, `unknown on_exhausted "panic"`},
		{"intensity", Policy{Strategy: OneForOne, Intensity: -1, OnExhausted: GiveUp}, nil, "negative intensity -1"},
		{"durations", Policy{Strategy: OneForOne, Backoff: -1, OnExhausted: GiveUp}, nil, "negative period, backoff or backoff_max"},
		{"twice", good, []Child{perm("a"), perm("a")}, `child "a" listed twice`},
		{"restart", good, []Child{{Name: "a", Restart: "sometimes"}}, `child "a": unknown restart "sometimes"`},
	}
	for _, tt := range tests {
		err := Validate(tt.policy, tt.children)
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got != tt.want {
			t.Errorf("%s: Validate() = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestNewPanicsOnInvalid(t *testing.T) {
	defer func() {
		if r := recover(); r != `supervisor.New: child "a" listed twice` {
			t.Errorf("recover() = %v", r)
		}
	}()
	New(Policy{Strategy: OneForOne, OnExhausted: GiveUp}, []Child{perm("a"), perm("a")})
}

func TestStateString(t *testing.T) {
	for s, want := range map[ChildState]string{
		Stopped: "stopped", Running: "running", Restarting: "restarting", GivenUp: "given-up", 7: "ChildState(7)",
	} {
		if got := s.String(); got != want {
			t.Errorf("ChildState(%d).String() = %q, want %q", int(s), got, want)
		}
	}
}

func TestUnknownName(t *testing.T) {
	s := New(Policy{Strategy: OneForOne, OnExhausted: GiveUp}, []Child{perm("a")})
	if s.OnStarted("b", 0) {
		t.Error(`OnStarted("b") = true`)
	}
	if _, ok := s.Info("b"); ok {
		t.Error(`Info("b") ok`)
	}
	if got := s.State("b"); got != Stopped {
		t.Errorf(`State("b") = %v`, got)
	}
}
