package cgroup

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path"
	"strconv"
	"strings"

	"github.com/containerd/cgroups/v3"
)

// unified describes the cgroup v2 hierarchy as the calling process sees it.
type unified struct {
	mount string // where it is mounted
	own   string // the process's own group, relative to mount ("/" = the mount's root)
}

// findUnified locates the cgroup2 mount and the calling process's group in it.
func findUnified() (unified, error) {
	mi, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return unified{}, err
	}
	defer mi.Close()
	point, root, err := cgroup2Mount(mi)
	if err != nil {
		return unified{}, err
	}
	pc, err := os.Open("/proc/self/cgroup")
	if err != nil {
		return unified{}, err
	}
	defer pc.Close()
	_, own, err := cgroups.ParseCgroupFromReaderUnified(pc)
	if err != nil {
		return unified{}, err
	}
	if own == "" {
		return unified{}, fmt.Errorf("cgroup: /proc/self/cgroup has no cgroup v2 entry")
	}
	rel, err := underRoot(own, root)
	if err != nil {
		return unified{}, err
	}
	return unified{mount: point, own: ownGroup(rel)}, nil
}

// cgroup2Mount returns the mount point and root of the first cgroup2 mount
// listed in a mountinfo file.
func cgroup2Mount(r io.Reader) (point, root string, err error) {
	s := bufio.NewScanner(r)
	for s.Scan() {
		// 41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
		pre, post, ok := strings.Cut(s.Text(), " - ")
		if !ok {
			continue
		}
		f, g := strings.Fields(pre), strings.Fields(post)
		if len(f) < 5 || len(g) < 1 || g[0] != "cgroup2" {
			continue
		}
		return unescape(f[4]), unescape(f[3]), nil
	}
	if err := s.Err(); err != nil {
		return "", "", err
	}
	return "", "", fmt.Errorf("cgroup: no cgroup2 file system in mountinfo")
}

// unescape undoes mountinfo's octal escapes ("\040" for a space).
func unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// underRoot makes group (as in /proc/self/cgroup) relative to a mount whose
// root is root (as in mountinfo): without a cgroup namespace a container
// may see its own group both as its /proc/self/cgroup path and as the root of
// its cgroup mount.
func underRoot(group, root string) (string, error) {
	if root == "/" {
		return group, nil
	}
	if group == root {
		return "/", nil
	}
	if rest, ok := strings.CutPrefix(group, root+"/"); ok {
		return "/" + rest, nil
	}
	return "", fmt.Errorf("cgroup: own group %s is outside the cgroup2 mount's root %s", group, root)
}

// ownGroup returns the group this package nests under: the process's own
// group, or its parent if the process sits in the leaf that delegate moved
// it into.
func ownGroup(group string) string {
	group = path.Clean("/" + group)
	if path.Base(group) == leafName {
		return path.Dir(group)
	}
	return group
}
