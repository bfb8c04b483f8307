package recipe

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseMakefileVersion(t *testing.T) {
	text := "# SPDX-License-Identifier: GPL-2.0\nVERSION = 6\nPATCHLEVEL = 1\nSUBLEVEL = 192\nEXTRAVERSION =\nNAME = Curry Ramen\n"
	v, err := ParseMakefileVersion(text)
	if err != nil {
		t.Fatal(err)
	}
	if want := (KernelVersion{6, 1, 192, ""}); v != want || v.String() != "6.1.192" {
		t.Errorf("got %+v %q", v, v)
	}
	v, err = ParseMakefileVersion("VERSION = 6\nPATCHLEVEL = 2\nSUBLEVEL = 0\nEXTRAVERSION = -rc3\n")
	if err != nil || v.String() != "6.2.0-rc3" {
		t.Errorf("got %v %v", v, err)
	}
	for text, want := range map[string]string{
		"VERSION = 6\nPATCHLEVEL = 1\n":                             "no SUBLEVEL line",
		"VERSION = 6\nPATCHLEVEL = x\nSUBLEVEL = 1\n":               `PATCHLEVEL = "x" is not a number`,
		"include /usr/src/linux-headers-6.1.0-56-common/Makefile\n": "no VERSION line",
	} {
		if _, err := ParseMakefileVersion(text); err == nil || err.Error() != want {
			t.Errorf("%q: error %v, want %s", text, err, want)
		}
	}
}

func TestParseVersionHeader(t *testing.T) {
	text := "#define LINUX_VERSION_CODE 393664\n#define KERNEL_VERSION(a,b,c) (((a) << 16) + ((b) << 8) + ((c) > 255 ? 255 : (c)))\n" +
		"#define LINUX_VERSION_MAJOR 6\n#define LINUX_VERSION_PATCHLEVEL 1\n#define LINUX_VERSION_SUBLEVEL 192\n"
	v, err := ParseVersionHeader(text)
	if err != nil || v != (KernelVersion{6, 1, 192, ""}) {
		t.Errorf("got %v %v", v, err)
	}
	if _, err := ParseVersionHeader("#define LINUX_VERSION_CODE 1\n"); err == nil || err.Error() != "no LINUX_VERSION_MAJOR" {
		t.Errorf("error %v", err)
	}
}

