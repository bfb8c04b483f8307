//go:build !dde

package main

import (
	"os"
	"path/filepath"
	"testing"
)

// Without the dde tag the donor driver is not linked in: say what to do.
func TestDriverNeedsDDEBuild(t *testing.T) {
	root := filepath.Join("..", "..", "..")
	var missing []string
	for _, f := range []string{"build/dde/libdde.a", "build/dde/e1000/libe1000.a", "build/dde/e1000/stubs_generated.o"} {
		if _, err := os.Stat(filepath.Join(root, f)); err != nil {
			missing = append(missing, f)
		}
	}
	if len(missing) > 0 {
		t.Skipf("the e1000 driver tests need the DDE build, missing %v: scripts/dde-port.sh e1000, "+
			"ddebuild runtime, scripts/dde-stubs.sh e1000 build/dde/libdde.a <libc.a>, then go test -tags dde", missing)
	}
	t.Skip("the DDE build is present: run these tests with -tags dde (and CGO_ENABLED=1)")
}
