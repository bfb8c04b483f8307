// Package cgroup puts tasks under resource limits (memory, number of tasks,
// CPU bandwidth) with Linux control groups, on cgroup v1, hybrid and v2
// hosts. It owns the groups it creates and nothing else: the parent group
// grail-<run> of one run and the task groups inside it.
//
// It builds on github.com/containerd/cgroups/v3 (cgroup1, cgroup2), which
// writes the limit files; this package decides where groups go, which
// controllers are usable, and cleans up.
//
// # Layout
//
// Open nests the parent group under the calling process's own cgroup, never
// at a hierarchy's root, so that it works under delegation (the process may
// itself sit in a non-root group, for example a memory group that a
// container runtime or a systemd unit made for it):
//
//   - v1 and hybrid hosts use the v1 hierarchies of memory, pids and cpu
//     (cgroup1.NestedPath): one directory per hierarchy, each under the
//     process's group in that hierarchy. A hybrid host's unified mount is
//     not used; a controller bound to it rather than to v1 is absent.
//   - v2 hosts use the unified hierarchy: one directory per group under the
//     process's group of /proc/self/cgroup. Controllers reach a group only if
//     every ancestor lists them in cgroup.subtree_control, which a group may
//     not do while it holds processes (the no-internal-processes rule); see
//     delegate for how the process's own group is handled.
//
// A controller that is absent or not delegated is skipped, not an error:
// Manager.Notes says so, and limits of that controller are not enforced.
// Limit files: v1 memory.limit_in_bytes, pids.max, cpu.cfs_quota_us with
// cpu.cfs_period_us = 100000; v2 memory.max, pids.max, cpu.max.
//
// # Invariants
//
//   - Every directory this package makes is named ParentPrefix+run (the
//     parent), a task group inside it, or, on v2, ParentPrefix+"leaf" (the
//     leaf the calling process may be moved into). Sweep only removes names
//     with ParentPrefix, and only groups without processes.
//   - Nothing here kills a process. Delete and Close refuse, naming the
//     processes, while a group is populated.
//   - A live run's parent group is never removed by another Open or by
//     Sweep, even while empty: its Manager holds a liveness token per
//     directory (an abstract unix socket named after it, freed by the kernel
//     when the process dies; token.go).
//   - Open removes an empty leftover of a dead run with the same name, so a
//     crash never breaks the next run; a leftover that holds processes is an
//     error (the run's servers outlived it). Opening a run name that is open
//     in a live process is an error.
//   - Two managers with different run names share nothing.
//
// # Locks
//
// A Manager and its Groups are safe for concurrent use. Lock order: a
// group's lock (held by Delete) before the Manager's.
package cgroup
