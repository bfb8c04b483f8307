package recipe

import (
	"fmt"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// KernelVersion is an upstream kernel version as the top-level Makefile
// states it (VERSION, PATCHLEVEL, SUBLEVEL, EXTRAVERSION).
type KernelVersion struct {
	Version, Patchlevel, Sublevel int
	Extra                         string
}

func (v KernelVersion) String() string {
	return fmt.Sprintf("%d.%d.%d%s", v.Version, v.Patchlevel, v.Sublevel, v.Extra)
}

// joinLines returns the logical lines of a Makefile: continuations joined,
// comments removed.
func joinLines(text string) []string {
	text = strings.ReplaceAll(text, "\\\n", " ")
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if i := strings.IndexByte(l, '#'); i >= 0 {
			l = l[:i]
		}
		out = append(out, l)
	}
	return out
}

var mkAssign = regexp.MustCompile(`^\s*([A-Za-z0-9_$().-]+)\s*(:=|\+=|\?=|=)\s*(.*?)\s*$`)

// ParseMakefileVersion reads VERSION, PATCHLEVEL, SUBLEVEL and EXTRAVERSION
// from a kernel's top-level Makefile.
func ParseMakefileVersion(text string) (KernelVersion, error) {
	vals := map[string]string{}
	for _, l := range joinLines(text) {
		m := mkAssign.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		switch m[1] {
		case "VERSION", "PATCHLEVEL", "SUBLEVEL", "EXTRAVERSION":
			if _, dup := vals[m[1]]; !dup {
				vals[m[1]] = m[3]
			}
		}
	}
	var v KernelVersion
	for _, f := range []struct {
		name string
		dst  *int
	}{{"VERSION", &v.Version}, {"PATCHLEVEL", &v.Patchlevel}, {"SUBLEVEL", &v.Sublevel}} {
		s, ok := vals[f.name]
		if !ok {
			return KernelVersion{}, fmt.Errorf("no %s line", f.name)
		}
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			return KernelVersion{}, fmt.Errorf("%s = %q is not a number", f.name, s)
		}
		*f.dst = n
	}
	v.Extra = vals["EXTRAVERSION"]
	return v, nil
}

var versionDefine = regexp.MustCompile(`(?m)^#define\s+LINUX_VERSION_(MAJOR|PATCHLEVEL|SUBLEVEL)\s+(\d+)\s*$`)

// ParseVersionHeader reads LINUX_VERSION_MAJOR/PATCHLEVEL/SUBLEVEL from a
// configured tree's include/generated/uapi/linux/version.h.
func ParseVersionHeader(text string) (KernelVersion, error) {
	got := map[string]int{}
	for _, m := range versionDefine.FindAllStringSubmatch(text, -1) {
		n, _ := strconv.Atoi(m[2])
		got[m[1]] = n
	}
	for _, k := range []string{"MAJOR", "PATCHLEVEL", "SUBLEVEL"} {
		if _, ok := got[k]; !ok {
			return KernelVersion{}, fmt.Errorf("no LINUX_VERSION_%s", k)
		}
	}
	return KernelVersion{Version: got["MAJOR"], Patchlevel: got["PATCHLEVEL"], Sublevel: got["SUBLEVEL"]}, nil
}

// DebianUpstream returns the upstream part of a Debian version: without
// epoch and Debian revision ("1:6.1.192-2" → "6.1.192").
func DebianUpstream(v string) string {
	if i := strings.IndexByte(v, ':'); i >= 0 {
		v = v[i+1:]
	}
	if i := strings.LastIndexByte(v, '-'); i >= 0 {
		v = v[:i]
	}
	return v
}

// ModuleObjects are the objects a Kbuild file links into one module, as
// paths relative to the Kbuild file's folder.
type ModuleObjects struct {
	Always      []string // from <module>-objs, <module>-y, or a single <module>.o
	Conditional []string // from <module>-$(CONFIG_...)
}

// ParseKbuildModule finds the objects of module in Kbuild Makefile text.
// A module without <module>-objs/-y lines but listed as <module>.o in an
// obj-... line is built from <module>.c alone.
func ParseKbuildModule(text, module string) (ModuleObjects, error) {
	var mo ModuleObjects
	single := false
	for _, l := range joinLines(text) {
		m := mkAssign.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		lhs, words := m[1], strings.Fields(m[3])
		switch {
		case lhs == module+"-objs" || lhs == module+"-y":
			if m[2] != "+=" {
				mo.Always = nil
			}
			mo.Always = append(mo.Always, words...)
		case strings.HasPrefix(lhs, module+"-$(CONFIG_"):
			mo.Conditional = append(mo.Conditional, words...)
		case strings.HasPrefix(lhs, "obj-") && slices.Contains(words, module+".o"):
			single = true
		}
	}
	if len(mo.Always) == 0 {
		if !single {
			return ModuleObjects{}, fmt.Errorf("no objects for module %s (want %s-objs, %s-y or %s.o in an obj- line)", module, module, module, module)
		}
		mo.Always = []string{module + ".o"}
	}
	return mo, nil
}

// CheckSources compares a manifest's .c files with the module's objects in
// its Kbuild file (kbuildText is the file's content). Every unconditional
// object must have its .c in the manifest; conditional ones may.
func CheckSources(m *Manifest, kbuildText string) error {
	mo, err := ParseKbuildModule(kbuildText, m.Module)
	if err != nil {
		return fmt.Errorf("%s: %w", m.Kbuild, err)
	}
	dir := path.Dir(m.Kbuild)
	toSrc := func(objs []string) []string {
		var out []string
		for _, o := range objs {
			out = append(out, path.Join(dir, strings.TrimSuffix(o, ".o")+".c"))
		}
		return out
	}
	want, maybe := toSrc(mo.Always), toSrc(mo.Conditional)
	have := m.Sources()
	var missing, extra []string
	for _, s := range want {
		if !slices.Contains(have, s) {
			missing = append(missing, s)
		}
	}
	for _, s := range have {
		if !slices.Contains(want, s) && !slices.Contains(maybe, s) {
			extra = append(extra, s)
		}
	}
	if len(missing)+len(extra) == 0 {
		return nil
	}
	return fmt.Errorf("manifest %s does not match Kbuild's module %s in %s: missing %v, not in the module %v",
		m.Port, m.Module, m.Kbuild, missing, extra)
}
