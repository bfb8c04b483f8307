package kernel

import (
	"fmt"
	"os"
	"sort"
	"time"

	"grailos/kernel/abi"
	"grailos/kernel/sandbox"
)

// TaskInfo describes a task for `grail ps`.
type TaskInfo struct {
	Name      string        `json:"name"`
	Pid       int           `json:"pid"`
	State     string        `json:"state"` // starting, running, ready, or a supervision note for tasks that are down
	Restarts  int           `json:"restarts"`
	RSSBytes  int64         `json:"rss_bytes"`
	CapCount  int           `json:"caps"`
	Uptime    time.Duration `json:"uptime_ns"`
	Role      string        `json:"role"`
	LastExit  string        `json:"last_exit,omitempty"`
	SharedMem int64         `json:"shared_mem_bytes"`
}

// Tasks lists live tasks, then names that are down (given up on, or exited
// and not restarted), in name order; the kernel itself comes first as "kernel".
func (k *Kernel) Tasks() []TaskInfo {
	k.mu.Lock()
	var infos []TaskInfo
	live := map[string]bool{}
	for _, t := range k.byName {
		st := "starting"
		switch {
		case t.ready:
			st = "ready"
		case t.running:
			st = "running"
		}
		infos = append(infos, TaskInfo{Name: t.name, Pid: t.proc.Pid, State: st, Restarts: t.instance - 1,
			CapCount: t.caps.n, Uptime: time.Since(t.started), Role: t.spec.Role, SharedMem: t.memBytes})
		live[t.name] = true
	}
	for name, n := range k.instances {
		if live[name] {
			continue
		}
		st := "down"
		if s, ok := k.status[name]; ok {
			st = s
		}
		if k.starting[name] {
			st = "starting"
		}
		infos = append(infos, TaskInfo{Name: name, State: st, Restarts: n - 1})
	}
	k.mu.Unlock()
	for i := range infos {
		if infos[i].Pid > 0 {
			infos[i].RSSBytes, _ = sandbox.RSS(infos[i].Pid)
		}
	}
	sort.Slice(infos, func(i, j int) bool { return infos[i].Name < infos[j].Name })
	self, _ := sandbox.RSS(os.Getpid())
	return append([]TaskInfo{{Name: "kernel", Pid: os.Getpid(), State: "running", RSSBytes: self, Role: "kernel"}}, infos...)
}

// Kill kills the live task called name, as a crash would.
func (k *Kernel) Kill(name string) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	t, ok := k.byName[name]
	if !ok {
		return fmt.Errorf("no running task named %q", name)
	}
	k.kill(t, "killed by operator")
	return nil
}

// Note sends the live task called name an operator note (EventNote): what
// it means is the task's business (a driver server with -inject takes
// "inject segv" and the like). The note is recorded in the event log.
func (k *Kernel) Note(name string, note []byte) error {
	if len(note) == 0 || len(note) > abi.MaxNote {
		return fmt.Errorf("a note is 1 to %d bytes", abi.MaxNote)
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	t, ok := k.byName[name]
	if !ok {
		return fmt.Errorf("no running task named %q", name)
	}
	k.events.Add("kernel", name, "note", string(note))
	k.send(t, abi.Message{Header: abi.Header{Op: abi.OpEvent, Arg0: uint64(abi.EventNote)}, Payload: append([]byte(nil), note...)})
	return nil
}

// Pid returns the host pid of the live task called name.
func (k *Kernel) Pid(name string) (int, bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	t, ok := k.byName[name]
	if !ok {
		return 0, false
	}
	return t.proc.Pid, true
}

// Logs returns the recent output lines of a task ("" = all tasks, prefixed).
func (k *Kernel) Logs(name string) []string { return k.logs.get(name) }

// WaitOutput waits until task name has printed line at least n times in
// total (counting the kept recent lines).
func (k *Kernel) WaitOutput(name, line string, n int, timeout time.Duration) error {
	return k.logs.wait(name, timeout, func(ls []string) bool {
		c := 0
		for _, l := range ls {
			if l == line {
				c++
			}
		}
		return c >= n
	})
}

// ExitOf reports how the root task ended (valid after Wait).
func (k *Kernel) ExitOf() abi.ExitCode { return k.Wait() }
