package port

import (
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"grailos/dde/linux/recipe"
)

func TestFindDrivers(t *testing.T) {
	tree := map[string][]byte{
		"drivers/net/ethernet/8390/Makefile":        []byte("obj-$(CONFIG_NE2K_PCI) += ne2k-pci.o 8390.o\nobj-$(CONFIG_APNE) += apne.o 8390.o\n"),
		"drivers/net/ethernet/8390/ne2k-pci.c":      []byte("module_pci_driver(ne2k_driver);\n"),
		"drivers/net/ethernet/8390/8390.c":          []byte("EXPORT_SYMBOL(ei_open);\n"),
		"drivers/net/ethernet/8390/apne.c":          []byte("static int apne_probe(void);\n"),
		"drivers/net/ethernet/sun/Makefile":         []byte("obj-$(CONFIG_SUNHME) += sunhme.o\nobj-$(CONFIG_SUNBMAC) += sunbmac.o\n"),
		"drivers/net/ethernet/sun/sunhme.c":         []byte("return pci_register_driver(&hme);\n"),
		"drivers/net/ethernet/sun/sunbmac.c":        []byte("return pci_register_driver(&bmac);\n"),
		"drivers/net/ethernet/r/Makefile":           []byte("r-objs := a.o b.o\nobj-$(CONFIG_R) += r.o\nccflags-y += -I$(src)/inc\n"),
		"drivers/net/ethernet/r/Kbuild":             []byte("r-objs := a.o\nobj-$(CONFIG_R) += r.o\n"),
		"drivers/net/ethernet/r/a.c":                []byte("module_pci_driver(r);\n"),
		"drivers/net/wireless/Makefile":             []byte("obj-m += w.o\n"),
		"drivers/net/wireless/w.c":                  []byte("module_pci_driver(w);\n"),
		"drivers/net/ethernet/intel/Makefile":       []byte("obj-$(CONFIG_E1000) += e1000/\n"),
		"drivers/net/ethernet/intel/e1000/x.c":      []byte("module_pci_driver(x);\n"),
		"drivers/net/ethernet/intel/e1000/Makefile": []byte("obj-$(CONFIG_E1000) += e1000.o\ne1000-objs := x.o\nccflags-y += -DE1000\n"),
	}
	cfg := Config{"CONFIG_NE2K_PCI": "m", "CONFIG_SUNHME": "m", "CONFIG_R": "y", "CONFIG_E1000": "m"}
	enabled, disabled, flags := FindDrivers(tree, cfg, "/t")
	want := []Driver{
		{Name: "ne2k-pci", Dir: "drivers/net/ethernet/8390", Companions: []string{"8390"},
			Sources: []string{"drivers/net/ethernet/8390/ne2k-pci.c", "drivers/net/ethernet/8390/8390.c"}},
		{Name: "e1000", Dir: "drivers/net/ethernet/intel/e1000", Sources: []string{"drivers/net/ethernet/intel/e1000/x.c"}},
		{Name: "r", Dir: "drivers/net/ethernet/r", Sources: []string{"drivers/net/ethernet/r/a.c"}}, // Kbuild wins
		{Name: "sunhme", Dir: "drivers/net/ethernet/sun", Sources: []string{"drivers/net/ethernet/sun/sunhme.c"}},
	}
	if !reflect.DeepEqual(enabled, want) {
		t.Errorf("enabled:\n got %+v\nwant %+v", enabled, want)
	}
	if want := []string{"sunbmac"}; !reflect.DeepEqual(disabled, want) {
		t.Errorf("disabled = %q, want %q", disabled, want)
	}
	wantFlags := map[string][]string{"ne2k-pci": {"-I/t/drivers/net/ethernet/8390"},
		"e1000": {"-I/t/drivers/net/ethernet/intel/e1000", "-DE1000"}, "r": {"-I/t/drivers/net/ethernet/r"},
		"sunhme": {"-I/t/drivers/net/ethernet/sun"}}
	if !reflect.DeepEqual(flags, wantFlags) {
		t.Errorf("flags = %q, want %q", flags, wantFlags)
	}
	if got := enabled[0].Label(); got != "ne2k-pci(+8390)" {
		t.Errorf("Label = %q", got)
	}
}

