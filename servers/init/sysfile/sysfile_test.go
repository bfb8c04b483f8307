package sysfile

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"grailos/servers/init/supervisor"
)

const full = `# A complete system file.
name = "default"

[supervisor]
strategy = "rest_for_one"
intensity = 3
period = "30s"
backoff = "100ms"
backoff_max = "2s"
heartbeat = "250ms"
hang_timeout = "1s"
on_exhausted = "escalate"

[[server]]
name = "log"
provides = ["log"]
restart = "permanent"
[server.limits]
memory = "16MiB"
pids = 8
cpu = 0.25

[[server]]
name = "echo"
binary = "echo-server"
role = "probe"
args = ["-v", "--greeting=hi"]
provides = [
  "echo",       # the service
  "echo-admin", # its control
]
uses = ["log", "echo"]
restart = "transient"
heartbeat = "0s"
hang_timeout = "5s"
limits = { memory = 1000000, pids = 0, cpu = 2 }

[[server]]
name = "client"
uses = ["echo"]
restart = "temporary"
hang_timeout = "3s"
[server.limits]
memory = "1GB"
`

func TestParseFull(t *testing.T) {
	got, err := Parse("system.toml", []byte(full))
	if err != nil {
		t.Fatal(err)
	}
	want := &System{
		Name: "default",
		Supervisor: Supervisor{
			Strategy:    supervisor.RestForOne,
			Intensity:   3,
			Period:      30 * time.Second,
			Backoff:     100 * time.Millisecond,
			BackoffMax:  2 * time.Second,
			Heartbeat:   250 * time.Millisecond,
			HangTimeout: time.Second,
			OnExhausted: supervisor.Escalate,
		},
		Servers: []Server{{
			Name:        "log",
			Binary:      "log",
			Role:        "server",
			Provides:    []string{"log"},
			Restart:     supervisor.Permanent,
			Heartbeat:   250 * time.Millisecond,
			HangTimeout: time.Second,
			Limits:      Limits{MemoryBytes: 16 << 20, Pids: 8, CPU: 0.25},
			Line:        14,
		}, {
			Name:        "echo",
			Binary:      "echo-server",
			Role:        "probe",
			Args:        []string{"-v", "--greeting=hi"},
			Provides:    []string{"echo", "echo-admin"},
			Uses:        []string{"log", "echo"},
			Restart:     supervisor.Transient,
			Heartbeat:   0,
			HangTimeout: 5 * time.Second,
			Limits:      Limits{MemoryBytes: 1000000, Pids: 0, CPU: 2},
			Line:        23,
		}, {
			Name:        "client",
			Binary:      "client",
			Role:        "server",
			Uses:        []string{"echo"},
			Restart:     supervisor.Temporary,
			Heartbeat:   250 * time.Millisecond,
			HangTimeout: 3 * time.Second,
			Limits:      Limits{MemoryBytes: 1000000000, Pids: 64, CPU: 1},
			Line:        38,
		}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("Parse (-want +got):\n%s", diff)
	}

	deps := map[string][]string{"log": {"echo"}, "echo": {"client"}, "client": nil, "nobody": nil}
	for name, want := range deps {
		if diff := cmp.Diff(want, got.Dependents(name)); diff != "" {
			t.Errorf("Dependents(%q) (-want +got):\n%s", name, diff)
		}
	}
	if srv, ok := got.Server("echo"); !ok || srv.Binary != "echo-server" {
		t.Errorf(`Server("echo") = %+v, %v`, srv, ok)
	}
	if _, ok := got.Server("nobody"); ok {
		t.Error(`Server("nobody") found`)
	}
	wantPolicy := supervisor.Policy{Strategy: supervisor.RestForOne, Intensity: 3, Period: 30 * time.Second,
		Backoff: 100 * time.Millisecond, BackoffMax: 2 * time.Second, OnExhausted: supervisor.Escalate}
	if diff := cmp.Diff(wantPolicy, got.Policy()); diff != "" {
		t.Errorf("Policy (-want +got):\n%s", diff)
	}
	wantChildren := []supervisor.Child{
		{Name: "log", Restart: supervisor.Permanent},
		{Name: "echo", Restart: supervisor.Transient},
		{Name: "client", Restart: supervisor.Temporary},
	}
	if diff := cmp.Diff(wantChildren, got.Children()); diff != "" {
		t.Errorf("Children (-want +got):\n%s", diff)
	}
}

func TestParseDefaults(t *testing.T) {
	got, err := Parse("system.toml", []byte("name = \"min\"\n\n[[server]]\nname = \"a\"\nargs = []\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := &System{
		Name:       "min",
		Supervisor: DefaultSupervisor(),
		Servers: []Server{{
			Name:        "a",
			Binary:      "a",
			Role:        "server",
			Restart:     supervisor.Permanent,
			Heartbeat:   500 * time.Millisecond,
			HangTimeout: 2 * time.Second,
			Limits:      Limits{MemoryBytes: 64 << 20, Pids: 64, CPU: 1},
			Line:        3,
		}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("Parse (-want +got):\n%s", diff)
	}
	wantSup := Supervisor{Strategy: "one_for_one", Intensity: 5, Period: 10 * time.Second,
		BackoffMax: time.Second, Heartbeat: 500 * time.Millisecond, HangTimeout: 2 * time.Second, OnExhausted: "give_up"}
	if diff := cmp.Diff(wantSup, DefaultSupervisor()); diff != "" {
		t.Errorf("DefaultSupervisor (-want +got):\n%s", diff)
	}
}

func TestParseErrors(t *testing.T) {
	const srv = "name = \"sys\"\n[[server]]\nname = \"echo\"\n" // lines 1-3
	tests := []struct {
		name, src, want string
	}{
		// Syntax, from toml.ParseError.
		{"syntax", "name = \"x\"\nfoo = \n", `system.toml:2: expected value but found '\n' instead`},
		{"duplicate key", "name = \"x\"\nname = \"y\"\n", "system.toml:2: Key 'name' has already been defined."},
		{"table and array", srv + "[server]\n", "system.toml:4: Key 'server' has already been defined."},

		// Shape and unknown keys.
		{"unknown top-level key", "name = \"x\"\n\ncolour = 1\n", `system.toml:3: unknown key "colour"`},
		{"unknown table", "name = \"x\"\n[extra]\nkey = 1\n", `system.toml:2: unknown key "extra"`},
		{"unknown supervisor key", "name = \"x\"\n[supervisor]\nretries = 1\n", `system.toml:3: supervisor: unknown key "retries"`},
		{"unknown server key", srv + "colour = 1\n", `system.toml:4: server "echo": unknown key "colour"`},
		{"unknown limits key", srv + "[server.limits]\ncores = 1\n", `system.toml:5: server "echo": unknown key "limits.cores"`},
		{"unknown inline limits key", srv + "limits = { pids = 1, cores = 1 }\n", `system.toml:4: server "echo": unknown key "limits.cores"`},
		{"unknown key in second server", srv + "[[server]]\nname = \"b\"\nrol = \"x\"\n", `system.toml:6: server "b": unknown key "rol"`},
		{"unknown dotted key", srv + "name2.x = 1\n", `system.toml:4: server "echo": unknown key "name2"`},
		{"unknown dotted top-level key", "name = \"x\"\nfoo.bar = 1\n", `system.toml:2: unknown key "foo"`},
		{"unknown key in two servers", srv + "colour = 1\n[[server]]\nname = \"b\"\ncolour = 2\n",
			"system.toml:4: server \"echo\": unknown key \"colour\"\nsystem.toml:7: server \"b\": unknown key \"colour\""},
		{"unknown key in an inline array of servers", "name = \"x\"\nserver = [{ name = \"a\", colour = 1 }]\n",
			`system.toml:2: server: unknown key "colour"`},
		{"case variant", "Name = \"x\"\n", `system.toml:1: unknown key "Name"`},
		{"case variant in server", srv + "Role = \"x\"\n", `system.toml:4: server "echo": unknown key "Role"`},
		{"supervisor not a table", "name = \"x\"\nsupervisor = 5\n", "system.toml:2: supervisor: want a table, got integer"},
		{"server not an array of tables", "name = \"x\"\n\nserver = \"a\"\n", "system.toml:3: server: want an array of tables ([[server]]), got string"},
		{"limits not a table", srv + "limits = \"big\"\n", `system.toml:4: server "echo": limits: want a table, got string`},
		{"spare not a bool", srv + "spare = \"yes\"\n", `system.toml:4: server "echo": spare: want true or false, got string`},
		{"spare of a temporary server", srv + "restart = \"temporary\"\nspare = true\n",
			`system.toml:5: server "echo": spare: a temporary server is never restarted, so a spare would never be used`},

		// System name.
		{"missing name", "[supervisor]\nintensity = 1\n", `system.toml:1: missing key "name"`},
		{"bad name", "\nname = \"Default\"\n", `system.toml:2: name "Default" must match [a-z0-9-]{1,32}`},
		{"name not a string", "name = 5\n", "system.toml:1: name: want a string, got integer"},

		// Supervisor.
		{"strategy", "name = \"x\"\n[supervisor]\nstrategy = \"one_for_all\"\n",
			`system.toml:3: supervisor: unknown strategy "one_for_all" (want one_for_one or rest_for_one)`},
		{"negative intensity", "name = \"x\"\n[supervisor]\nintensity = -1\n", "system.toml:3: supervisor: intensity -1 is negative"},
		{"intensity not an integer", "name = \"x\"\n[supervisor]\nintensity = 1.5\n", "system.toml:3: supervisor: intensity: want an integer, got float"},
		{"bad duration", "name = \"x\"\n[supervisor]\nperiod = \"10\"\n",
			`system.toml:3: supervisor: period "10" is not a duration (like "500ms" or "10s")`},
		{"duration not a string", "name = \"x\"\n[supervisor]\nperiod = 10\n", "system.toml:3: supervisor: period: want a string, got integer"},
		{"negative duration", "name = \"x\"\n[supervisor]\nbackoff = \"-1s\"\n", "system.toml:3: supervisor: backoff -1s is negative"},
		{"zero period", "name = \"x\"\n[supervisor]\nintensity = 1\nperiod = \"0s\"\n",
			"system.toml:4: supervisor: period must be > 0 when intensity > 0"},
		{"backoff_max below backoff", "name = \"x\"\n[supervisor]\nbackoff = \"2s\"\nbackoff_max = \"1s\"\n",
			"system.toml:4: supervisor: backoff_max 1s is less than backoff 2s"},
		{"hang_timeout not above heartbeat", "name = \"x\"\n[supervisor]\nheartbeat = \"1s\"\nhang_timeout = \"1s\"\n",
			"system.toml:4: supervisor: hang_timeout 1s must be longer than heartbeat 1s"},
		{"on_exhausted", "name = \"x\"\n[supervisor]\non_exhausted = \"panic\"\n",
			`system.toml:3: supervisor: unknown on_exhausted "panic" (want give_up or escalate)`},

		// Servers.
		{"server without name", "name = \"x\"\n[[server]]\nrole = \"server\"\n", `system.toml:2: server #1: missing key "name"`},
		{"bad server name", "name = \"x\"\n[[server]]\nname = \"1st\"\n", `system.toml:3: server "1st": name must match [a-z][a-z0-9-]{0,31}`},
		{"duplicate server", srv + "[[server]]\nname = \"echo\"\n", `system.toml:5: server "echo": duplicate name (first defined at line 3)`},
		{"binary with slash", srv + "binary = \"bin/echo\"\n", `system.toml:4: server "echo": binary "bin/echo" must be a plain file name (no '/')`},
		{"binary dot-dot", srv + "binary = \"..\"\n", `system.toml:4: server "echo": binary ".." must be a plain file name (no '/')`},
		{"unknown role", "name = \"sys\"\n\n[supervisor]\nintensity = 1\n\n[[server]]\nname = \"log\"\n\n[[server]]\nname = \"echo\"\n\nrole = \"x\"\n",
			`system.toml:12: server "echo": unknown role "x"`},
		{"args not an array", srv + "args = \"-v\"\n", `system.toml:4: server "echo": args: want an array of strings, got string`},
		{"args element", srv + "args = [\"-v\", 2]\n", `system.toml:4: server "echo": args[1]: want a string, got integer`},
		{"bad endpoint", srv + "provides = [\"Echo\"]\n", `system.toml:4: server "echo": provides: endpoint "Echo" must match [a-z][a-z0-9-]{0,31}`},
		{"endpoint twice", srv + "provides = [\"echo\", \"echo\"]\n", `system.toml:4: server "echo": provides: endpoint "echo" listed twice`},
		{"endpoint provided twice", srv + "provides = [\"echo\"]\n[[server]]\nname = \"b\"\nprovides = [\"echo\"]\n",
			`system.toml:7: server "b": endpoint "echo" is already provided by server "echo"`},
		{"device granted twice", srv + "devices = [\"nic0\"]\n[[server]]\nname = \"b\"\ndevices = [\"nic0\"]\n",
			`system.toml:7: server "b": device "nic0" is already granted to server "echo"`},
		{"bad device", srv + "devices = [\"Nic\"]\n", `system.toml:4: server "echo": devices: device "Nic" must match [a-z][a-z0-9-]{0,31}`},
		{"bad device with model", srv + "devices = [\"Nic:rtl8139\"]\n", `system.toml:4: server "echo": devices: device "Nic" must match [a-z][a-z0-9-]{0,31}`},
		{"unknown model", srv + "\ndevices = [\"nic0:ne2000\"]\n",
			`system.toml:5: server "echo": devices: device "nic0": unknown model "ne2000" (want e1000 or rtl8139)`},
		{"empty model", srv + "devices = [\"nic0:\"]\n", `system.toml:4: server "echo": devices: device "nic0": unknown model "" (want e1000 or rtl8139)`},
		{"device listed twice", srv + "devices = [\"nic0\", \"nic0:rtl8139\"]\n", `system.toml:4: server "echo": devices: device "nic0" listed twice`},
		{"device with model granted twice", srv + "devices = [\"nic0:rtl8139\"]\n[[server]]\nname = \"b\"\ndevices = [\"nic0\"]\n",
			`system.toml:7: server "b": device "nic0" is already granted to server "echo"`},
		{"devices not strings", srv + "devices = [\"nic0\", 1]\n", `system.toml:4: server "echo": devices[1]: want a string, got integer`},
		{"uses unprovided", srv + "provides = [\"echo\"]\nuses = [\"echo\", \"log\"]\n",
			`system.toml:5: server "echo": uses endpoint "log" that no server provides`},
		{"restart", srv + "restart = \"always\"\n", `system.toml:4: server "echo": unknown restart "always" (want permanent, transient or temporary)`},
		{"server hang_timeout", srv + "hang_timeout = \"100ms\"\n", `system.toml:4: server "echo": hang_timeout 100ms must be longer than heartbeat 500ms`},
		{"server heartbeat", srv + "heartbeat = \"3s\"\n", `system.toml:4: server "echo": hang_timeout 2s must be longer than heartbeat 3s`},
		{"server bad duration", srv + "heartbeat = \"soon\"\n", `system.toml:4: server "echo": heartbeat "soon" is not a duration (like "500ms" or "10s")`},

		// Limits.
		{"memory unit", srv + "[server.limits]\nmemory = \"64XB\"\n",
			`system.toml:5: server "echo": limits.memory "64XB": unknown unit "XB" (want B, KiB, MiB, GiB, KB, MB, GB)`},
		{"memory without unit", srv + "[server.limits]\nmemory = \"64\"\n",
			`system.toml:5: server "echo": limits.memory "64": missing unit (B, KiB, MiB, GiB, KB, MB, GB)`},
		{"memory not a size", srv + "[server.limits]\nmemory = \"lots\"\n", `system.toml:5: server "echo": limits.memory "lots": not a size (like "64MiB")`},
		{"memory too large", srv + "[server.limits]\nmemory = \"9000000000GiB\"\n", `system.toml:5: server "echo": limits.memory "9000000000GiB": too large`},
		{"memory negative", srv + "[server.limits]\nmemory = -1\n", `system.toml:5: server "echo": limits.memory -1 is negative`},
		{"memory type", srv + "[server.limits]\nmemory = 1.5\n", `system.toml:5: server "echo": limits.memory: want a size string or an integer, got float`},
		{"pids negative", srv + "[server.limits]\npids = -2\n", `system.toml:5: server "echo": limits.pids -2 is negative`},
		{"pids type", srv + "[server.limits]\npids = \"64\"\n", `system.toml:5: server "echo": limits.pids: want an integer, got string`},
		{"cpu negative", srv + "[server.limits]\ncpu = -0.5\n", `system.toml:5: server "echo": limits.cpu -0.5 is negative`},
		{"cpu too small", srv + "[server.limits]\ncpu = 0.001\n", `system.toml:5: server "echo": limits.cpu 0.001 is below the minimum 0.01`},
		{"cpu nan", srv + "[server.limits]\ncpu = nan\n", `system.toml:5: server "echo": limits.cpu NaN is not a finite number`},
		{"cpu type", srv + "[server.limits]\ncpu = \"1\"\n", `system.toml:5: server "echo": limits.cpu: want a number, got string`},

		// Several errors come sorted by line.
		{"several", "name = \"x\"\n[[server]]\nname = \"b\"\nrole = \"x\"\n[supervisor]\nintensity = -1\n",
			"system.toml:4: server \"b\": unknown role \"x\"\nsystem.toml:6: supervisor: intensity -1 is negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sys, err := Parse("system.toml", []byte(tt.src))
			if err == nil {
				t.Fatalf("Parse succeeded: %+v", sys)
			}
			if got := err.Error(); got != tt.want {
				t.Errorf("Parse error:\n got %s\nwant %s", got, tt.want)
			}
			var e *Error
			if !errors.As(err, &e) || e.File != "system.toml" || e.Line < 1 {
				t.Errorf("error %#v is not an *Error with file and line", err)
			}
		})
	}
}

// A device names its model after a colon; without one it is the e1000.
func TestParseDevices(t *testing.T) {
	got, err := Parse("system.toml", []byte(`name = "sys"
[[server]]
name = "rtl"
role = "driver"
devices = ["nic0:rtl8139", "nic1", "nic2:e1000"]
`))
	if err != nil {
		t.Fatal(err)
	}
	want := []Device{{Name: "nic0", Model: "rtl8139"}, {Name: "nic1", Model: "e1000"}, {Name: "nic2", Model: "e1000"}}
	if diff := cmp.Diff(want, got.Servers[0].Devices); diff != "" {
		t.Errorf("devices (-want +got):\n%s", diff)
	}
}

func TestParseRoles(t *testing.T) {
	src := []byte("name = \"x\"\n[[server]]\nname = \"a\"\nrole = \"net\"\n")
	if _, err := Parse("system.toml", src); err == nil || err.Error() != `system.toml:4: server "a": unknown role "net"` {
		t.Errorf("Parse = %v", err)
	}
	sys, err := Parser{Roles: []string{"net"}}.Parse("system.toml", src)
	if err != nil || sys.Servers[0].Role != "net" {
		t.Errorf("Parser{Roles: net}.Parse = %+v, %v", sys, err)
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "system.toml")
	if err := os.WriteFile(path, []byte(full), 0o644); err != nil {
		t.Fatal(err)
	}
	sys, err := Load(path)
	if err != nil || sys.Name != "default" || len(sys.Servers) != 3 {
		t.Fatalf("Load = %+v, %v", sys, err)
	}
	bad := filepath.Join(dir, "bad.toml")
	if err := os.WriteFile(bad, []byte("name = 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(bad); err == nil || err.Error() != bad+":1: name: want a string, got integer" {
		t.Errorf("Load(bad) = %v", err)
	}
	if _, err := Load(filepath.Join(dir, "missing.toml")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Load(missing) = %v, want ErrNotExist", err)
	}
}

func TestParseSize(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		msg  string
	}{
		{"0B", 0, ""},
		{"1B", 1, ""},
		{"64MiB", 64 << 20, ""},
		{"64 MiB", 64 << 20, ""},
		{"2KiB", 2048, ""},
		{"3GiB", 3 << 30, ""},
		{"5KB", 5000, ""},
		{"5MB", 5000000, ""},
		{"5GB", 5000000000, ""},
		{"8589934591GiB", 8589934591 << 30, ""},
		{"8589934592GiB", 0, "too large"},
		{"64mib", 0, `unknown unit "mib" (want B, KiB, MiB, GiB, KB, MB, GB)`},
		{"1.5GiB", 0, `unknown unit ".5GiB" (want B, KiB, MiB, GiB, KB, MB, GB)`},
		{"MiB", 0, `not a size (like "64MiB")`},
		{"", 0, `not a size (like "64MiB")`},
	}
	for _, tt := range tests {
		got, msg := parseSize(tt.in)
		if got != tt.want || msg != tt.msg {
			t.Errorf("parseSize(%q) = %d, %q, want %d, %q", tt.in, got, msg, tt.want, tt.msg)
		}
	}
}
