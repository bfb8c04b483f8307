// Package proctrace records process exits and execs from the kernel's
// sched tracepoints with eBPF, so that a benchmark can tell when a process
// died and when its replacement was exec'd independently of the supervisor
// that restarted it.
//
// What it owns: two BPF programs (written with cilium/ebpf/asm: no clang,
// no BTF), a ring buffer they write to, a counter of records the ring had no
// room for, and one goroutine that reads the ring into an in-memory list.
//
// Design rules:
//
//   - The programs attach as raw tracepoints (BPF_RAW_TRACEPOINT_OPEN, by
//     name) to sched_process_exec and sched_process_exit. That needs only
//     bpf(2) — not a mounted tracefs, which perf-event tracepoints need to
//     look up the event id and which minimal VMs often lack. Raw tracepoints
//     (Linux 4.17) predate the ring buffer (5.8), so the ring buffer sets the
//     minimum kernel.
//   - The programs read no tracepoint arguments: pid/tgid, comm and the time
//     come from helpers (bpf_get_current_pid_tgid, bpf_get_current_comm,
//     bpf_ktime_get_ns), so the code does not depend on any kernel's
//     struct layouts.
//   - Exits are filtered in the kernel to thread-group leaders (pid ==
//     tgid): every thread of a process passes through sched_process_exit,
//     and a Go program has many. Execs are recorded once per successful
//     execve, with the tgid and comm of the new image.
//   - Events are kept in ring-buffer order, append only, so indexes into
//     Events stay valid (WaitFor's cursor). That order is causal for one
//     process (its exec is committed before it can exit); records from
//     different CPUs within nanoseconds of each other can have Mono out of
//     order.
//
// Limitations: a record the ring has no room for is dropped in the kernel
// and counted (Tracer.Lost). All processes on the host are recorded and kept
// in memory until the Tracer is dropped — meant for runs of minutes, not
// days. A leader thread that exits while other threads live on (or that is
// reaped by another thread's execve) is reported as an exit of the
// process. Pids are host pids, whatever pid namespace the process is in.
//
// Lock order: Tracer.mu is the only lock; no call into the kernel other than
// the lost counter's lookup is made while holding it.
package proctrace
