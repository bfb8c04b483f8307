package cgroup

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"slices"
	"sync"

	"github.com/containerd/cgroups/v3"
)

// Limits are a group's resource limits; 0 means no limit for any field.
type Limits struct {
	MemoryBytes int64
	Pids        int64
	CPU         float64 // cores, e.g. 0.5
}

// Stats is a group's current usage.
type Stats struct {
	MemoryBytes int64 // current usage; -1 if the memory controller is not available
	Pids        int64 // current number of tasks (threads)
}

// Group is one task group with its limits.
type Group interface {
	// Name returns the name given to NewGroup.
	Name() string
	// Path returns the group's directory: in v1 the one in the memory
	// hierarchy (or the first available), in v2 the only one.
	Path() string
	// Dirs returns the group's directory in every hierarchy it spans.
	Dirs() []string
	// AddProc moves process pid (all its threads) into the group.
	AddProc(pid int) error
	// Stats returns the group's current usage.
	Stats() (Stats, error)
	// Delete removes the group. It kills nothing: if processes remain it
	// fails and says which.
	Delete() error
}

// Manager owns one run's parent group and the groups made in it. Its methods
// are safe for concurrent use.
type Manager struct {
	mode  string
	notes []string
	be    backend

	mu      sync.Mutex
	groups  []*handle // creation order
	closed  bool
	removed bool // the parent is gone
}

// backend is the v1 or v2 implementation behind a Manager.
type backend interface {
	newGroup(name string, l Limits) (group, error)
	remove() error  // remove the parent group
	dirs() []string // the parent group's directories
	controllers() []string
}

// group is the v1 or v2 implementation behind a Group.
type group interface {
	dirs() []string
	addProc(pid int) error
	stats() (Stats, error)
	procs() ([]int, error) // every process in the group, sorted
	remove() error
}

// The cgroup v1 CPU bandwidth period, and the smallest quota the kernel
// accepts in it.
const (
	cpuPeriod   = 100000 // µs
	cpuMinQuota = 1000   // µs
)

// Group directories of this package are prefixed with ParentPrefix; the leaf a
// v2 process is moved into (see delegate) is called leafName.
const (
	ParentPrefix = "grail-"
	leafName     = ParentPrefix + "leaf"
)

