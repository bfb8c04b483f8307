// Package supervisor is init's restart policy: given that a server exited, it
// decides what to stop, what to restart, after which delay, and when to give
// up. It is pure logic with Erlang/OTP semantics and owns no processes,
// goroutines or clocks.
//
// # Time
//
// The caller passes monotonic time as a time.Duration (for example the time
// since init started). Nothing here reads a clock, so a test can replay any
// sequence of events at exact instants.
//
// # Protocol
//
// Children are listed in start order. The caller reports every start with
// OnStarted (including the first one at boot) and every exit with OnExit, and
// carries out the returned Decision:
//
//  1. stop the children in Decision.Stop, in that order (reverse start order);
//     these are deliberate stops, not exits to report;
//  2. wait Decision.Delay;
//  3. start the children in Decision.Restart, in that order (start order),
//     calling OnStarted for each. A Restart list supersedes any restart of the
//     same children still pending from an earlier Decision.
//
// If Decision.Escalate is set the supervisor itself has failed: the caller
// stops Decision.Stop and exits with failure. Decision.GiveUp names children
// that stay down; the others keep running.
//
// # Rules
//
//   - Restart types (Child.Restart): permanent children are restarted after
//     every exit, transient ones only after an abnormal exit, temporary ones
//     never — not even when rest_for_one stops them because an earlier sibling
//     failed. An exit that is not followed by a restart changes no sibling and
//     does not count towards the intensity.
//   - Strategies: one_for_one restarts just the child that exited;
//     rest_for_one also stops and restarts every later child that is running
//     or waiting to be restarted (children that are stopped or given up stay
//     as they are).
//   - Intensity (as OTP's add_restart): each restart is stamped with its time;
//     stamps older than Period are forgotten, a stamp exactly Period old still
//     counts. If the restart being decided would make more than Intensity
//     stamps, the supervisor is exhausted: nothing is restarted, and the child
//     is given up (give_up) or the supervisor escalates (escalate). A refused
//     restart leaves no stamp, so with give_up any further restart within the
//     window is refused too — Intensity bounds the restarts of the whole
//     supervisor, not of one child.
//   - Backoff: a child's consecutive-crash count n grows by one with every exit
//     that restarts it; the delay is Backoff·2^(n−1), capped at BackoffMax
//     (0 = no cap). The count is computed, not driven by a timer: at an exit,
//     a child that has run at least Period since its last OnStarted starts a
//     new series (count 1). A permanent child that exits normally counts like
//     a crash: it is restarted all the same.
//   - Exits of children that are not running (already stopped, given up, or
//     stopped by the caller for a pending restart) are ignored and change
//     nothing; the Decision only carries a Reason.
//
// A Supervisor is not safe for concurrent use; init drives it from its one
// event loop.
package supervisor
