package recipe

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// nm -g -P -A over an archive and an object, as binutils 2.40 prints it.
const sampleNM = `lib.a[main.o]: __kmalloc U         
lib.a[main.o]: jiffies U         
lib.a[main.o]: e1000_open T 1170 2a5
lib.a[main.o]: hw_reset U         
lib.a[main.o]: e1000_driver_name D 0 6
lib.a[hw.o]: hw_reset T 0 40
lib.a[hw.o]: __kmalloc U         
lib.a[hw.o]: opt_hook w         
lib.a[hw.o]: common_buf C 40 40
param.o: __this_module U         
param.o: param_ops_int U         
param.o: weak_def W 10 4
`

func TestParseNM(t *testing.T) {
	s, err := ParseNM(sampleNM)
	if err != nil {
		t.Fatal(err)
	}
	want := &Symbols{
		Defined: map[string]bool{"e1000_open": true, "e1000_driver_name": true, "hw_reset": true, "common_buf": true, "weak_def": true},
		Undefined: map[string][]string{
			"__kmalloc":     {"lib.a[hw.o]", "lib.a[main.o]"},
			"jiffies":       {"lib.a[main.o]"},
			"hw_reset":      {"lib.a[main.o]"},
			"__this_module": {"param.o"},
			"param_ops_int": {"param.o"},
		},
		WeakUndefined: map[string][]string{"opt_hook": {"lib.a[hw.o]"}},
	}
	if diff := cmp.Diff(want, s); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	for in, msg := range map[string]string{
		"jiffies U":       `nm line 1 "jiffies U": no file prefix (want nm -A)`,
		"x.o: jiffies":    `nm line 1 "x.o: jiffies": want name and one-letter type (nm -P)`,
		"x.o: a U\nb.o: ": `nm line 2 "b.o: ": want name and one-letter type (nm -P)`,
	} {
		if _, err := ParseNM(in); err == nil || err.Error() != msg {
			t.Errorf("%q: error %v, want %s", in, err, msg)
		}
	}
}

// objdump -dr -w --no-show-raw-insn: relocations on the instruction's line.
const sampleObjdumpWide = `
lib.a[main.o]:     file format elf64-x86-64

Disassembly of section .text:

0000000000001170 <e1000_maybe_stop_tx>:
    1190:	mov    0x3c0(%r8),%rax
    1197:	mov    0x0(%rip),%rsi        # 119e <e1000_maybe_stop_tx+0x2e>	119a: R_X86_64_PC32	jiffies-0x4
    151d:	mov    %gs:0x0,%rax	1522: R_X86_64_32S	current_task
    199f:	incl   %gs:0x0(%rip)        # 19a6 <x+0x4f6>	19a2: R_X86_64_PC32	__preempt_count-0x4
    19db:	call   19e0 <x+0x530>	19dc: R_X86_64_PLT32	memcpy-0x4
    19e5:	jmp    19ea <x+0x535>	19e6: R_X86_64_PLT32	kfree-0x4
    1a00:	jne    1a06 <x+0x550>	1a02: R_X86_64_PLT32	napi_schedule_prep-0x4
    1a10:	mov    $0x0,%rdi	1a13: R_X86_64_32S	__this_module
    1a20:	lea    0x0(%rip),%rsi        # 1a27 <x+0x570>	1a23: R_X86_64_PC32	eth_validate_addr-0x4
    1a30:	jmp    *0x0(,%rax,8)	1a33: R_X86_64_32S	sys_table
    1a40:	mov    0x0(,%rax,8),%rdx	1a44: R_X86_64_32S	per_cpu_offsets
    1a50:	mov    %rax,0x0	1a54: R_X86_64_32S	abs_store
    1a60:	lock incl 0x0(%rip)        # 1a66 <x+0x5b0>	1a62: R_X86_64_PC32	atomic_thing-0x4
    1a70:	mov    0x0(%rip),%rax        # 1a77 <x+0x5c0>	1a73: R_X86_64_PC32	memcpy-0x4
    1a80:	jle    1a86 <x+0x5d0>	1a82: R_X86_64_PC32	.text.unlikely+0x49
`

