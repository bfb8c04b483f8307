package recipe

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// sampleLine is the gcc line Kbuild of linux-headers-6.1.0-56-amd64 (Debian
// 6.1.192-2) printed with V=1 for a throwaway module, the module folder
// renamed, objtool step included.
const sampleLine = "   " +
	"gcc-12 -Wp,-MMD,/src/grailos/build/dde/kbuild-probe/.probe.o.d -nostdinc " +
	"-I/usr/src/linux-headers-6.1.0-56-common/arch/x86/include -I./arch/x86/include/generated " +
	"-I/usr/src/linux-headers-6.1.0-56-common/include -I./include " +
	"-I/usr/src/linux-headers-6.1.0-56-common/arch/x86/include/uapi -I./arch/x86/include/generated/uapi " +
	"-I/usr/src/linux-headers-6.1.0-56-common/include/uapi -I./include/generated/uapi -include " +
	"/usr/src/linux-headers-6.1.0-56-common/include/linux/compiler-version.h -include " +
	"/usr/src/linux-headers-6.1.0-56-common/include/linux/kconfig.h -include " +
	"/usr/src/linux-headers-6.1.0-56-common/include/linux/compiler_types.h -D__KERNEL__ " +
	"-fmacro-prefix-map=/usr/src/linux-headers-6.1.0-56-common/= -Wall -Wundef -Werror=strict-prototypes " +
	"-Wno-trigraphs -fno-strict-aliasing -fno-common -fshort-wchar -fno-PIE " +
	"-Werror=implicit-function-declaration -Werror=implicit-int -Werror=return-type -Wno-format-security " +
	"-std=gnu11 -mno-sse -mno-mmx -mno-sse2 -mno-3dnow -mno-avx -fcf-protection=none -m64 -falign-jumps=1 " +
	"-falign-loops=1 -mno-80387 -mno-fp-ret-in-387 -mpreferred-stack-boundary=3 -mskip-rax-setup " +
	"-mtune=generic -mno-red-zone -mcmodel=kernel -Wno-sign-compare -fno-asynchronous-unwind-tables " +
	"-mindirect-branch=thunk-extern -mindirect-branch-register -mindirect-branch-cs-prefix " +
	"-mfunction-return=thunk-extern -fno-jump-tables -mharden-sls=all -fno-delete-null-pointer-checks " +
	"-Wno-frame-address -Wno-format-truncation -Wno-format-overflow -Wno-address-of-packed-member -O2 " +
	"-fno-allow-store-data-races -Wframe-larger-than=2048 -fstack-protector-strong -Wno-main " +
	"-Wno-unused-but-set-variable -Wno-unused-const-variable -Wno-dangling-pointer " +
	"-ftrivial-auto-var-init=zero -fno-stack-clash-protection -pg -mrecord-mcount -mfentry " +
	"-DCC_USING_FENTRY -Wvla -Wno-pointer-sign -Wcast-function-type -Wno-stringop-truncation " +
	"-Wno-stringop-overflow -Wno-restrict -Wno-maybe-uninitialized -Wno-array-bounds " +
	"-Wno-alloc-size-larger-than -Wimplicit-fallthrough=5 -fno-strict-overflow -fno-stack-check " +
	"-fconserve-stack -Werror=date-time -Werror=incompatible-pointer-types -Werror=designated-init " +
	`-fno-builtin-wcslen -Wno-packed-not-aligned -g  -DMODULE  -DKBUILD_BASENAME='"probe"' ` +
	`-DKBUILD_MODNAME='"probe"' -D__KBUILD_MODNAME=kmod_probe -c -o ` +
	"/src/grailos/build/dde/kbuild-probe/probe.o /src/grailos/build/dde/kbuild-probe/probe.c   ; " +
	"./tools/objtool/objtool --hacks=jump_label --hacks=noinstr --orc --retpoline --rethunk --sls " +
	"--static-call --uaccess   --module /src/grailos/build/dde/kbuild-probe/probe.o"