var validName = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`)

// Mode reports the host's cgroup layout for logs: "v1", "hybrid" (v1
// controllers plus a v2 mount), "v2", or "unavailable".
func Mode() string {
	switch cgroups.Mode() {
	case cgroups.Legacy:
		return "v1"
	case cgroups.Hybrid:
		return "hybrid"
	case cgroups.Unified:
		return "v2"
	}
	return "unavailable"
}

// Open creates the parent group grail-<runName> under the calling process's
// own cgroup, on v1 (also in hybrid layouts) or v2, whichever the host uses.
// An empty leftover of a dead run with the same name is removed first; a
// leftover that still holds processes, or a run of that name that is open in
// a live process, is an error.
func Open(runName string) (*Manager, error) {
	if !validName.MatchString(runName) {
		return nil, fmt.Errorf("cgroup: run name %q must match %s", runName, validName)
	}
	mode := Mode()
	var (
		be    backend
		notes []string
		err   error
	)
	switch mode {
	case "v1", "hybrid":
		be, notes, err = openV1(ParentPrefix + runName)
	case "v2":
		var u unified
		if u, err = findUnified(); err == nil {
			be, notes, err = openV2(v2Config{unified: u, want: wantV2, self: selfPid()}, ParentPrefix+runName)
		}
	default:
		err = errors.New("cgroup: no cgroup file system is mounted")
	}
	if err != nil {
		return nil, err
	}
	return &Manager{mode: mode, notes: notes, be: be}, nil
}

// Mode returns the layout the manager was opened on (see Mode).
func (m *Manager) Mode() string { return m.mode }

// Notes returns what Open had to work around: controllers that are absent
// (their limits are not enforced) and, on v2, a move of the calling process
// into a leaf group.
func (m *Manager) Notes() []string { return slices.Clone(m.notes) }

// Controllers returns the controllers whose limits the manager enforces.
func (m *Manager) Controllers() []string { return m.be.controllers() }

// Dirs returns the parent group's directories.
func (m *Manager) Dirs() []string { return m.be.dirs() }

// NewGroup creates the group name in the parent group with limits l. Limits
// of controllers that are not available are not enforced (see Notes).
func (m *Manager) NewGroup(name string, l Limits) (Group, error) {
	if !validName.MatchString(name) {
		return nil, fmt.Errorf("cgroup: group name %q must match %s", name, validName)
	}
	if err := l.check(); err != nil {
		return nil, fmt.Errorf("cgroup: group %q: %w", name, err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, fmt.Errorf("cgroup: group %q: manager is closed", name)
	}
	if slices.ContainsFunc(m.groups, func(h *handle) bool { return h.name == name }) {
		return nil, fmt.Errorf("cgroup: group %q exists", name)
	}
	g, err := m.be.newGroup(name, l)
	if err != nil {
		return nil, err
	}
	h := &handle{m: m, name: name, g: g}
	m.groups = append(m.groups, h)
	return h, nil
}

// Close removes every group the manager made, newest first, then the parent.
// It kills nothing: a group that still holds processes stays, with the
// parent, and Close says so; a later Close tries again.
func (m *Manager) Close() error {
	m.mu.Lock()
	m.closed = true
	groups := slices.Clone(m.groups)
	m.mu.Unlock()
	var errs []error
	for i := len(groups) - 1; i >= 0; i-- {
		if err := groups[i].Delete(); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.removed {
		return nil
	}
	if err := m.be.remove(); err != nil {
		return err
	}
	m.removed = true
	return nil
}

func (m *Manager) forget(h *handle) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.groups = slices.DeleteFunc(m.groups, func(x *handle) bool { return x == h })
}

func (l Limits) check() error {
	switch {
	case l.MemoryBytes < 0:
		return fmt.Errorf("negative memory limit %d", l.MemoryBytes)
	case l.Pids < 0:
		return fmt.Errorf("negative pids limit %d", l.Pids)
	case math.IsNaN(l.CPU) || math.IsInf(l.CPU, 0) || l.CPU < 0:
		return fmt.Errorf("cpu limit %v is not a non-negative number", l.CPU)
	case l.CPU > float64(math.MaxInt64/2)/cpuPeriod:
		return fmt.Errorf("cpu limit %v cores is too large", l.CPU)
	case l.CPU > 0 && cpuQuota(l.CPU) < cpuMinQuota:
		return fmt.Errorf("cpu limit %v cores is below the minimum %v", l.CPU, float64(cpuMinQuota)/cpuPeriod)
	}
	return nil
}

// cpuQuota converts cores into a quota per cpuPeriod.
func cpuQuota(cores float64) int64 { return int64(math.Round(cores * cpuPeriod)) }

// handle is the Group a Manager hands out.
type handle struct {
	m    *Manager
	name string
	g    group

	mu      sync.Mutex // serialises Delete
	deleted bool
}

func (h *handle) Name() string          { return h.name }
func (h *handle) Path() string          { return h.g.dirs()[0] }
func (h *handle) Dirs() []string        { return slices.Clone(h.g.dirs()) }
func (h *handle) Stats() (Stats, error) { return h.g.stats() }

func (h *handle) AddProc(pid int) error {
	if pid <= 0 {
		return fmt.Errorf("cgroup: group %q: invalid pid %d", h.name, pid)
	}
	return h.g.addProc(pid)
}

func (h *handle) Delete() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.deleted {
		return nil
	}
	pids, err := h.g.procs()
	if err != nil {
		return fmt.Errorf("cgroup: delete group %q: %w", h.name, err)
	}
	if len(pids) > 0 {
		return fmt.Errorf("cgroup: delete group %q (%s): processes remain: %v", h.name, h.Path(), pids)
	}
	if err := h.g.remove(); err != nil {
		return fmt.Errorf("cgroup: delete group %q: %w", h.name, err)
	}
	h.deleted = true
	h.m.forget(h)
	return nil
}
