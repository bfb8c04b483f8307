// Package testbin gives integration tests the GrailOS binaries: the folder
// named by $GRAIL_BIN (what `make test` builds), or a fresh build of the
// listed commands into a temporary folder.
package testbin

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
)

// Dir returns a folder holding the binaries of pkgs (paths relative to the
// repository root, e.g. "./servers/echo") and a cleanup func. Without root
// the tests that need binaries skip, so nothing is built then.
func Dir(pkgs ...string) (string, func(), error) {
	if dir := os.Getenv("GRAIL_BIN"); dir != "" || os.Geteuid() != 0 {
		return dir, func() {}, nil
	}
	dir, err := os.MkdirTemp("", "grail-bin-")
	if err != nil {
		return "", nil, err
	}
	_, file, _, _ := runtime.Caller(0)
	cmd := exec.Command("go", append([]string{"build", "-o", dir + "/"}, pkgs...)...)
	cmd.Dir = filepath.Join(filepath.Dir(file), "../../../..")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		os.RemoveAll(dir)
		return "", nil, fmt.Errorf("building %v: %v\n%s", pkgs, err, out)
	}
	return dir, func() { os.RemoveAll(dir) }, nil
}
