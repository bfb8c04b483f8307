// Package sysfile reads the system file: the declarative TOML description of
// which servers init starts, in which order, with which endpoints, limits and
// restart policy. It owns the schema, its defaults and its validation; it
// starts nothing and does not look at the binaries folder.
//
// # Schema
//
// Every key is shown with its default; keys marked (required) have none.
//
//	name = "default"            # (required) system name: [a-z0-9-]{1,32}
//
//	[supervisor]
//	strategy = "one_for_one"    # or "rest_for_one"
//	intensity = 5               # at most this many restarts ...
//	period = "10s"              # ... within this window; more = exhausted
//	backoff = "0s"              # delay before a restart; doubles per consecutive crash of the same server
//	backoff_max = "1s"          # cap of that delay; "0s" = no cap
//	heartbeat = "500ms"         # ping interval; "0s" = off
//	hang_timeout = "2s"         # no answer to pings for this long = hung (killed + restarted)
//	on_exhausted = "give_up"    # "give_up": leave the failing server down, the rest keeps running;
//	                            # "escalate": init exits with failure, the system stops
//
//	[[server]]                  # order = start order (rest_for_one uses it)
//	name = "echo"               # (required) [a-z][a-z0-9-]{0,31}, unique
//	binary = "echo"             # default: name; a file name (no '/') in the binaries folder
//	role = "server"             # seccomp profile: one of Parser.Roles (DefaultRoles)
//	args = []
//	provides = ["echo"]         # endpoints this server receives on; unique across the system
//	uses = ["echo"]             # endpoints it may call; each must be provided by some server
//	devices = ["nic0"]          # machine devices granted to it (device and IRQ); each to one server;
//	                            # "nic0:rtl8139" names the model the machine hosts (Models; default e1000)
//	restart = "permanent"       # permanent | transient (only after abnormal exit) | temporary (never)
//	spare = true                # the kernel keeps the next instance started, confined and waiting (faster restarts)
//	heartbeat = "500ms"         # default: the supervisor's value
//	hang_timeout = "2s"         # default: the supervisor's value
//	[server.limits]
//	memory = "64MiB"            # B, KiB, MiB, GiB, or KB, MB, GB (powers of 1000); an integer = bytes
//	pids = 64
//	cpu = 1.0                   # cores
//
// Endpoint names follow the server-name rule. Durations use Go syntax
// ("500ms", "1m30s") and may not be negative. A limit of 0 means no limit.
//
// # Invariants of a parsed System
//
//   - Every default is applied: a Server carries its effective binary, role,
//     restart type, heartbeat, hang timeout and limits.
//   - Server names are unique, every provided endpoint is provided by exactly
//     one server, and every used endpoint is provided by some server.
//   - period > 0 when intensity > 0; backoff_max is 0 or ≥ backoff; when a
//     heartbeat is on, the hang timeout (supervisor's and each server's) is
//     longer than the heartbeat.
//   - Empty lists (args, provides, uses) are nil.
//
// # Errors
//
// Unknown keys are errors (the toml package's MetaData.Undecoded lists them),
// and so are keys that differ from a known one only in letter case. Every
// error is an *Error naming the file and line, as a compiler would:
//
//	system.toml:12: server "echo": unknown role "x"
//
// Syntax errors take their line from toml.ParseError. The toml package keeps
// one position per key name (every element of [[server]] shares it), so
// semantic errors take theirs from a small structural re-scan of the accepted
// document (locate.go) that tells array elements apart. Parse returns every
// error of a stage, joined, in line order; the stages are syntax, table
// shapes and unknown keys, then values — a stage with errors ends the parse.
package sysfile
