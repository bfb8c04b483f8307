package sandbox

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// namespaces that must differ from the kernel's.
var namespaces = []string{"pid", "mnt", "net", "ipc", "uts", "cgroup"}

// Verify checks from outside that process pid is confined as spec says. It
// returns nil or an error naming the first property that does not hold.
func Verify(pid int, spec Spec) error {
	status, err := readStatus(pid)
	if err != nil {
		return err
	}
	want := []struct{ key, value string }{
		{"NoNewPrivs", "1"},
		{"Seccomp", "2"},
		{"CapInh", "0000000000000000"},
		{"CapPrm", "0000000000000000"},
		{"CapEff", "0000000000000000"},
		{"CapBnd", "0000000000000000"},
		{"CapAmb", "0000000000000000"},
	}
	for _, w := range want {
		if status[w.key] != w.value {
			return fmt.Errorf("confinement check: %s is %q, want %q", w.key, status[w.key], w.value)
		}
	}
	if n, _ := strconv.Atoi(status["Seccomp_filters"]); n < 2 {
		return fmt.Errorf("confinement check: %s seccomp filters, want the role filter and the exec lock", status["Seccomp_filters"])
	}
	uid := strconv.Itoa(spec.UID)
	if f := strings.Fields(status["Uid"]); len(f) != 4 || f[0] != uid || f[1] != uid || f[2] != uid || f[3] != uid {
		return fmt.Errorf("confinement check: uids %q, want %s", status["Uid"], uid)
	}
	for _, ns := range namespaces {
		mine, err1 := os.Readlink("/proc/self/ns/" + ns)
		theirs, err2 := os.Readlink(fmt.Sprintf("/proc/%d/ns/%s", pid, ns))
		if err1 != nil || err2 != nil {
			return fmt.Errorf("confinement check: reading %s namespace: %v %v", ns, err1, err2)
		}
		if mine == theirs {
			return fmt.Errorf("confinement check: task shares the kernel's %s namespace", ns)
		}
	}
	ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/root", pid))
	if err != nil {
		return fmt.Errorf("confinement check: reading the task's root: %w", err)
	}
	base := filepath.Base(spec.Binary)
	if len(ents) != 1 || ents[0].Name() != base {
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		return fmt.Errorf("confinement check: task root holds %v, want only %s", names, base)
	}
	return nil
}

func readStatus(pid int) (map[string]string, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return nil, fmt.Errorf("confinement check: %w", err)
	}
	defer f.Close()
	m := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok {
			m[k] = strings.TrimSpace(v)
		}
	}
	return m, sc.Err()
}

// RSS returns the resident set size of pid in bytes (VmRSS).
func RSS(pid int) (int64, error) {
	st, err := readStatus(pid)
	if err != nil {
		return 0, err
	}
	f := strings.Fields(st["VmRSS"])
	if len(f) != 2 || f[1] != "kB" {
		return 0, fmt.Errorf("pid %d: VmRSS %q", pid, st["VmRSS"])
	}
	kb, err := strconv.ParseInt(f[0], 10, 64)
	return kb << 10, err
}
