package recipe

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"regexp"
	"strings"
)

// Command is one host command for a Runner.
type Command struct {
	Name   string
	Args   []string
	Env    []string  // added to the process environment
	Dir    string    // working folder; "" is the current one
	Stdout io.Writer // nil discards
	Stderr io.Writer // nil discards
}

func (c Command) String() string { return strings.Join(append([]string{c.Name}, c.Args...), " ") }

// Runner runs host commands (dpkg-query, apt-get, make, gcc, ar, nm,
// objdump). ExecRunner is the real one; tests substitute their own.
type Runner func(ctx context.Context, c Command) error

// ExecRunner runs c as a child process.
func ExecRunner(ctx context.Context, c Command) error {
	cmd := exec.CommandContext(ctx, c.Name, c.Args...)
	cmd.Dir, cmd.Stdout, cmd.Stderr = c.Dir, c.Stdout, c.Stderr
	if len(c.Env) > 0 {
		cmd.Env = append(os.Environ(), c.Env...)
	}
	return cmd.Run()
}

// output runs a command and returns its standard output; on failure the
// error carries the command and its standard error.
func (r Runner) output(ctx context.Context, name string, args ...string) (string, error) {
	var out, errb bytes.Buffer
	c := Command{Name: name, Args: args, Stdout: &out, Stderr: &errb}
	if err := r(ctx, c); err != nil {
		return out.String(), fmt.Errorf("%s: %w: %s", c, err, strings.TrimSpace(errb.String()))
	}
	return out.String(), nil
}

// Package is an installed Debian package and its exact version.
type Package struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

// PackageVersion returns the installed version of pkg, or "" when pkg is
// not installed.
func (r Runner) PackageVersion(ctx context.Context, pkg string) (string, error) {
	out, err := r.output(ctx, "dpkg-query", "-W", "-f=${db:Status-Status}\t${Version}\n", pkg)
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) || strings.Contains(err.Error(), "no packages found") {
			return "", nil // dpkg-query exits 1 for a package it has never seen
		}
		return "", err
	}
	status, version, _ := strings.Cut(strings.TrimSpace(out), "\t")
	if status != "installed" {
		return "", nil
	}
	return version, nil
}

