// Package inject is `grail inject`: fault-injection campaigns against a
// NIC driver server. It boots one system — the driver server (with
// -inject), the net server and a client downloading a checksummed
// ChaCha8 stream from the peer namespace in rounds — and keeps the
// machine, the net server and the client alive across every fault; one
// fault costs about one driver restart.
//
// For each fault: the download is running; the fault, chosen from the
// campaign's seed and the fault's index (Planner), is sent to the driver
// as an operator note (package grailos/dde/linux/fault) — or, for a
// device fault, to the machine process (Booted.DeviceFault), which makes
// the device misbehave; the driver (or the machine) confirms it armed
// and, when the fault's code runs, its call is made or the device
// misbehaves, that it fired (event fault-fired, on record before the
// fault takes effect); then the outcome is classified (Outcome*): no visible effect,
// not fired, driver crashed and recovered, hung and recovered, stalled
// (alive but forwarding nothing, so the harness restarted it), error
// visible to the client with the system healthy, failure outside the
// driver (another task or the machine died or hung, the client's data
// did not resume, a checksum mismatch), or harness failure. A driver a
// fault did not restart is restarted before the next fault, so every
// fault starts from a fresh driver and replays alone.
//
// Each fault is one Record (a JSON line) holding the complete fault
// (fault.Spec: address and bytes, or site and call number), so
// --replay FILE:LINE runs exactly that fault again. Shards (--shard I/N)
// take every N-th fault index and are independent; Merge combines their
// files.
//
// Code faults go into donor functions that run under the workload: at
// the start the harness watches every donor function's entry for a
// moment (a profile), then places faults only in the straight-line entry
// of functions that ran (fault.Region), so a planted fault fires — a
// placement anywhere in the text mostly hits code that never runs.
package inject
