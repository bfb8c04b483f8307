package port

import (
	"reflect"
	"testing"
)

func TestParseModules(t *testing.T) {
	cfg := ParseConfig("# comment\nCONFIG_8139TOO=m\nCONFIG_R8169=m\nCONFIG_NE2K_PCI=m\nCONFIG_FOO_DCB=y\nCONFIG_FOO=m\nCONFIG_NAME=\"x\"\n")
	tests := []struct {
		name, text string
		want       []KModule
	}{
		{"realtek", `# SPDX-License-Identifier: GPL-2.0-only
obj-$(CONFIG_8139CP) += 8139cp.o
obj-$(CONFIG_8139TOO) += 8139too.o
r8169-objs += r8169_main.o r8169_firmware.o \
	r8169_phy_config.o
obj-$(CONFIG_R8169) += r8169.o
`, []KModule{
			{Name: "8139cp", Config: "CONFIG_8139CP", Objects: []string{"8139cp.o"}},
			{Name: "8139too", Config: "CONFIG_8139TOO", Enabled: true, Objects: []string{"8139too.o"}},
			{Name: "r8169", Config: "CONFIG_R8169", Enabled: true, Objects: []string{"r8169_main.o", "r8169_firmware.o", "r8169_phy_config.o"}},
		}},
		{"8390 companions", `obj-$(CONFIG_APNE) += apne.o 8390.o
obj-$(CONFIG_NE2K_PCI) += ne2k-pci.o 8390.o
obj-$(CONFIG_ULTRA) += smc-ultra.o 8390.o
`, []KModule{
			{Name: "apne", Config: "CONFIG_APNE", Objects: []string{"apne.o"}, Companions: []string{"8390"}},
			{Name: "8390", Config: "CONFIG_APNE", Objects: []string{"8390.o"}, Companions: []string{"apne"}},
			{Name: "ne2k-pci", Config: "CONFIG_NE2K_PCI", Enabled: true, Objects: []string{"ne2k-pci.o"}, Companions: []string{"8390"}},
			{Name: "smc-ultra", Config: "CONFIG_ULTRA", Objects: []string{"smc-ultra.o"}, Companions: []string{"8390"}},
		}},
		{"conditional objects, subfolders, variables", `obj-$(CONFIG_FOO) += foo.o
obj-y += sub/
foo-y := main.o
foo-y += hw.o
foo-$(CONFIG_FOO_DCB) += dcb.o
foo-$(CONFIG_FOO_PTP) += ptp.o
foo-y += $(bar-objs)
common-objs := c1.o \
	c2.o
foo-y += $(common-objs) $(UNKNOWN)
ccflags-y += -I$(src)
obj-m += plain.o
`, []KModule{
			{Name: "foo", Config: "CONFIG_FOO", Enabled: true, Objects: []string{"main.o", "hw.o", "dcb.o", "c1.o", "c2.o"}},
			{Name: "plain", Enabled: true, Objects: []string{"plain.o"}},
		}},
	}
	for _, tt := range tests {
		got := ParseModules(tt.text, cfg)
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s:\n got %+v\nwant %+v", tt.name, got, tt.want)
		}
	}
}

func TestModuleOfAndSources(t *testing.T) {
	mods := ParseModules("obj-$(CONFIG_R8169) += r8169.o\nr8169-objs := a.o b.o\nobj-m += c.o\n", Config{"CONFIG_R8169": "m"})
	tests := []struct {
		srcs []string
		want string
		ok   bool
	}{
		{[]string{"d/b.c"}, "r8169", true},
		{[]string{"d/a.c", "d/b.c", "d/x.h"}, "r8169", true},
		{[]string{"d/c.c"}, "c", true},
		{[]string{"d/a.c", "d/c.c"}, "", false},
	}
	for _, tt := range tests {
		k, ok := ModuleOf(mods, "d", tt.srcs)
		if ok != tt.ok || k.Name != tt.want {
			t.Errorf("ModuleOf(%v) = %q %v, want %q %v", tt.srcs, k.Name, ok, tt.want, tt.ok)
		}
	}
	if got, want := mods[0].Sources("d"), []string{"d/a.c", "d/b.c"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Sources = %v, want %v", got, want)
	}
}