// EnsureInstalled installs those of pkgs that are missing with
// apt-get install -y --no-install-recommends. When that fails (most often
// for want of package lists on a fresh machine) it runs apt-get update and
// tries once more. apt's own output goes to log.
func (r Runner) EnsureInstalled(ctx context.Context, log io.Writer, pkgs ...string) error {
	var missing []string
	for _, p := range pkgs {
		v, err := r.PackageVersion(ctx, p)
		if err != nil {
			return err
		}
		if v == "" {
			missing = append(missing, p)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	env := []string{"DEBIAN_FRONTEND=noninteractive"}
	install := Command{Name: "apt-get", Args: append([]string{"install", "-y", "--no-install-recommends"}, missing...), Env: env, Stdout: log, Stderr: log}
	fmt.Fprintf(log, "installing %s (%s)\n", strings.Join(missing, " "), install)
	err := r(ctx, install)
	if err == nil {
		return nil
	}
	fmt.Fprintf(log, "apt-get install failed (%v); running apt-get update and trying again\n", err)
	if err := r(ctx, Command{Name: "apt-get", Args: []string{"update"}, Env: env, Stdout: log, Stderr: log}); err != nil {
		return fmt.Errorf("apt-get update: %w", err)
	}
	if err := r(ctx, install); err != nil {
		return fmt.Errorf("%s: %w", install, err)
	}
	return nil
}

// depends returns the package names in pkg's Depends field.
func (r Runner) depends(ctx context.Context, pkg string) ([]string, error) {
	out, err := r.output(ctx, "dpkg-query", "-W", "-f=${Depends}", pkg)
	if err != nil {
		return nil, err
	}
	return ParseDepends(out), nil
}

// ParseDepends returns the package names of a Depends field, taking the
// first choice of each alternative ("a (>= 1) | b, c" → a, c).
func ParseDepends(field string) []string {
	var out []string
	for _, dep := range strings.Split(field, ",") {
		alt, _, _ := strings.Cut(dep, "|")
		name, _, _ := strings.Cut(strings.TrimSpace(alt), " ")
		name, _, _ = strings.Cut(name, ":") // drop an architecture qualifier
		if name != "" {
			out = append(out, name)
		}
	}
	return out
}

// Headers is a resolved, configured kernel headers installation.
type Headers struct {
	Packages  []Package // the named package, then what it depends on down to -common
	Flavour   Package   // linux-headers-<abi>-<flavour>, the configured tree
	Dir       string    // /usr/src/linux-headers-<abi>-<flavour>
	CommonDir string    // /usr/src/linux-headers-<abi>-common
}

var commonHeaders = regexp.MustCompile(`^linux-headers-.*-common(-rt)?$`)

// ResolveHeaders follows the Depends of a headers package (for example
// the metapackage linux-headers-amd64) to the configured tree in
// /usr/src/<package> and its -common companion.
func (r Runner) ResolveHeaders(ctx context.Context, pkg string) (*Headers, error) {
	h := &Headers{}
	cur := pkg
	for depth := 0; ; depth++ {
		v, err := r.PackageVersion(ctx, cur)
		if err != nil {
			return nil, err
		}
		if v == "" {
			return nil, fmt.Errorf("headers package %s is not installed", cur)
		}
		h.Packages = append(h.Packages, Package{Name: cur, Version: v})
		deps, err := r.depends(ctx, cur)
		if err != nil {
			return nil, err
		}
		dir := path.Join("/usr/src", cur)
		if fi, err := os.Stat(path.Join(dir, "Makefile")); err == nil && fi.Mode().IsRegular() && !commonHeaders.MatchString(cur) {
			h.Flavour, h.Dir = Package{Name: cur, Version: v}, dir
			for _, d := range deps {
				if commonHeaders.MatchString(d) {
					cv, err := r.PackageVersion(ctx, d)
					if err != nil {
						return nil, err
					}
					if cv == "" {
						return nil, fmt.Errorf("%s depends on %s, which is not installed", cur, d)
					}
					h.Packages = append(h.Packages, Package{Name: d, Version: cv})
					h.CommonDir = path.Join("/usr/src", d)
				}
			}
			if h.CommonDir == "" {
				return nil, fmt.Errorf("%s depends on no linux-headers-*-common package", cur)
			}
			return h, nil
		}
		next := ""
		for _, d := range deps {
			if strings.HasPrefix(d, "linux-headers-") {
				next = d
				break
			}
		}
		if next == "" || depth == 3 {
			return nil, fmt.Errorf("%s: no /usr/src/%s/Makefile and no linux-headers-* dependency to follow", pkg, cur)
		}
		cur = next
	}
}

// controlPath returns the path of one of pkg's dpkg control files (such as
// md5sums).
func (r Runner) controlPath(ctx context.Context, pkg, file string) (string, error) {
	out, err := r.output(ctx, "dpkg-query", "--control-path", pkg, file)
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(out), nil
}

// PackageMD5 returns the MD5 dpkg recorded for file (an absolute path) when
// it installed pkg.
func (r Runner) PackageMD5(ctx context.Context, pkg, file string) (string, error) {
	p, err := r.controlPath(ctx, pkg, "md5sums")
	if err != nil {
		return "", err
	}
	data, err := os.ReadFile(p)
	if err != nil {
		return "", err
	}
	want := strings.TrimPrefix(file, "/")
	for _, l := range strings.Split(string(data), "\n") {
		sum, name, ok := strings.Cut(l, "  ")
		if ok && name == want {
			return sum, nil
		}
	}
	return "", fmt.Errorf("%s: %s is not listed in %s", pkg, file, p)
}
