package system

import (
	"fmt"
	"strings"
	"testing"

	"grailos/kernel"
	"grailos/kernel/abi"
)

// expect waits for subject's events of the given kinds, in this order, from
// index from on; it returns the events and the index after the last.
func expect(t *testing.T, s *System, from int, subject string, kinds ...string) ([]kernel.Event, int) {
	t.Helper()
	var evs []kernel.Event
	for _, k := range kinds {
		e, i, err := s.Kernel.Events().WaitFor(from, subject, k, wait)
		if err != nil {
			t.Fatal(err)
		}
		evs = append(evs, e)
		from = i + 1
	}
	return evs, from
}

func task(t *testing.T, s *System, name string) kernel.TaskInfo {
	t.Helper()
	for _, ti := range s.Kernel.Tasks() {
		if ti.Name == name {
			return ti
		}
	}
	t.Fatalf("no task %s in %v", name, s.Kernel.Tasks())
	return kernel.TaskInfo{}
}

func superviseSystem(name, supervisor string, extra string) string {
	return fmt.Sprintf(`
name = %q
[supervisor]
%s
[[server]]
name = "echo"
provides = ["echo"]
[[server]]
name = "pinger"
uses = ["echo"]
args = ["-interval", "20ms"]
%s
`, name, supervisor, extra)
}

// kill -9 of a server: detected, restarted within policy, and its client
// re-attaches (init tells it; it opens a new ring session).
func TestRestartAfterKill(t *testing.T) {
	s := boot(t, superviseSystem("t-kill", `heartbeat = "0s"`, ""))
	_, from := expect(t, s, 0, "pinger", "ready")
	if err := s.Kernel.WaitOutput("pinger", "ring session to echo opened", 1, wait); err != nil {
		t.Fatal(err)
	}
	old := task(t, s, "echo").Pid
	if err := s.Kernel.Kill("echo"); err != nil {
		t.Fatal(err)
	}
	evs, from := expect(t, s, from, "echo", "exited", "crash-detected", "restart-scheduled", "restarting", "spawned", "confined", "ready")
	if evs[0].Detail != "killed by signal 9" || evs[1].Detail != "killed by signal 9" {
		t.Errorf("exit reported as %q / %q", evs[0].Detail, evs[1].Detail)
	}
	for i := 1; i < len(evs); i++ {
		if evs[i].T < evs[i-1].T {
			t.Errorf("event %s before %s", evs[i].Kind, evs[i-1].Kind)
		}
	}
	ti := task(t, s, "echo")
	if ti.Restarts != 1 || ti.Pid == old || ti.State != "ready" {
		t.Errorf("echo after restart: %+v (old pid %d)", ti, old)
	}
	// The client heard of the restart and re-opened its session.
	if err := s.Kernel.WaitOutput("pinger", "ring session to echo opened", 2, wait); err != nil {
		t.Error(err)
	}
	if p := task(t, s, "pinger"); p.Restarts != 0 {
		t.Errorf("pinger restarted %d times; a server's crash must not take its client down", p.Restarts)
	}
}

func TestRestartAfterCrashAndExit(t *testing.T) {
	for _, tc := range []struct{ mode, exit string }{
		{"echo-crash", "exit status 2"}, // Go turns the SIGSEGV into a fatal panic
		{"echo-exit", "exit status 3"},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			s := boot(t, probeSystem("t-"+tc.mode, "server", tc.mode))
			evs, _ := expect(t, s, 0, "echo", "exited", "crash-detected", "restarting", "ready")
			if evs[0].Detail != tc.exit {
				t.Errorf("exit %q, want %q", evs[0].Detail, tc.exit)
			}
			got := checks(t, s)
			if got[tc.mode] != "peer died" {
				t.Errorf("the caller saw %q, want peer died", got[tc.mode])
			}
		})
	}
}

// A server whose dispatcher hangs misses its heartbeats, is killed and
// restarted.
func TestHangDetected(t *testing.T) {
	s := boot(t, strings.Replace(probeSystem("t-hang", "server", "echo-hang"),
		`heartbeat = "0s"`, `heartbeat = "50ms"`+"\n"+`hang_timeout = "200ms"`, 1))
	evs, _ := expect(t, s, 0, "echo", "hang-detected", "exited", "crash-detected", "restarting", "ready")
	if evs[0].Detail != "no heartbeat answer within 200ms" {
		t.Errorf("hang detail %q", evs[0].Detail)
	}
	if evs[2].Detail != "hung, killed by signal 9" {
		t.Errorf("crash detail %q", evs[2].Detail)
	}
	if got := checks(t, s); got["echo-hang"] != "timed out" {
		t.Errorf("the hung call ended with %q, want timed out", got["echo-hang"])
	}
}

// More restarts than the intensity allows: with give_up, the server stays
// down and the rest of the system keeps running.
func TestIntensityGiveUp(t *testing.T) {
	s := boot(t, superviseSystem("t-giveup", `heartbeat = "0s"
intensity = 2
period = "1m"
on_exhausted = "give_up"`, ""))
	_, from := expect(t, s, 0, "pinger", "ready")
	for i := 0; i < 2; i++ {
		if err := s.Kernel.Kill("echo"); err != nil {
			t.Fatal(err)
		}
		_, from = expect(t, s, from, "echo", "restarting", "ready")
	}
	if err := s.Kernel.Kill("echo"); err != nil {
		t.Fatal(err)
	}
	evs, _ := expect(t, s, from, "echo", "exited", "crash-detected", "gave-up")
	want := `"echo" exited abnormally: 3 restarts in 1m0s exceeds intensity 2; leaving [echo] down`
	if evs[2].Detail != want {
		t.Errorf("gave-up detail %q, want %q", evs[2].Detail, want)
	}
	ti := task(t, s, "echo")
	if ti.Pid != 0 || ti.State != "gave-up: "+want || ti.Restarts != 2 {
		t.Errorf("ps shows echo as %+v", ti)
	}
	if p := task(t, s, "pinger"); p.State != "ready" {
		t.Errorf("pinger is %s after echo was given up", p.State)
	}
	if i := task(t, s, "init"); i.State != "ready" {
		t.Errorf("init is %s", i.State)
	}
}

// With escalate, exceeding the intensity ends init, and so the system.
func TestIntensityEscalate(t *testing.T) {
	s := boot(t, superviseSystem("t-escalate", `heartbeat = "0s"
intensity = 1
period = "1m"
on_exhausted = "escalate"`, ""))
	_, from := expect(t, s, 0, "pinger", "ready")
	s.Kernel.Kill("echo")
	_, from = expect(t, s, from, "echo", "ready")
	s.Kernel.Kill("echo")
	expect(t, s, from, "echo", "escalate")
	expect(t, s, from, "init", "exited")
	if code := s.Wait(); code != abi.ExitCode(1) {
		t.Errorf("init ended with %v, want exit status 1", code)
	}
}
