//go:build !dde

package linux

import "testing"

// Without the dde tag the package is only its documentation.
func TestNeedsDDETag(t *testing.T) {
	t.Skip("the DDE runtime's tests link build/dde/libdde.a: build it (ddebuild runtime, see runtime/README.md) and run go test -tags dde with CGO_ENABLED=1")
}
