// Package sandbox turns a host process into a GrailOS protection domain.
//
// The kernel calls Start. It re-executes the kernel's own binary ("stage 1",
// entered through Stage1 at the top of main) in fresh pid, mount, network,
// IPC, UTS and cgroup namespaces, waits until the caller has placed the
// process in its cgroup, and then sends the Spec. Stage 1, still privileged
// inside its namespaces:
//
//  1. makes every mount private, mounts a small tmpfs, bind-mounts the task's
//     binary into it read-only (nosuid, nodev), pivots into it, detaches the
//     old root and remounts the new one read-only — the task's whole world is
//     one file;
//  2. sets the host name, empties the capability bounding set, switches to the
//     task's own unprivileged uid/gid on the calling thread (which clears the
//     permitted, effective and ambient capability sets), re-arms the
//     parent-death signal;
//  3. sets no_new_privs and installs the role's seccomp allow-list (built with
//     gVisor's pkg/seccomp; every other syscall fails with EPERM) and execs
//     the binary.
//
// The role filter still permits execve, which stage 1 needs for that last
// step; the task's first act (Lock, called by the task runtime before it
// talks to the kernel) stacks a second filter that refuses execve and
// execveat. The kernel checks all of this from outside with Verify before it
// gives the task a single capability: no_new_privs set, seccomp in filter mode
// with both filters, every capability set empty, the expected uid, every
// namespace different from the kernel's, and a root holding only the binary.
// A task that fails the check is killed.
//
// Everything here is Linux-specific and runs before any task code; nothing in
// this package trusts the task.
package sandbox
