package kernel

import (
	"debug/elf"
	"fmt"
	"path/filepath"
)

// checkStatic refuses binaries a task cannot run: a task's root holds its
// binary and nothing else, so a dynamically linked program would fail in
// exec with a bare "no such file or directory" (its loader is missing).
func checkStatic(path string) error {
	f, err := elf.Open(path)
	if err != nil {
		return fmt.Errorf("binary %s is not an ELF executable: %v", filepath.Base(path), err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return fmt.Errorf("binary %s is dynamically linked, and a task's root holds no loader or libraries: "+
				"build it statically (CGO_ENABLED=0 for Go)", filepath.Base(path))
		}
	}
	return nil
}
