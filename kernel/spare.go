package kernel

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"grailos/kernel/abi"
	"grailos/kernel/cgroup"
	"grailos/kernel/sandbox"
)

// A warm spare is the next instance of a task, started ahead: its process
// forked, placed in its own cgroup, its root built, its binary running and
// its confinement verified — waiting in its hello for the boot reply. When
// the task dies and its supervisor spawns it again with the same spec, the
// kernel answers the spare's hello instead of starting a process, which
// takes process start, cgroup placement and the confinement check off the
// restart path. A new spare is prepared once the new instance is ready.
// Only tasks named in Config.Spares get one (a system file's `spare =
// true`); a spare holds no capability until it is promoted.
type spare struct {
	key   string
	proc  *sandbox.Process
	sspec sandbox.Spec
	group cgroup.Group
	uid   int
	hello abi.Message
}

// spareKey is what must match for a spare to stand in for a spawn.
func spareKey(s *abi.SpawnSpec) string {
	return fmt.Sprintf("%s\x00%s\x00%s\x00%d/%d/%d", s.Binary, s.Role, strings.Join(s.Args, "\x00"), s.MemoryBytes, s.Pids, s.CPUMilli)
}

// takeSpare hands out the spare for spec, if one matches (k.mu held). A
// spare that does not match (the spec changed) is discarded.
func (k *Kernel) takeSpare(spec *abi.SpawnSpec) *spare {
	sp := k.spares[spec.Name]
	if sp == nil {
		return nil
	}
	delete(k.spares, spec.Name)
	if sp.key != spareKey(spec) {
		go sp.discard()
		return nil
	}
	k.events.Add("kernel", spec.Name, "spare-used", fmt.Sprintf("pid %d", sp.proc.Pid))
	return sp
}

// discard kills an unused spare and removes its cgroup.
func (sp *spare) discard() {
	sp.proc.Kill()
	sp.proc.Wait()
	sp.proc.Close()
	if sp.group != nil {
		sp.group.Delete()
	}
}

// wantsSpare reports whether task name gets warm spares.
func (k *Kernel) wantsSpare(name string) bool { return slices.Contains(k.cfg.Spares, name) }

// prepareSpare starts a spare for spec unless one exists or is being made.
func (k *Kernel) prepareSpare(spec abi.SpawnSpec) {
	k.mu.Lock()
	if k.stopping || k.spares[spec.Name] != nil || k.preparing[spec.Name] {
		k.mu.Unlock()
		return
	}
	k.preparing[spec.Name] = true
	k.nextID++
	id := k.nextID
	k.mu.Unlock()
	sp, err := k.newSpare(&spec, id)
	k.mu.Lock()
	delete(k.preparing, spec.Name)
	switch {
	case err != nil:
		k.events.Add("kernel", spec.Name, "spare-failed", err.Error())
	case k.stopping:
		go sp.discard()
	default:
		k.spares[spec.Name] = sp
		k.events.Add("kernel", spec.Name, "spare-ready", fmt.Sprintf("pid %d", sp.proc.Pid))
	}
	k.mu.Unlock()
}

func (k *Kernel) newSpare(spec *abi.SpawnSpec, id uint32) (*spare, error) {
	uid := k.cfg.UIDBase + int(id%1000000)
	bin := filepath.Join(k.cfg.BinDir, spec.Binary)
	proc, sspec, group, err := k.startProcess(spec.Name, id, uid, spec, bin)
	if err != nil {
		return nil, err
	}
	sp := &spare{key: spareKey(spec), proc: proc, sspec: sspec, group: group, uid: uid}
	if sp.hello, err = k.awaitHello(proc, sspec); err != nil {
		sp.discard()
		return nil, err
	}
	return sp, nil
}

// dropSpares discards every spare (shutdown).
func (k *Kernel) dropSpares() {
	k.mu.Lock()
	all := k.spares
	k.spares = map[string]*spare{}
	k.mu.Unlock()
	for _, sp := range all {
		sp.discard()
	}
}
