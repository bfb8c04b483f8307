package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"grailos/cmd/grail/internal/system"
	"grailos/cmd/grail/internal/testbin"
	"grailos/kernel"
	"grailos/kernel/sandbox"
)

var binDir string

func TestMain(m *testing.M) {
	sandbox.Stage1()
	os.Exit(run(m))
}

func run(m *testing.M) int {
	dir, cleanup, err := testbin.Dir("./cmd/grail", "./servers/init", "./servers/echo", "./servers/pinger")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer cleanup()
	binDir = dir
	return m.Run()
}

func grail(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := Main(args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestUsageAndErrors(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.toml")
	os.WriteFile(bad, []byte("name = \"x\"\n\n[[server]]\nname = \"echo\"\nrole = \"nope\"\n"), 0o644)
	tests := []struct {
		args    []string
		code    int
		errText string
	}{
		{[]string{"frobnicate"}, 2, "grail: unknown command \"frobnicate\""},
		{[]string{"check"}, 2, "grail check: name one system file\n"},
		{[]string{"check", bad}, 1, "grail check: " + bad + ":5: server \"echo\": unknown role \"nope\""},
		{[]string{"bench", "nope"}, 2, "grail bench: unknown benchmark \"nope\" (known: ipc, nic, net, restart)\n"},
		{[]string{"bench", "restart", "--json", "out.json", "--plot", "p.png"}, 2, "grail bench: unexpected argument \"out.json\" (flags after it were not read)\n"},
		{[]string{"ps", "--run-dir", t.TempDir()}, 1, "grail ps: no GrailOS system is running (start one with `grail up`)\n"},
	}
	for _, tc := range tests {
		code, _, errText := grail(tc.args...)
		if code != tc.code || !strings.HasPrefix(errText, tc.errText) {
			t.Errorf("grail %v: code %d, stderr %q; want %d, %q", tc.args, code, errText, tc.code, tc.errText)
		}
	}
	code, out, _ := grail("help")
	if code != 0 || !strings.HasPrefix(out, "usage: grail COMMAND") {
		t.Errorf("help: %d %q", code, out)
	}
}

// `grail up` in the foreground; ps, kill, events and logs against it; then
// Ctrl-C leaves no process, cgroup or run folder behind.
func TestUpControlAndCleanShutdown(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: tasks get their own namespaces and cgroups")
	}
	runRoot := t.TempDir()
	sysFile := filepath.Join(t.TempDir(), "sys.toml")
	os.WriteFile(sysFile, []byte(`name = "t-cli"
[supervisor]
heartbeat = "0s"
[[server]]
name = "echo"
provides = ["echo"]
[[server]]
name = "pinger"
uses = ["echo"]
`), 0o644)
	var out bytes.Buffer
	up := exec.Command(filepath.Join(binDir, "grail"), "up", "--bin", binDir, "--run-dir", runRoot, sysFile)
	up.Stdout, up.Stderr = &out, &out
	if err := up.Start(); err != nil {
		t.Fatal(err)
	}
	defer up.Process.Kill()
	sock := filepath.Join(runRoot, "t-cli", "control.sock")
	var c *system.Client
	for deadline := time.Now().Add(20 * time.Second); ; {
		var err error
		if c, err = system.Dial(sock); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no control socket: %v\n%s", err, out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	c.Close()
	// Wait until both servers are ready, through the events command.
	var tasks []kernel.TaskInfo
	for deadline := time.Now().Add(20 * time.Second); ; {
		code, js, errText := grail("ps", "--json", "--run-dir", runRoot)
		if code != 0 {
			t.Fatalf("ps: %s", errText)
		}
		json.Unmarshal([]byte(js), &tasks)
		ready := 0
		for _, ti := range tasks {
			if ti.State == "ready" {
				ready++
			}
		}
		if ready == 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not ready: %s", js)
		}
		time.Sleep(20 * time.Millisecond)
	}
	var names []string
	var pids []int
	for _, ti := range tasks {
		names = append(names, ti.Name)
		if ti.Name != "kernel" {
			pids = append(pids, ti.Pid)
		}
	}
	if got := strings.Join(names, ","); got != "kernel,echo,init,pinger" {
		t.Fatalf("ps lists %s", got)
	}
	code, killOut, errText := grail("kill", "--run-dir", runRoot, "echo")
	if code != 0 || killOut != "killed echo\n" {
		t.Fatalf("kill: %d %q %q", code, killOut, errText)
	}
	for deadline := time.Now().Add(20 * time.Second); ; {
		_, evs, _ := grail("events", "--json", "--run-dir", runRoot)
		if strings.Contains(evs, `"subject":"echo","kind":"restarting"`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no restart in the event log:\n%s", evs)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if code, _, errText := grail("kill", "--run-dir", runRoot, "nosuch"); code != 1 || errText != "grail kill: no running task named \"nosuch\"\n" {
		t.Errorf("kill nosuch: %d %q", code, errText)
	}
	if code, logs, _ := grail("logs", "--run-dir", runRoot, "pinger"); code != 0 || !strings.Contains(logs, "ring session to echo opened") {
		t.Errorf("logs pinger: %d %q", code, logs)
	}
	cgDirs, _ := filepath.Glob("/sys/fs/cgroup/*/grail-t-cli-*")
	cgDirs2, _ := filepath.Glob("/sys/fs/cgroup/*/*/*/grail-t-cli-*")
	cgDirs = append(cgDirs, cgDirs2...)
	if len(cgDirs) == 0 {
		t.Errorf("no cgroup folders for the system")
	}

	up.Process.Signal(syscall.SIGINT)
	if err := up.Wait(); err != nil {
		t.Errorf("grail up after Ctrl-C: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "grail: interrupt: shutting down") {
		t.Errorf("output lacks the shutdown line:\n%s", out.String())
	}
	for _, p := range pids {
		if unix.Kill(p, 0) == nil {
			t.Errorf("task pid %d alive after Ctrl-C", p)
		}
	}
	if _, err := os.Stat(filepath.Join(runRoot, "t-cli")); !os.IsNotExist(err) {
		t.Errorf("run folder left: %v", err)
	}
	for _, d := range cgDirs {
		if _, err := os.Stat(d); !os.IsNotExist(err) {
			t.Errorf("cgroup %s left", d)
		}
	}
}