// The same kind of output without -w: relocations on their own lines.
const sampleObjdumpNarrow = `
0000000000000100 <f>:
     10a:	mov    $0x0,%edx
			10b: R_X86_64_32	param_ops_int
     10f:	call   114 <f+0x14>
			110: R_X86_64_PLT32	_dev_info-0x4

0000000000000200 <g>:
			210: R_X86_64_PC32	orphan-0x4
     220:	mov    0x0(%rip),%rax        # 227 <g+0x27>
			223: R_X86_64_PC32	kmalloc_caches+0x44
`

func TestParseObjdumpRefs(t *testing.T) {
	got := ParseObjdumpRefs(sampleObjdumpWide + sampleObjdumpNarrow)
	want := map[string]RefClass{
		"jiffies":            RefData,
		"current_task":       RefData,
		"__preempt_count":    RefData,
		"memcpy":             RefCall, // a call beats the data-looking use below it
		"kfree":              RefCall, // tail call
		"napi_schedule_prep": RefCall, // conditional tail call
		"__this_module":      RefAddress,
		"eth_validate_addr":  RefAddress,
		"sys_table":          RefData, // jump through a table
		"per_cpu_offsets":    RefData,
		"abs_store":          RefData,
		"atomic_thing":       RefData,
		".text.unlikely":     RefCall,
		"param_ops_int":      RefAddress,
		"_dev_info":          RefCall,
		"kmalloc_caches":     RefData,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestClassifyInsn(t *testing.T) {
	for insn, want := range map[string]RefClass{
		"call   19e0 <x+0x530>":             RefCall,
		"notrack jmp *0x0(,%rax,8)":         RefData,
		"cs call 0 <f>":                     RefCall,
		"movq   $0x0,0x8(%rax)":             RefAddress,
		"leaq   0x0(%rip),%rdi":             RefAddress,
		"addl   $0x200,%gs:0x0(%rip)":       RefData,
		"cmpq   $0x0,0x0(%rip)        # 1f": RefData,
		"":                                  RefAddress,
	} {
		if got := classifyInsn(insn); got != want {
			t.Errorf("classifyInsn(%q) = %v, want %v", insn, got, want)
		}
	}
}

func TestMissingSymbols(t *testing.T) {
	donor, err := ParseNM(sampleNM)
	if err != nil {
		t.Fatal(err)
	}
	dde, err := ParseNM("libdde.a[mem.o]: __kmalloc T 0 10\nlibdde.a[mem.o]: opt_hook T 10 10\nlibdde.a[mem.o]: kfree U\n")
	if err != nil {
		t.Fatal(err)
	}
	refs := map[string]RefClass{"jiffies": RefData, "__kmalloc": RefCall}
	got := MissingSymbols(donor, dde, refs)
	want := []Missing{
		{Name: "__this_module", Class: RefAddress, RefBy: []string{"param.o"}},
		{Name: "jiffies", Class: RefData, RefBy: []string{"lib.a[main.o]"}},
		{Name: "param_ops_int", Class: RefAddress, RefBy: []string{"param.o"}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("with DDE (-want +got):\n%s", diff)
	}
	if got := WeakMissing(donor, dde); len(got) != 0 {
		t.Errorf("WeakMissing with DDE = %v", got)
	}
	var names []string
	for _, m := range MissingSymbols(donor, nil, refs) {
		names = append(names, m.Name+":"+m.Class.String())
	}
	if got, want := strings.Join(names, " "), "__kmalloc:call __this_module:address jiffies:data param_ops_int:address"; got != want {
		t.Errorf("without DDE: %s, want %s", got, want)
	}
	if got := WeakMissing(donor, nil); !cmp.Equal(got, []string{"opt_hook"}) {
		t.Errorf("WeakMissing without DDE = %v", got)
	}
}

func FuzzParseNM(f *testing.F) {
	f.Add(sampleNM)
	f.Fuzz(func(t *testing.T, s string) {
		_, _ = ParseNM(s)
	})
}

func FuzzParseObjdumpRefs(f *testing.F) {
	f.Add(sampleObjdumpWide)
	f.Add(sampleObjdumpNarrow)
	f.Fuzz(func(t *testing.T, s string) {
		_ = ParseObjdumpRefs(s)
	})
}

func FuzzSplitShell(f *testing.F) {
	f.Add(sampleLine)
	f.Fuzz(func(t *testing.T, s string) {
		_, _ = SplitShell(s)
	})
}
