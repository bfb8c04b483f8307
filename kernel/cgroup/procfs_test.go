package cgroup

import (
	"strings"
	"testing"
)

func TestCgroup2Mount(t *testing.T) {
	tests := []struct {
		name, mountinfo, point, root, err string
	}{{
		name: "hybrid",
		mountinfo: `31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
`,
		point: "/sys/fs/cgroup/unified", root: "/",
	}, {
		name:      "v2 with optional fields, in a container",
		mountinfo: "29 23 0:26 /docker/abc /sys/fs/cgroup rw,nosuid shared:4 master:1 - cgroup2 cgroup2 rw,nsdelegate\n",
		point:     "/sys/fs/cgroup", root: "/docker/abc",
	}, {
		name:      "escaped space",
		mountinfo: "29 23 0:26 / /mnt/my\\040cgroup rw - cgroup2 none rw\n",
		point:     "/mnt/my cgroup", root: "/",
	}, {
		name:      "none",
		mountinfo: "35 31 0:32 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n",
		err:       "cgroup: no cgroup2 file system in mountinfo",
	}}
	for _, tt := range tests {
		point, root, err := cgroup2Mount(strings.NewReader(tt.mountinfo))
		gotErr := ""
		if err != nil {
			gotErr = err.Error()
		}
		if point != tt.point || root != tt.root || gotErr != tt.err {
			t.Errorf("%s: cgroup2Mount = %q, %q, %q, want %q, %q, %q", tt.name, point, root, gotErr, tt.point, tt.root, tt.err)
		}
	}
}

func TestUnderRoot(t *testing.T) {
	tests := []struct{ group, root, want, err string }{
		{"/user.slice/x.scope", "/", "/user.slice/x.scope", ""},
		{"/docker/abc", "/docker/abc", "/", ""},
		{"/docker/abc/sub", "/docker/abc", "/sub", ""},
		{"/docker/abcd", "/docker/abc", "", "cgroup: own group /docker/abcd is outside the cgroup2 mount's root /docker/abc"},
	}
	for _, tt := range tests {
		got, err := underRoot(tt.group, tt.root)
		gotErr := ""
		if err != nil {
			gotErr = err.Error()
		}
		if got != tt.want || gotErr != tt.err {
			t.Errorf("underRoot(%q, %q) = %q, %q, want %q, %q", tt.group, tt.root, got, gotErr, tt.want, tt.err)
		}
	}
}

func TestOwnGroup(t *testing.T) {
	for in, want := range map[string]string{
		"/":                           "/",
		"":                            "/",
		"/a/b":                        "/a/b",
		"/a/grail-leaf":               "/a",
		"/grail-leaf":                 "/",
		"/a/grail-leaf-not":           "/a/grail-leaf-not",
		"/a/grail-default/grail-leaf": "/a/grail-default",
	} {
		if got := ownGroup(in); got != want {
			t.Errorf("ownGroup(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestUnescape(t *testing.T) {
	for in, want := range map[string]string{
		`plain`:      "plain",
		`a\040b`:     "a b",
		`tab\011`:    "tab\t",
		`back\134sl`: `back\sl`,
		`short\04`:   `short\04`,
		`not\999oct`: `not\999oct`,
	} {
		if got := unescape(in); got != want {
			t.Errorf("unescape(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestLimitsCheck(t *testing.T) {
	tests := []struct {
		l    Limits
		want string
	}{
		{Limits{}, ""},
		{Limits{MemoryBytes: 1, Pids: 1, CPU: 0.01}, ""},
		{Limits{CPU: 64}, ""},
		{Limits{MemoryBytes: -1}, "negative memory limit -1"},
		{Limits{Pids: -5}, "negative pids limit -5"},
		{Limits{CPU: -1}, "cpu limit -1 is not a non-negative number"},
		{Limits{CPU: 0.0049}, "cpu limit 0.0049 cores is below the minimum 0.01"},
		{Limits{CPU: 1e30}, "cpu limit 1e+30 cores is too large"},
	}
	for _, tt := range tests {
		got := ""
		if err := tt.l.check(); err != nil {
			got = err.Error()
		}
		if got != tt.want {
			t.Errorf("%+v.check() = %q, want %q", tt.l, got, tt.want)
		}
	}
	if q := cpuQuota(0.5); q != 50000 {
		t.Errorf("cpuQuota(0.5) = %d", q)
	}
}

func TestMode(t *testing.T) {
	switch m := Mode(); m {
	case "v1", "hybrid", "v2", "unavailable":
		t.Logf("this host: %s", m)
	default:
		t.Errorf("Mode() = %q", m)
	}
}
