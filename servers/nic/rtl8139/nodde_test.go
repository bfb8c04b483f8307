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
	for _, f := range []string{"build/dde/libdde.a", "build/dde/rtl8139/librtl8139.a", "build/dde/rtl8139/stubs_generated.o"} {
		if _, err := os.Stat(filepath.Join(root, f)); err != nil {
			missing = append(missing, f)
		}
	}
	if len(missing) > 0 {
		t.Skipf("the rtl8139 driver tests need the DDE build, missing %v: scripts/build-nic.sh rtl8139", missing)
	}
	t.Skip("the DDE build is present: run these tests with -tags dde (and CGO_ENABLED=1): scripts/test-dde.sh")
}
