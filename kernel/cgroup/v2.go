package cgroup

import (
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"github.com/containerd/cgroups/v3/cgroup2"
)

// wantV2 lists the v2 controllers limits use.
var wantV2 = []string{"cpu", "memory", "pids"}

const subtreeControl = "cgroup.subtree_control"

// v2Config says where Open works on v2. Tests point it at any cgroup2 mount
// and pass a child's pid as self.
type v2Config struct {
	unified
	want []string // controllers to enable
	self int      // the process delegate may move into a leaf
}

func selfPid() int { return os.Getpid() }

// v2 is the backend for the unified hierarchy: one directory per group.
type v2 struct {
	pdir  string
	ctrls []string // enabled in pdir's subtree_control
	mgr   *cgroup2.Manager
	token tokens // see token.go
}

func openV2(cfg v2Config, parentName string) (*v2, []string, error) {
	enabled, notes, err := delegate(filepath.Join(cfg.mount, cfg.own), cfg.want, cfg.self)
	if err != nil {
		return nil, nil, err
	}
	group := path.Join(cfg.own, parentName)
	pdir := filepath.Join(cfg.mount, group)
	token, err := claimParent([]string{pdir})
	if err != nil {
		return nil, nil, err
	}
	fail := func(err error) (*v2, []string, error) {
		os.Remove(pdir)
		token.release()
		return nil, nil, err
	}
	if err := clearLeftover(pdir); err != nil {
		token.release()
		return nil, nil, err
	}
	if err := os.Mkdir(pdir, 0o755); err != nil {
		token.release()
		return nil, nil, fmt.Errorf("cgroup v2: create parent group: %w", err)
	}
	for _, c := range enabled {
		if err := writeSubtree(pdir, c); err != nil {
			return fail(fmt.Errorf("cgroup v2: enable %s in %s: %w", c, filepath.Join(pdir, subtreeControl), err))
		}
	}
	mgr, err := cgroup2.Load(group, cgroup2.WithMountpoint(cfg.mount))
	if err != nil {
		return fail(fmt.Errorf("cgroup v2: load %s: %w", pdir, err))
	}
	return &v2{pdir: pdir, ctrls: enabled, mgr: mgr, token: token}, notes, nil
}

// delegate enables the controllers of want that dir has in dir's
// subtree_control, so that groups below dir can use them, and returns those
// enabled, in want's order.
//
// The no-internal-processes rule forbids that while dir itself holds
// processes (EBUSY). If the only one is self, delegate moves it into the leaf
// dir/grail-leaf and enables then; ownGroup knows to look past that leaf. If
// dir holds other processes too (a shell, say), delegate moves nobody and
// leaves the controllers off, with a note: run grail in a group of its own
// (for example under systemd-run --scope -p Delegate=yes).
func delegate(dir string, want []string, self int) (enabled, notes []string, err error) {
	avail, err := readFields(filepath.Join(dir, "cgroup.controllers"))
	if err != nil {
		return nil, nil, fmt.Errorf("cgroup v2: %w", err)
	}
	sub, err := readFields(filepath.Join(dir, subtreeControl))
	if err != nil {
		return nil, nil, fmt.Errorf("cgroup v2: %w", err)
	}
	on := map[string]bool{}
	var need []string
	for _, c := range want {
		switch {
		case !slices.Contains(avail, c):
			notes = append(notes, fmt.Sprintf("%s: not available in %s (not delegated to this group); its limits are not enforced", c, dir))
		case slices.Contains(sub, c):
			on[c] = true
		default:
			need = append(need, c)
		}
	}
	moved := false
	for i, c := range need {
		err := writeSubtree(dir, c)
		if errors.Is(err, syscall.EBUSY) && !moved {
			procs, rerr := readPids(filepath.Join(dir, "cgroup.procs"))
			if rerr != nil {
				return nil, nil, fmt.Errorf("cgroup v2: %w", rerr)
			}
			if len(procs) != 1 || procs[0] != self {
				notes = append(notes, fmt.Sprintf(
					"%s: cannot be enabled in %s: it holds processes %v besides this one (no-internal-processes rule); their limits are not enforced",
					strings.Join(need[i:], ", "), dir, slices.DeleteFunc(procs, func(p int) bool { return p == self })))
				break
			}
			leaf := filepath.Join(dir, leafName)
			if err := moveToLeaf(leaf, self); err != nil {
				return nil, nil, fmt.Errorf("cgroup v2: move pid %d into %s: %w", self, leaf, err)
			}
			moved = true
			notes = append(notes, fmt.Sprintf("moved pid %d into %s: a group holding processes cannot pass controllers on", self, leaf))
			err = writeSubtree(dir, c)
		}
		if err != nil {
			return nil, nil, fmt.Errorf("cgroup v2: enable %s in %s: %w", c, filepath.Join(dir, subtreeControl), err)
		}
		on[c] = true
	}
	for _, c := range want {
		if on[c] {
			enabled = append(enabled, c)
		}
	}
	return enabled, notes, nil
}