func TestDebianUpstream(t *testing.T) {
	for in, want := range map[string]string{"6.1.192-2": "6.1.192", "1:6.1.192-2+deb12u1": "6.1.192", "6.1.192": "6.1.192", "2.6-rc1-3": "2.6-rc1"} {
		if got := DebianUpstream(in); got != want {
			t.Errorf("DebianUpstream(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParseKbuildModule(t *testing.T) {
	for _, tc := range []struct {
		name, text, module string
		want               ModuleObjects
		err                string
	}{
		{"objs", "obj-$(CONFIG_E1000) += e1000.o\n\ne1000-objs := e1000_main.o e1000_hw.o e1000_ethtool.o e1000_param.o\n", "e1000",
			ModuleObjects{Always: []string{"e1000_main.o", "e1000_hw.o", "e1000_ethtool.o", "e1000_param.o"}}, ""},
		{"y with continuation and conditional", "obj-$(CONFIG_R8169) += r8169.o\nr8169-y += r8169_main.o \\\n\tr8169_firmware.o # fw\nr8169-y += r8169_phy_config.o\nr8169-$(CONFIG_R8169_LEDS) += r8169_leds.o\n", "r8169",
			ModuleObjects{Always: []string{"r8169_main.o", "r8169_firmware.o", "r8169_phy_config.o"}, Conditional: []string{"r8169_leds.o"}}, ""},
		{"single object", "obj-$(CONFIG_8139CP) += 8139cp.o\nobj-$(CONFIG_8139TOO) += 8139too.o\n", "8139too",
			ModuleObjects{Always: []string{"8139too.o"}}, ""},
		{"absent", "obj-$(CONFIG_E100) += e100.o\n", "e1000", ModuleObjects{},
			"no objects for module e1000 (want e1000-objs, e1000-y or e1000.o in an obj- line)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseKbuildModule(tc.text, tc.module)
			if tc.err != "" {
				if err == nil || err.Error() != tc.err {
					t.Fatalf("error %v, want %s", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestCheckSources(t *testing.T) {
	m := &Manifest{Port: "e1000", Module: "e1000", Kbuild: "d/Makefile", Files: []string{"d/e1000_main.c", "d/extra.c", "d/e1000.h"}}
	kb := "obj-$(CONFIG_E1000) += e1000.o\ne1000-objs := e1000_main.o e1000_hw.o\ne1000-$(CONFIG_X) += extra.o\n"
	if err := CheckSources(m, kb); err == nil || err.Error() != "manifest e1000 does not match Kbuild's module e1000 in d/Makefile: missing [d/e1000_hw.c], not in the module []" {
		t.Errorf("error %v", err)
	}
	m.Files = append(m.Files, "d/e1000_hw.c", "d/stray.c")
	if err := CheckSources(m, kb); err == nil || err.Error() != "manifest e1000 does not match Kbuild's module e1000 in d/Makefile: missing [], not in the module [d/stray.c]" {
		t.Errorf("error %v", err)
	}
	m.Files = m.Files[:len(m.Files)-1]
	if err := CheckSources(m, kb); err != nil {
		t.Errorf("conditional object in the manifest: %v", err)
	}
}

func TestCheckSameKernel(t *testing.T) {
	good := KernelFacts{
		Source:          Package{"linux-source-6.1", "6.1.192-2"},
		Headers:         Package{"linux-headers-6.1.0-56-amd64", "6.1.192-2"},
		Common:          Package{"linux-headers-6.1.0-56-common", "6.1.192-2"},
		SourceMakefile:  KernelVersion{6, 1, 192, ""},
		HeadersMakefile: KernelVersion{6, 1, 192, ""},
		VersionHeader:   KernelVersion{6, 1, 192, ""},
		KernelRelease:   "6.1.192",
	}
	if err := CheckSameKernel(good); err != nil {
		t.Fatalf("matching kernel: %v", err)
	}
	abi := good
	abi.KernelRelease = "6.1.0-56-amd64"
	if err := CheckSameKernel(abi); err != nil {
		t.Errorf("ABI-form kernel.release: %v", err)
	}
	bad := good
	bad.Headers.Version, bad.Common.Version = "6.1.190-1", "6.1.190-1"
	bad.HeadersMakefile = KernelVersion{6, 1, 190, ""}
	bad.VersionHeader = KernelVersion{6, 1, 190, ""}
	bad.KernelRelease = "6.1.190"
	want := "kernel source and headers disagree: " +
		"Debian versions differ: linux-source-6.1 6.1.192-2, linux-headers-6.1.0-56-amd64 6.1.190-1; " +
		"Debian versions differ: linux-source-6.1 6.1.192-2, linux-headers-6.1.0-56-common 6.1.190-1; " +
		"tarball Makefile says 6.1.192, headers Makefile says 6.1.190; " +
		"tarball Makefile says 6.1.192, headers version.h says 6.1.190; " +
		`headers kernel.release "6.1.190" is not kernel 6.1.192; ` +
		"install matching versions (apt-get install linux-source-6.1=<version> linux-headers-6.1.0-56-amd64=<version>) and fetch again"
	if err := CheckSameKernel(bad); err == nil || err.Error() != want {
		t.Errorf("error\n got %v\nwant %s", err, want)
	}
	tar := good
	tar.SourceMakefile = KernelVersion{6, 1, 191, ""}
	tar.HeadersMakefile = tar.SourceMakefile
	tar.VersionHeader = KernelVersion{}
	tar.KernelRelease = "6.2.0-1-amd64"
	want = "kernel source and headers disagree: linux-source-6.1 6.1.192-2 has a tarball Makefile of kernel 6.1.191; " +
		`headers kernel.release "6.2.0-1-amd64" is not kernel 6.1.191; ` +
		"install matching versions (apt-get install linux-source-6.1=<version> linux-headers-6.1.0-56-amd64=<version>) and fetch again"
	if err := CheckSameKernel(tar); err == nil || err.Error() != want {
		t.Errorf("error\n got %v\nwant %s", err, want)
	}
}
