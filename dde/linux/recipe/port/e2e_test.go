package port

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"grailos/dde/linux/recipe"
)

// TestPort8139tooEndToEnd scaffolds and compiles the 8139too port in a
// scratch root (the repository's dde/ linked in, its built runtime
// copied), the way `grail port rtl8139 --from
// linux:drivers/net/ethernet/realtek/8139too.c` does. It needs Debian's
// linux-source-6.1 and linux-headers-amd64 and build/dde/libdde.a (make
// build) and skips without them.
func TestPort8139tooEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: reads the 138 MB source tarball and compiles 8139too")
	}
	ctx := context.Background()
	for _, pkg := range []string{"linux-source-6.1", "linux-headers-amd64"} {
		if v, err := recipe.Runner(recipe.ExecRunner).PackageVersion(ctx, pkg); err != nil || v == "" {
			t.Skipf("Debian package %s is not installed (apt-get install linux-source-6.1 linux-headers-amd64)", pkg)
		}
	}
	repo, err := filepath.Abs("../../../..")
	if err != nil {
		t.Fatal(err)
	}
	rt := filepath.Join(repo, "build", "dde", "libdde.a")
	if _, err := os.Stat(rt); err != nil {
		t.Skipf("%s is not built (make build): %v", rt, err)
	}
	root := t.TempDir()
	if err := os.Symlink(filepath.Join(repo, "dde"), filepath.Join(root, "dde")); err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Join(root, "build", "dde"), 0o755)
	for _, f := range []string{"libdde.a", "libdde.a.json"} {
		b, err := os.ReadFile(filepath.Join(repo, "build", "dde", f))
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(root, "build", "dde", f), b, 0o644)
	}
	var log strings.Builder
	res, err := Port(ctx, Options{Env: Env{Root: root, Log: &log}, Name: "rtl8139",
		From: []string{"drivers/net/ethernet/realtek/8139too.c"}, Command: "grail port rtl8139 --from linux:drivers/net/ethernet/realtek/8139too.c"})
	if err != nil {
		t.Fatalf("Port: %v\n%s", err, log.String())
	}
	if got, want := res.Written, res.Scaffold.Paths(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("written %q, want %q", got, want)
	}
	if s := res.Scaffold; s.Module != "8139too" || s.Kbuild != "drivers/net/ethernet/realtek/Makefile" ||
		fmt.Sprint(s.Files) != "[drivers/net/ethernet/realtek/8139too.c]" {
		t.Errorf("scaffold %+v", s)
	}
	// The DDE grows, so the split varies; the 88 symbols do not.
	sum := regexp.MustCompile(`^8139too: 88 symbols: (\d+) implemented, (\d+) hand-stubbed, (\d+) libc, (\d+) missing$`)
	if !sum.MatchString(res.Coverage.Summary()) {
		t.Errorf("summary %q does not match %s", res.Coverage.Summary(), sum)
	}
	classes := map[string]Class{}
	for _, s := range res.Coverage.Symbols {
		classes[s.Name] = s.Class
	}
	for name, want := range map[string]Class{"memcpy": Libc, "__pci_register_driver": Implemented, "alloc_etherdev_mqs": Implemented} {
		if classes[name] != want {
			t.Errorf("%s is %v, want %v", name, classes[name], want)
		}
	}
	stubs, err := os.ReadFile(filepath.Join(root, res.Stubs))
	if err != nil {
		t.Fatal(err)
	}
	if n, want := strings.Count(string(stubs), "\nDDE_STUB("), len(res.Coverage.Names(Missing)); n != want {
		t.Errorf("%s has %d stubs, want %d (one per missing symbol)", res.Stubs, n, want)
	}
	for _, m := range res.Coverage.Names(Missing) {
		if !strings.Contains(string(stubs), fmt.Sprintf("%q)", m)) {
			t.Errorf("no stub for missing %s", m)
		}
	}
	m, err := recipe.LoadManifest(filepath.Join(root, "donors", "linux", "rtl8139.toml"))
	if err != nil || m.Module != "8139too" {
		t.Errorf("scaffolded manifest: %+v, %v", m, err)
	}
}
