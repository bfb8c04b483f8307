package kernel

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A dynamically linked binary (the system's sh) and a non-ELF file are
// refused with a message that says why; a static one passes.
func TestCheckStatic(t *testing.T) {
	sh, err := filepath.EvalSymlinks("/bin/sh")
	if err != nil {
		t.Skipf("no /bin/sh: %v", err)
	}
	if err := checkStatic(sh); err == nil || !strings.Contains(err.Error(), "dynamically linked") {
		t.Errorf("checkStatic(%s) = %v, want a dynamically linked error", sh, err)
	}
	txt := filepath.Join(t.TempDir(), "script")
	os.WriteFile(txt, []byte("#!/bin/sh\n"), 0o755)
	if err := checkStatic(txt); err == nil || !strings.Contains(err.Error(), "not an ELF") {
		t.Errorf("checkStatic(script) = %v", err)
	}
	exe, err := os.Executable() // the test binary: CGO_ENABLED=0 in make test, so static
	if err != nil {
		t.Fatal(err)
	}
	if f, _ := os.ReadFile("/proc/self/maps"); strings.Contains(string(f), "ld-linux") {
		t.Skip("this test binary is itself dynamically linked (cgo enabled)")
	}
	if err := checkStatic(exe); err != nil {
		t.Errorf("checkStatic(test binary) = %v", err)
	}
}
