package cgroup

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"github.com/containerd/cgroups/v3/cgroup1"
)

// Sweep removes the leftovers of earlier runs: the groups directly under the
// calling process's own cgroup (in every hierarchy this package uses) whose
// names start with prefix, with the groups below them, where none holds a
// process. Groups that hold processes, and parent groups of live runs (see
// token.go), are kept without error. It returns the directories it removed.
// prefix must start with ParentPrefix, so that Sweep never touches groups of
// other software.
func Sweep(prefix string) ([]string, error) {
	if !strings.HasPrefix(prefix, ParentPrefix) {
		return nil, fmt.Errorf("cgroup: sweep prefix %q must start with %q", prefix, ParentPrefix)
	}
	var bases []string
	switch Mode() {
	case "v1", "hybrid":
		subs, _, err := v1Subsystems()
		if err != nil {
			return nil, err
		}
		if bases, err = v1Dirs(subs, cgroup1.NestedPath("")); err != nil {
			return nil, err
		}
	case "v2":
		u, err := findUnified()
		if err != nil {
			return nil, err
		}
		bases = []string{filepath.Join(u.mount, u.own)}
	default:
		return nil, errors.New("cgroup: no cgroup file system is mounted")
	}
	return sweep(bases, prefix)
}

func sweep(bases []string, prefix string) ([]string, error) {
	var removed []string
	var errs []error
	for _, base := range bases {
		entries, err := os.ReadDir(base)
		if err != nil {
			errs = append(errs, fmt.Errorf("cgroup: sweep: %w", err))
			continue
		}
		for _, e := range entries {
			if !e.IsDir() || !strings.HasPrefix(e.Name(), prefix) {
				continue
			}
			dir := filepath.Join(base, e.Name())
			token, alive, err := claim(dir)
			if alive {
				continue // a live run's, however empty
			}
			if err != nil {
				errs = append(errs, fmt.Errorf("cgroup: sweep: liveness token: %w", err))
				continue
			}
			gone, err := removeTree(dir)
			token.Close()
			if err != nil {
				errs = append(errs, fmt.Errorf("cgroup: sweep: %w", err))
			} else if gone {
				removed = append(removed, dir)
			}
		}
	}
	return removed, errors.Join(errs...)
}

// removeTree removes the group dir and the groups below it, deepest first,
// where none holds a process, and reports whether dir is gone.
func removeTree(dir string) (bool, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return true, nil
	}
	if err != nil {
		return false, err
	}
	for _, e := range entries {
		if e.IsDir() {
			if _, err := removeTree(filepath.Join(dir, e.Name())); err != nil {
				return false, err
			}
		}
	}
	switch err := syscall.Rmdir(dir); {
	case err == nil, errors.Is(err, syscall.ENOENT):
		return true, nil
	case errors.Is(err, syscall.EBUSY), errors.Is(err, syscall.ENOTEMPTY):
		return false, nil // populated, or a child is
	default:
		return false, &fs.PathError{Op: "rmdir", Path: dir, Err: err}
	}
}

// clearLeftover removes a dead run's group at dir (the caller holds its
// token) if it holds no process.
func clearLeftover(dir string) error {
	gone, err := removeTree(dir)
	if err != nil {
		return fmt.Errorf("cgroup: remove leftover: %w", err)
	}
	if gone {
		return nil
	}
	var pids []int
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Name() == "cgroup.procs" {
			ps, _ := readPids(p)
			pids = append(pids, ps...)
		}
		return nil
	})
	slices.Sort(pids)
	return fmt.Errorf("cgroup: %s exists and holds processes %v: the servers of a dead run outlived it", dir, slices.Compact(pids))
}

// removeDirs removes what a failed creation left behind.
func removeDirs(dirs []string) {
	for _, d := range dirs {
		syscall.Rmdir(d)
	}
}

// readFields returns the space-separated words of a file.
func readFields(name string) ([]string, error) {
	b, err := os.ReadFile(name)
	if err != nil {
		return nil, err
	}
	return strings.Fields(string(b)), nil
}

// readPids reads a cgroup.procs (or tasks, cgroup.threads) file.
func readPids(name string) ([]int, error) {
	words, err := readFields(name)
	if err != nil {
		return nil, err
	}
	pids := make([]int, 0, len(words))
	for _, w := range words {
		p, err := strconv.Atoi(w)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		pids = append(pids, p)
	}
	return pids, nil
}