func TestSplitShell(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{`gcc -DKBUILD_MODNAME='"probe"' -c x.c ; objtool x.o`, []string{"gcc", `-DKBUILD_MODNAME="probe"`, "-c", "x.c"}},
		{`a "b c" d\ e 'f'"g"h`, []string{"a", "b c", "d e", "fgh"}},
		{`a "x\"y\\z\n"`, []string{"a", `x"y\z\n`}},
		{`a;b`, []string{"a"}},
		{`  `, nil},
		{`a ''`, []string{"a", ""}},
	} {
		got, err := SplitShell(tc.in)
		if err != nil {
			t.Errorf("%q: %v", tc.in, err)
			continue
		}
		if !cmp.Equal(got, tc.want) {
			t.Errorf("SplitShell(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	for _, in := range []string{`a 'b`, `a "b`} {
		if _, err := SplitShell(in); err == nil {
			t.Errorf("SplitShell(%q): no error", in)
		}
	}
}

const probeDir = "/src/grailos/build/dde/kbuild-probe"

func TestFindCompileLine(t *testing.T) {
	out := "make: Entering directory '/usr/src/linux-headers-6.1.0-56-amd64'\n" +
		"make -f /usr/src/linux-headers-6.1.0-56-common/scripts/Makefile.build obj=" + probeDir + "\n" +
		sampleLine + "\n" +
		"   gcc-12 -Wp,-MMD," + probeDir + "/.probe.mod.o.d -nostdinc -c -o " + probeDir + "/probe.mod.o " + probeDir + "/probe.mod.c\n"
	words, err := FindCompileLine(out, probeDir+"/probe.c")
	if err != nil {
		t.Fatal(err)
	}
	if words[0] != "gcc-12" || words[len(words)-1] != probeDir+"/probe.c" || len(words) != 102 {
		t.Errorf("got %d words from %q to %q", len(words), words[0], words[len(words)-1])
	}
	if _, err := FindCompileLine(out, probeDir+"/other.c"); err == nil || err.Error() != "no compile command for "+probeDir+"/other.c in the Kbuild output" {
		t.Errorf("error %v", err)
	}
}

func TestFilterFlagsSample(t *testing.T) {
	words, err := SplitShell(sampleLine)
	if err != nil {
		t.Fatal(err)
	}
	fs, err := FilterFlags(words, "/usr/src/linux-headers-6.1.0-56-amd64", probeDir)
	if err != nil {
		t.Fatal(err)
	}
	want := FlagSet{CC: "gcc-12", Flags: []string{
		"-nostdinc", "-I/usr/src/linux-headers-6.1.0-56-common/arch/x86/include",
		"-I/usr/src/linux-headers-6.1.0-56-amd64/arch/x86/include/generated",
		"-I/usr/src/linux-headers-6.1.0-56-common/include",
		"-I/usr/src/linux-headers-6.1.0-56-amd64/include",
		"-I/usr/src/linux-headers-6.1.0-56-common/arch/x86/include/uapi",
		"-I/usr/src/linux-headers-6.1.0-56-amd64/arch/x86/include/generated/uapi",
		"-I/usr/src/linux-headers-6.1.0-56-common/include/uapi",
		"-I/usr/src/linux-headers-6.1.0-56-amd64/include/generated/uapi", "-include",
		"/usr/src/linux-headers-6.1.0-56-common/include/linux/compiler-version.h", "-include",
		"/usr/src/linux-headers-6.1.0-56-common/include/linux/kconfig.h", "-include",
		"/usr/src/linux-headers-6.1.0-56-common/include/linux/compiler_types.h", "-D__KERNEL__",
		"-fmacro-prefix-map=/usr/src/linux-headers-6.1.0-56-common/=", "-Wall", "-Wundef",
		"-Werror=strict-prototypes", "-Wno-trigraphs", "-fno-strict-aliasing", "-fno-common",
		"-fshort-wchar", "-fno-PIE", "-Werror=implicit-function-declaration", "-Werror=implicit-int",
		"-Werror=return-type", "-Wno-format-security", "-std=gnu11", "-mno-sse", "-mno-mmx", "-mno-sse2",
		"-mno-3dnow", "-mno-avx", "-fcf-protection=none", "-m64", "-falign-jumps=1", "-falign-loops=1",
		"-mno-80387", "-mno-fp-ret-in-387", "-mpreferred-stack-boundary=3", "-mskip-rax-setup",
		"-mtune=generic", "-mno-red-zone", "-Wno-sign-compare", "-fno-asynchronous-unwind-tables",
		"-mindirect-branch-register", "-mindirect-branch-cs-prefix", "-fno-jump-tables",
		"-fno-delete-null-pointer-checks", "-Wno-frame-address", "-Wno-format-truncation",
		"-Wno-format-overflow", "-Wno-address-of-packed-member", "-O2", "-fno-allow-store-data-races",
		"-Wframe-larger-than=2048", "-Wno-main", "-Wno-unused-but-set-variable",
		"-Wno-unused-const-variable", "-Wno-dangling-pointer", "-fno-stack-clash-protection", "-Wvla",
		"-Wno-pointer-sign", "-Wcast-function-type", "-Wno-stringop-truncation",
		"-Wno-stringop-overflow", "-Wno-restrict", "-Wno-maybe-uninitialized", "-Wno-array-bounds",
		"-Wno-alloc-size-larger-than", "-Wimplicit-fallthrough=5", "-fno-strict-overflow",
		"-fno-stack-check", "-fconserve-stack", "-Werror=date-time",
		"-Werror=incompatible-pointer-types", "-Werror=designated-init", "-fno-builtin-wcslen",
		"-Wno-packed-not-aligned", "-g", "-DMODULE", "-fno-stack-protector",
	}, Dropped: []string{
		"-Wp,-MMD,/src/grailos/build/dde/kbuild-probe/.probe.o.d", "-mcmodel=kernel",
		"-mindirect-branch=thunk-extern", "-mfunction-return=thunk-extern", "-mharden-sls=all",
		"-fstack-protector-strong", "-ftrivial-auto-var-init=zero", "-pg", "-mrecord-mcount", "-mfentry",
		"-DCC_USING_FENTRY", `-DKBUILD_BASENAME="probe"`, `-DKBUILD_MODNAME="probe"`,
		"-D__KBUILD_MODNAME=kmod_probe", "-c", "-o", "/src/grailos/build/dde/kbuild-probe/probe.o",
		"/src/grailos/build/dde/kbuild-probe/probe.c",
	}}
	if diff := cmp.Diff(want, fs); diff != "" {
		t.Errorf("FilterFlags (-want +got):\n%s", diff)
	}
}

func TestFilterFlagsErrors(t *testing.T) {
	for _, tc := range []struct {
		line, want string
	}{
		{"gcc", "empty compile line"},
		{"gcc -O2 stray -c -o x.o " + probeDir + "/x.c", `unexpected word "stray" in the compile line`},
		{"gcc -O2 -c -o x.o " + probeDir + "/x.c", "the compile line lacks -nostdinc: not a Kbuild module line?"},
		{"gcc -nostdinc -D__KERNEL__ -DMODULE -fno-PIE -mno-red-zone -include a.h -c " + probeDir + "/x.c", "the compile line has 1 -include files, want 3"},
	} {
		words, _ := SplitShell(tc.line)
		if _, err := FilterFlags(words, "/k", probeDir); err == nil || err.Error() != tc.want {
			t.Errorf("%q: error %v, want %s", tc.line, err, tc.want)
		}
	}
}

func TestObjectDefines(t *testing.T) {
	got := ObjectDefines("ne2k-pci", "drivers/net/ethernet/8390/ne2k-pci.c")
	want := []string{`-DKBUILD_BASENAME="ne2k_pci"`, `-DKBUILD_MODNAME="ne2k_pci"`, "-D__KBUILD_MODNAME=kmod_ne2k_pci"}
	if !cmp.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestCFlagsRoundTrip(t *testing.T) {
	c := &CFlags{
		FlagSet:    FlagSet{CC: "gcc-12", Flags: []string{"-I/r/dde/linux/shadow", "-nostdinc", "-include", "/k/kconfig.h", "-O2"}, Dropped: []string{"-pg", "-mfentry"}},
		Headers:    Package{"linux-headers-6.1.0-56-amd64", "6.1.192-2"},
		HeadersDir: "/usr/src/linux-headers-6.1.0-56-amd64",
		CCVersion:  "gcc-12 (Debian 12.2.0-14+deb12u1) 12.2.0",
		Shadow:     "/r/dde/linux/shadow",
		Recipe:     CFlagsRecipe,
	}
	text := string(c.Marshal())
	wantText := CFlagsGenerated + "\n" +
		"# User-space compile flags for unmodified donor C files (the DDE recipe), one per line.\n" +
		"# Per object add -DKBUILD_BASENAME=\"<file>\" -DKBUILD_MODNAME=\"<module>\" -D__KBUILD_MODNAME=kmod_<module>.\n" +
		"# recipe: 1\n" +
		"# headers: linux-headers-6.1.0-56-amd64 6.1.192-2\n" +
		"# headers-dir: /usr/src/linux-headers-6.1.0-56-amd64\n" +
		"# cc: gcc-12\n" +
		"# cc-version: gcc-12 (Debian 12.2.0-14+deb12u1) 12.2.0\n" +
		"# shadow: /r/dde/linux/shadow\n" +
		"# dropped: -pg -mfentry\n" +
		"-I/r/dde/linux/shadow\n-nostdinc\n-include /k/kconfig.h\n-O2\n"
	if text != wantText {
		t.Errorf("Marshal:\n%s\nwant:\n%s", text, wantText)
	}
	back, err := ParseCFlags([]byte(text))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(c, back); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
	if _, err := ParseCFlags([]byte(strings.Replace(text, "Generated", "Written", 1))); err == nil {
		t.Error("ParseCFlags accepted a file without the generated line")
	}
}
