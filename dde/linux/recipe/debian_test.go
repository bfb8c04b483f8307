package recipe

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// fakeHost answers commands from a script and records them.
type fakeHost struct {
	calls []string
	// answer returns stdout, stderr and an error for a command line;
	// n counts earlier calls of the same line.
	answer func(line string, n int) (string, string, error)
	seen   map[string]int
}

func (f *fakeHost) run(_ context.Context, c Command) error {
	line := c.String()
	if len(c.Env) > 0 {
		line = strings.Join(c.Env, " ") + " " + line
	}
	f.calls = append(f.calls, line)
	if f.seen == nil {
		f.seen = map[string]int{}
	}
	out, errText, err := f.answer(line, f.seen[line])
	f.seen[line]++
	if c.Stdout != nil {
		io.WriteString(c.Stdout, out)
	}
	if c.Stderr != nil {
		io.WriteString(c.Stderr, errText)
	}
	return err
}

const dpkgStatus = "dpkg-query -W -f=${db:Status-Status}\t${Version}\n "

func TestPackageVersion(t *testing.T) {
	h := &fakeHost{answer: func(line string, _ int) (string, string, error) {
		switch strings.TrimPrefix(line, dpkgStatus) {
		case "linux-source-6.1":
			return "installed\t6.1.192-2\n", "", nil
		case "linux-headers-amd64":
			return "config-files\t6.1.190-1\n", "", nil
		case "nope":
			return "", "dpkg-query: no packages found matching nope\n", errors.New("exit status 1")
		}
		return "", "dpkg-query: error: database locked\n", errors.New("exit status 2")
	}}
	run := Runner(h.run)
	for pkg, want := range map[string]string{"linux-source-6.1": "6.1.192-2", "linux-headers-amd64": "", "nope": ""} {
		if got, err := run.PackageVersion(context.Background(), pkg); err != nil || got != want {
			t.Errorf("PackageVersion(%s) = %q, %v; want %q", pkg, got, err, want)
		}
	}
	if _, err := run.PackageVersion(context.Background(), "broken"); err == nil {
		t.Error("PackageVersion(broken): no error")
	}
}

func TestEnsureInstalled(t *testing.T) {
	const install = "DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends linux-headers-amd64"
	const update = "DEBIAN_FRONTEND=noninteractive apt-get update"
	for _, tc := range []struct {
		name       string
		installErr func(n int) error // for the n-th install
		updateErr  error
		wantCalls  []string
		wantErr    string
	}{
		{"installs", func(int) error { return nil }, nil,
			[]string{dpkgStatus + "linux-source-6.1", dpkgStatus + "linux-headers-amd64", install}, ""},
		{"updates lists and retries", func(n int) error {
			if n == 0 {
				return errors.New("exit status 100")
			}
			return nil
		}, nil, []string{dpkgStatus + "linux-source-6.1", dpkgStatus + "linux-headers-amd64", install, update, install}, ""},
		{"gives up", func(int) error { return errors.New("exit status 100") }, nil,
			[]string{dpkgStatus + "linux-source-6.1", dpkgStatus + "linux-headers-amd64", install, update, install},
			"apt-get install -y --no-install-recommends linux-headers-amd64: exit status 100"},
		{"update fails", func(int) error { return errors.New("exit status 100") }, errors.New("exit status 1"),
			[]string{dpkgStatus + "linux-source-6.1", dpkgStatus + "linux-headers-amd64", install, update},
			"apt-get update: exit status 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := &fakeHost{answer: func(line string, n int) (string, string, error) {
				switch line {
				case dpkgStatus + "linux-source-6.1":
					return "installed\t6.1.192-2\n", "", nil
				case dpkgStatus + "linux-headers-amd64":
					return "", "dpkg-query: no packages found matching linux-headers-amd64\n", errors.New("exit status 1")
				case install:
					return "E: Unable to locate package linux-headers-amd64\n", "", tc.installErr(n)
				case update:
					return "", "", tc.updateErr
				}
				return "", "", fmt.Errorf("unexpected %q", line)
			}}
			var log bytes.Buffer
			err := Runner(h.run).EnsureInstalled(context.Background(), &log, "linux-source-6.1", "linux-headers-amd64")
			if (err == nil) != (tc.wantErr == "") || (err != nil && err.Error() != tc.wantErr) {
				t.Errorf("error %v, want %q", err, tc.wantErr)
			}
			if diff := cmp.Diff(tc.wantCalls, h.calls); diff != "" {
				t.Errorf("calls (-want +got):\n%s", diff)
			}
			if !strings.HasPrefix(log.String(), "installing linux-headers-amd64 (apt-get install -y --no-install-recommends linux-headers-amd64)\n") {
				t.Errorf("log:\n%s", log.String())
			}
		})
	}
}

func TestParseDepends(t *testing.T) {
	got := ParseDepends("linux-headers-6.1.0-56-common (= 6.1.192-2), linux-kbuild-6.1 (>= 6.1.192-2), gcc-12 | gcc-12-x86:amd64, libc6:amd64 (>= 2.34)")
	want := []string{"linux-headers-6.1.0-56-common", "linux-kbuild-6.1", "gcc-12", "libc6"}
	if !cmp.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
	if got := ParseDepends(""); got != nil {
		t.Errorf("empty field: %q", got)
	}
}