func TestCCFlags(t *testing.T) {
	text := `ccflags-y += -I$(srctree)/drivers/net/ethernet/foo/common -DFOO_DEBUG
subdir-ccflags-y += -I $(src)/include
ccflags-y += -I$(srctree)/$(src) -I$(src)
CFLAGS_trace.o := -I$(src)/trace -DFOO_DEBUG
ccflags-$(CONFIG_BAR) += -DBAR
ccflags-$(CONFIG_FOO) += -DFOO -Wno-unused
EXTRA_CFLAGS += -D$(VAR) -DPLAIN
`
	got := CCFlags(text, Config{"CONFIG_FOO": "y"}, "/t", "/t/drivers/net/ethernet/foo")
	want := []string{"-I/t/drivers/net/ethernet/foo/common", "-DFOO_DEBUG", "-I/t/drivers/net/ethernet/foo/include",
		"-I/t/drivers/net/ethernet/foo", "-I/t/drivers/net/ethernet/foo/trace", "-DFOO", "-DPLAIN"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("CCFlags =\n %q\nwant %q", got, want)
	}
}

func TestLocalIncludesAndPCI(t *testing.T) {
	tree := map[string][]byte{
		"d/a.c":        []byte("#include <linux/pci.h>\n#include \"a.h\"\n  #  include \"../common/c.h\"\nmodule_pci_driver(x);\n"),
		"d/a.h":        []byte("#include \"b.h\"\n#include \"missing.h\"\n#include \"a.h\"\n"),
		"d/b.h":        nil,
		"common/c.h":   []byte("#include \"a.h\"\n"), // common/a.h does not exist
		"d/isa.c":      []byte("static int x = pci_register_driver;\n"),
		"d/register.c": []byte("return pci_register_driver(&drv);\n"),
	}
	if got, want := LocalIncludes(tree, []string{"d/a.c"}), []string{"common/c.h", "d/a.h", "d/b.h"}; !reflect.DeepEqual(got, want) {
		t.Errorf("LocalIncludes = %v, want %v", got, want)
	}
	for f, want := range map[string]bool{"d/a.c": true, "d/isa.c": false, "d/register.c": true, "d/a.h": false} {
		if got := IsPCIDriver(tree[f]); got != want {
			t.Errorf("IsPCIDriver(%s) = %v, want %v", f, got, want)
		}
	}
}

func TestParseFrom(t *testing.T) {
	tests := []struct {
		args []string
		want []string
		err  string
	}{
		{[]string{"linux:drivers/net/ethernet/realtek/8139too.c"}, []string{"drivers/net/ethernet/realtek/8139too.c"}, ""},
		{[]string{"linux:a/b.c", "linux:a/b.h", "linux:a/b.c"}, []string{"a/b.c", "a/b.h"}, ""},
		{nil, nil, "name the donor files: --from linux:PATH (e.g. linux:drivers/net/ethernet/realtek/8139too.c)"},
		{[]string{"bsd:x.c"}, nil, `--from "bsd:x.c": want linux:PATH (the only donor kind so far)`},
		{[]string{"linux:../x.c"}, nil, `--from "linux:../x.c": want a clean relative path inside the kernel tree`},
		{[]string{"linux:/x.c"}, nil, `--from "linux:/x.c": want a clean relative path inside the kernel tree`},
		{[]string{"linux:a//x.c"}, nil, `--from "linux:a//x.c": want a clean relative path inside the kernel tree`},
		{[]string{"linux:a/Makefile"}, nil, `--from "linux:a/Makefile": want a .c or .h file`},
	}
	for _, tt := range tests {
		got, err := ParseFrom(tt.args)
		if tt.err != "" {
			if err == nil || err.Error() != tt.err {
				t.Errorf("ParseFrom(%q) error = %v, want %s", tt.args, err, tt.err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ParseFrom(%q) = %q, %v; want %q", tt.args, got, err, tt.want)
		}
	}
}