func TestCache(t *testing.T) {
	o := &ReportOptions{Env: Env{Root: t.TempDir()}}
	d := Driver{Name: "sfc", Dir: "d", Sources: []string{"d/a.c"}, Undefined: []string{"x"}, Seconds: 1.5}
	other := Driver{Name: "sfc-falcon", Dir: "d", Sources: []string{"d/b.c"}}
	keyA, keyB := strings.Repeat("a", 64), strings.Repeat("b", 64)
	o.saveCache(&other, keyA)
	o.saveCache(&d, keyA)
	o.saveCache(&d, keyB) // replaces sfc's result for keyA, leaves sfc-falcon's
	files, _ := filepath.Glob(filepath.Join(o.Root, "build/dde/port-report/cache/*.json"))
	for i := range files {
		files[i] = filepath.Base(files[i])
	}
	if want := []string{"sfc-bbbbbbbbbbbbbbbb.json", "sfc-falcon-aaaaaaaaaaaaaaaa.json"}; !reflect.DeepEqual(files, want) {
		t.Errorf("cache files %q, want %q", files, want)
	}
	tests := []struct {
		name string
		d    Driver
		key  string
		hit  bool
	}{
		{"hit", Driver{Name: "sfc", Sources: []string{"d/a.c"}}, keyB, true},
		{"other key", Driver{Name: "sfc", Sources: []string{"d/a.c"}}, keyA, false},
		{"other sources", Driver{Name: "sfc", Sources: []string{"d/a.c", "d/c.c"}}, keyB, false},
	}
	for _, tt := range tests {
		got := tt.d
		if hit := o.loadCache(&got, tt.key); hit != tt.hit {
			t.Errorf("%s: hit %v, want %v", tt.name, hit, tt.hit)
		} else if hit && !reflect.DeepEqual(got, d) {
			t.Errorf("%s: loaded %+v, want %+v", tt.name, got, d)
		}
	}
}

func TestCacheKey(t *testing.T) {
	prov := &recipe.Provenance{Tarball: recipe.Tarball{SHA256: "t1"}, Files: []recipe.FileHash{{Path: "d/a.c", SHA256: "s1"}}}
	cf := &recipe.CFlags{FlagSet: recipe.FlagSet{CC: "gcc", Flags: []string{"-O2"}}, Headers: recipe.Package{Name: "h", Version: "1"}}
	d := &Driver{Name: "x", Sources: []string{"d/a.c"}}
	base := cacheKey(prov, cf, "sh", d, nil)
	if again := cacheKey(prov, cf, "sh", d, nil); again != base {
		t.Fatalf("cacheKey is not stable: %s %s", base, again)
	}
	prov2 := &recipe.Provenance{Tarball: recipe.Tarball{SHA256: "t2"}, Files: prov.Files}
	cf2 := &recipe.CFlags{FlagSet: recipe.FlagSet{CC: "gcc", Flags: []string{"-O1"}}, Headers: cf.Headers}
	tests := []struct {
		name string
		key  string
	}{
		{"tarball", cacheKey(prov2, cf, "sh", d, nil)},
		{"flags", cacheKey(prov, cf2, "sh", d, nil)},
		{"shadow", cacheKey(prov, cf, "sh2", d, nil)},
		{"sources", cacheKey(prov, cf, "sh", &Driver{Name: "x", Sources: []string{"d/a.c", "d/b.c"}}, nil)},
		{"extra flags", cacheKey(prov, cf, "sh", d, []string{"-DX"})},
	}
	for _, tt := range tests {
		if tt.key == base {
			t.Errorf("changing the %s does not change the key", tt.name)
		}
	}
}
