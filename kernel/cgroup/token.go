package cgroup

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"syscall"
)

// A run's parent group may be empty while the run is alive (just opened, or
// every server between a crash and its restart), so emptiness alone cannot
// tell a live run from a dead one's leftover. The liveness token can: an
// abstract unix socket per directory of the parent group, named after the
// directory, bound by Open and released by Close — and by the kernel when the
// process dies, however it dies. Open and Sweep leave a directory alone while
// its token is held. The token is per directory, not per run, because on v1
// two processes may share one hierarchy's group (cpu, say) and not another's
// (memory). Abstract sockets belong to a network namespace: a run in another
// one is not seen, and its empty groups count as leftovers.

// tokenName returns the abstract socket name for the group directory dir.
func tokenName(dir string) string {
	sum := sha256.Sum256([]byte(dir))
	return "@grail-cgroup-" + hex.EncodeToString(sum[:16])
}

// claim takes the token of the group directory dir. alive reports that
// another holder has it.
func claim(dir string) (l net.Listener, alive bool, err error) {
	l, err = net.Listen("unix", tokenName(dir))
	if errors.Is(err, syscall.EADDRINUSE) {
		return nil, true, nil
	}
	return l, false, err
}

// tokens are the liveness tokens of one parent group.
type tokens []net.Listener

func (t tokens) release() {
	for _, l := range t {
		l.Close()
	}
}

// claimParent takes the tokens of the parent group's directories before Open
// touches them.
func claimParent(dirs []string) (tokens, error) {
	var t tokens
	for _, dir := range dirs {
		l, alive, err := claim(dir)
		if alive {
			t.release()
			return nil, fmt.Errorf("cgroup: %s belongs to a live run (another manager holds its token)", dir)
		}
		if err != nil {
			t.release()
			return nil, fmt.Errorf("cgroup: liveness token for %s: %w", dir, err)
		}
		t = append(t, l)
	}
	return t, nil
}