func moveToLeaf(leaf string, pid int) error {
	if err := os.Mkdir(leaf, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
		return err
	}
	return writeFile(filepath.Join(leaf, "cgroup.procs"), strconv.Itoa(pid))
}

func writeSubtree(dir, controller string) error {
	return writeFile(filepath.Join(dir, subtreeControl), "+"+controller)
}

// writeFile writes one value to a cgroup file (which exists and must not be
// created or truncated).
func writeFile(name, value string) error {
	f, err := os.OpenFile(name, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	_, err = f.WriteString(value)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

func (b *v2) dirs() []string        { return []string{b.pdir} }
func (b *v2) controllers() []string { return slices.Clone(b.ctrls) }

func (b *v2) remove() error {
	if err := b.mgr.Delete(); err != nil {
		return fmt.Errorf("cgroup v2: remove parent group: %w", err)
	}
	b.token.release()
	return nil
}

func (b *v2) newGroup(name string, l Limits) (group, error) {
	var res *cgroup2.Resources
	set := func(c string, limit bool, apply func(*cgroup2.Resources)) {
		if limit && slices.Contains(b.ctrls, c) {
			if res == nil {
				res = &cgroup2.Resources{}
			}
			apply(res)
		}
	}
	set("memory", l.MemoryBytes > 0, func(r *cgroup2.Resources) { r.Memory = &cgroup2.Memory{Max: &l.MemoryBytes} })
	set("pids", l.Pids > 0, func(r *cgroup2.Resources) { r.Pids = &cgroup2.Pids{Max: l.Pids} })
	set("cpu", l.CPU > 0, func(r *cgroup2.Resources) {
		quota, period := cpuQuota(l.CPU), uint64(cpuPeriod)
		r.CPU = &cgroup2.CPU{Max: cgroup2.NewCPUMax(&quota, &period)}
	})
	dir := filepath.Join(b.pdir, name)
	child, err := b.mgr.NewChild(name, res)
	if err != nil {
		os.Remove(dir)
		return nil, fmt.Errorf("cgroup v2: create group %q: %w", name, err)
	}
	return &v2Group{mgr: child, dir: dir, ctrls: b.ctrls}, nil
}

type v2Group struct {
	mgr   *cgroup2.Manager
	dir   string
	ctrls []string
}

func (g *v2Group) dirs() []string { return []string{g.dir} }

func (g *v2Group) addProc(pid int) error {
	if err := g.mgr.AddProc(uint64(pid)); err != nil {
		return fmt.Errorf("cgroup v2: add pid %d to %s: %w", pid, g.dir, err)
	}
	return nil
}

func (g *v2Group) stats() (Stats, error) {
	st := Stats{MemoryBytes: -1}
	var mask cgroup2.StatMask
	if slices.Contains(g.ctrls, "memory") {
		mask |= cgroup2.StatMemory
	}
	if slices.Contains(g.ctrls, "pids") {
		mask |= cgroup2.StatPids
	}
	m, err := g.mgr.StatFiltered(mask)
	if err != nil {
		return Stats{}, fmt.Errorf("cgroup v2: stats of %s: %w", g.dir, err)
	}
	if m.Memory != nil {
		st.MemoryBytes = int64(m.Memory.Usage)
	}
	if m.Pids != nil {
		st.Pids = int64(m.Pids.Current)
		return st, nil
	}
	threads, err := g.mgr.Threads(true) // without the pids controller, count
	if err != nil {
		return Stats{}, fmt.Errorf("cgroup v2: stats of %s: %w", g.dir, err)
	}
	st.Pids = int64(len(threads))
	return st, nil
}

func (g *v2Group) procs() ([]int, error) {
	ps, err := g.mgr.Procs(true)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("cgroup v2: %w", err)
	}
	pids := make([]int, len(ps))
	for i, p := range ps {
		pids[i] = int(p)
	}
	slices.Sort(pids)
	return pids, nil
}

func (g *v2Group) remove() error { return g.mgr.Delete() }
