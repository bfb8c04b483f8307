package cgroup

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/containerd/cgroups/v3/cgroup1"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// wantV1 lists the v1 controllers limits use, in the order Group.Path
// prefers their directories.
var wantV1 = []cgroup1.Name{cgroup1.Memory, cgroup1.Pids, cgroup1.Cpu}

// pather is implemented by every cgroup1 controller with a directory.
type pather interface{ Path(rel string) string }

// v1 is the backend for v1 and hybrid layouts: one directory per controller
// hierarchy, each nested under the process's own group in that hierarchy.
type v1 struct {
	parent cgroup1.Cgroup
	subs   []cgroup1.Subsystem
	pdirs  []string
	token  tokens // see token.go
}

// v1Subsystems returns the controllers of wantV1 that are mounted and that
// the process is in, with a note for each missing one.
func v1Subsystems() ([]cgroup1.Subsystem, []string, error) {
	all, err := cgroup1.Default()
	if err != nil {
		return nil, nil, fmt.Errorf("cgroup v1: list hierarchies: %w", err)
	}
	own := cgroup1.NestedPath("")
	var subs []cgroup1.Subsystem
	var notes []string
	for _, name := range wantV1 {
		i := slices.IndexFunc(all, func(s cgroup1.Subsystem) bool { return s.Name() == name })
		if i < 0 {
			notes = append(notes, fmt.Sprintf("%s: no cgroup v1 hierarchy is mounted; its limits are not enforced", name))
			continue
		}
		if _, err := own(name); errors.Is(err, cgroup1.ErrControllerNotActive) {
			notes = append(notes, fmt.Sprintf("%s: not in /proc/self/cgroup; its limits are not enforced", name))
			continue
		} else if err != nil {
			return nil, nil, fmt.Errorf("cgroup v1: %s: own group: %w", name, err)
		}
		subs = append(subs, all[i])
	}
	if len(subs) == 0 {
		return nil, nil, fmt.Errorf("cgroup v1: none of memory, pids, cpu is usable: %s", strings.Join(notes, "; "))
	}
	return subs, notes, nil
}

// v1Dirs returns the directory of the group at path in each hierarchy.
func v1Dirs(subs []cgroup1.Subsystem, path cgroup1.Path) ([]string, error) {
	var dirs []string
	for _, s := range subs {
		rel, err := path(s.Name())
		if err != nil {
			return nil, fmt.Errorf("cgroup v1: %s: %w", s.Name(), err)
		}
		dirs = append(dirs, s.(pather).Path(rel))
	}
	return dirs, nil
}

func openV1(parentName string) (*v1, []string, error) {
	subs, notes, err := v1Subsystems()
	if err != nil {
		return nil, nil, err
	}
	path := cgroup1.NestedPath(parentName)
	dirs, err := v1Dirs(subs, path)
	if err != nil {
		return nil, nil, err
	}
	token, err := claimParent(dirs)
	if err != nil {
		return nil, nil, err
	}
	for _, d := range dirs {
		if err := clearLeftover(d); err != nil {
			token.release()
			return nil, nil, err
		}
	}
	parent, err := cgroup1.New(path, &specs.LinuxResources{},
		cgroup1.WithHierarchy(func() ([]cgroup1.Subsystem, error) { return subs, nil }))
	if err != nil {
		removeDirs(dirs)
		token.release()
		return nil, nil, fmt.Errorf("cgroup v1: create parent group: %w", err)
	}
	return &v1{parent: parent, subs: subs, pdirs: dirs, token: token}, notes, nil
}

func (b *v1) dirs() []string { return slices.Clone(b.pdirs) }

func (b *v1) controllers() []string {
	var out []string
	for _, s := range b.subs {
		out = append(out, string(s.Name()))
	}
	return out
}

func (b *v1) remove() error {
	if err := b.parent.Delete(); err != nil {
		return fmt.Errorf("cgroup v1: remove parent group: %w", err)
	}
	b.token.release()
	return nil
}

func (b *v1) newGroup(name string, l Limits) (group, error) {
	res := &specs.LinuxResources{}
	if l.MemoryBytes > 0 {
		res.Memory = &specs.LinuxMemory{Limit: &l.MemoryBytes}
	}
	if l.Pids > 0 {
		res.Pids = &specs.LinuxPids{Limit: &l.Pids}
	}
	if l.CPU > 0 {
		quota, period := cpuQuota(l.CPU), uint64(cpuPeriod)
		res.CPU = &specs.LinuxCPU{Quota: &quota, Period: &period}
	}
	dirs := make([]string, len(b.pdirs))
	for i, d := range b.pdirs {
		dirs[i] = filepath.Join(d, name)
	}
	cg, err := b.parent.New(name, res)
	if err != nil {
		removeDirs(dirs)
		return nil, fmt.Errorf("cgroup v1: create group %q: %w", name, err)
	}
	return &v1Group{cg: cg, subs: b.subs, ds: dirs}, nil
}

type v1Group struct {
	cg   cgroup1.Cgroup
	subs []cgroup1.Subsystem
	ds   []string // one per subs
}

func (g *v1Group) dirs() []string { return g.ds }

func (g *v1Group) addProc(pid int) error {
	if err := g.cg.AddProc(uint64(pid)); err != nil {
		return fmt.Errorf("cgroup v1: add pid %d to %s: %w", pid, g.ds[0], err)
	}
	return nil
}

func (g *v1Group) stats() (Stats, error) {
	m, err := g.cg.Stat(cgroup1.IgnoreNotExist)
	if err != nil {
		return Stats{}, fmt.Errorf("cgroup v1: stats of %s: %w", g.ds[0], err)
	}
	st := Stats{MemoryBytes: -1}
	if m.Memory != nil && m.Memory.Usage != nil {
		st.MemoryBytes = int64(m.Memory.Usage.Usage)
	}
	if m.Pids != nil {
		st.Pids = int64(m.Pids.Current)
	} else {
		tasks, err := readPids(filepath.Join(g.ds[0], "tasks")) // without the pids controller, count
		if err != nil {
			return Stats{}, fmt.Errorf("cgroup v1: stats of %s: %w", g.ds[0], err)
		}
		st.Pids = int64(len(tasks))
	}
	return st, nil
}

func (g *v1Group) procs() ([]int, error) {
	var pids []int
	for _, s := range g.subs {
		ps, err := g.cg.Processes(s.Name(), true)
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				continue
			}
			return nil, fmt.Errorf("cgroup v1: %s: %w", s.Name(), err)
		}
		for _, p := range ps {
			pids = append(pids, p.Pid)
		}
	}
	slices.Sort(pids)
	return slices.Compact(pids), nil
}

func (g *v1Group) remove() error { return g.cg.Delete() }
