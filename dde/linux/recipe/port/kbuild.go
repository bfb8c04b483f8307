package port

import (
	"path"
	"regexp"
	"slices"
	"strings"
)

// KModule is one module a Kbuild Makefile builds, with the Makefile's
// conditionals evaluated against a kernel configuration.
type KModule struct {
	Name    string   // 8139too for 8139too.ko
	Config  string   // the CONFIG_ symbol of its obj- line; "" for obj-y/obj-m
	Enabled bool     // Config is y or m in the configuration (obj-y/obj-m: always)
	Objects []string // its objects, relative to the Makefile's folder, in Makefile order
	// Companions are the other modules named on the obj- lines that
	// name this one with the same condition (8390 for ne2k-pci): Kbuild
	// builds them together, and the driver needs their symbols.
	Companions []string
}

// Config is a kernel configuration: CONFIG_ symbol → value (y, m, a
// number or a string), as include/config/auto.conf states it.
type Config map[string]string

// ParseConfig reads auto.conf text (CONFIG_X=y lines; comments skipped).
func ParseConfig(text string) Config {
	c := Config{}
	for _, l := range strings.Split(text, "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(l), "=")
		if ok && strings.HasPrefix(k, "CONFIG_") {
			c[k] = strings.Trim(v, `"`)
		}
	}
	return c
}

// on reports whether a Kbuild suffix (y, m, $(CONFIG_X)) selects objects.
func (c Config) on(suffix string) bool {
	switch suffix {
	case "y", "m", "objs":
		return true
	}
	if v, ok := strings.CutPrefix(suffix, "$("); ok && strings.HasSuffix(v, ")") {
		v = c[strings.TrimSuffix(v, ")")]
		return v == "y" || v == "m"
	}
	return false
}

var (
	mkAssign = regexp.MustCompile(`^\s*([A-Za-z0-9_$().,-]+)\s*(:=|\+=|\?=|=)\s*(.*?)\s*$`)
	// composite: <name>-objs, <name>-y, <name>-m, <name>-$(CONFIG_X)
	composite = regexp.MustCompile(`^(.+?)-(objs|y|m|\$\(CONFIG_[A-Za-z0-9_]+\))$`)
	configRef = regexp.MustCompile(`^\$\((CONFIG_[A-Za-z0-9_]+)\)$`)
)

// notModule are the Kbuild variables that look like <name>-y but are not
// object lists.
var notModule = map[string]bool{"obj": true, "lib": true, "ccflags": true, "subdir-ccflags": true,
	"asflags": true, "ldflags": true, "subdir": true, "always": true, "hostprogs": true, "extra": true,
	"targets": true, "userprogs": true, "CFLAGS": true}

// logicalLines returns a Makefile's lines with continuations joined and
// comments removed.
func logicalLines(text string) []string {
	text = strings.ReplaceAll(text, "\\\n", " ")
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if i := strings.IndexByte(l, '#'); i >= 0 {
			l = l[:i]
		}
		if strings.TrimSpace(l) != "" {
			out = append(out, l)
		}
	}
	return out
}

// ParseModules returns the modules a Kbuild Makefile builds, in the order
// of their obj- lines, each with its objects: <name>-objs/-y and the
// <name>-$(CONFIG_X) lines whose CONFIG_X is y or m, or <name>.o alone.
// Subfolders (obj-y += dir/) and words using variables are skipped;
// ifeq/ifdef blocks are not evaluated (every line counts).
func ParseModules(text string, cfg Config) []KModule {
	objs := map[string][]string{}
	vars := map[string][]string{} // every variable, for $(common-objs) & co.
	var mods []KModule
	seen := map[string]int{}
	for _, l := range logicalLines(text) {
		m := mkAssign.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		lhs, op, words := m[1], m[2], expand(strings.Fields(m[3]), vars)
		if op == "+=" {
			vars[lhs] = append(vars[lhs], words...)
		} else {
			vars[lhs] = words
		}
		if suffix, ok := strings.CutPrefix(lhs, "obj-"); ok {
			conf := ""
			if c := configRef.FindStringSubmatch(suffix); c != nil {
				conf = c[1]
			} else if suffix != "y" && suffix != "m" {
				continue
			}
			var line []string
			for _, w := range words {
				if strings.HasSuffix(w, ".o") && !strings.Contains(w, "$") && !strings.Contains(w, "/") {
					line = append(line, strings.TrimSuffix(w, ".o"))
				}
			}
			for _, name := range line {
				i, dup := seen[name]
				if !dup {
					i = len(mods)
					seen[name] = i
					mods = append(mods, KModule{Name: name, Config: conf, Enabled: cfg.on(suffix)})
				}
				if mods[i].Config != conf {
					continue
				}
				for _, other := range line {
					if other != name && !slices.Contains(mods[i].Companions, other) {
						mods[i].Companions = append(mods[i].Companions, other)
					}
				}
			}
			continue
		}
		c := composite.FindStringSubmatch(lhs)
		if c == nil || notModule[c[1]] || strings.Contains(c[1], "$") {
			continue
		}
		if !cfg.on(c[2]) {
			continue
		}
		if op != "+=" && (c[2] == "objs" || c[2] == "y") {
			objs[c[1]] = nil
		}
		for _, w := range words {
			if strings.HasSuffix(w, ".o") && !strings.Contains(w, "$") {
				objs[c[1]] = append(objs[c[1]], w)
			}
		}
	}
	for i := range mods {
		if o := objs[mods[i].Name]; len(o) > 0 {
			mods[i].Objects = slices.Compact(o)
		} else {
			mods[i].Objects = []string{mods[i].Name + ".o"}
		}
	}
	return mods
}

var varRef = regexp.MustCompile(`^\$\(([A-Za-z0-9_.-]+)\)$`)

// expand replaces words that are a whole $(VAR) reference by the
// variable's words so far.
func expand(words []string, vars map[string][]string) []string {
	var out []string
	for _, w := range words {
		if m := varRef.FindStringSubmatch(w); m != nil && !strings.HasPrefix(m[1], "CONFIG_") {
			out = append(out, vars[m[1]]...)
			continue
		}
		out = append(out, w)
	}
	return out
}

// Sources turns a module's objects into tree paths of their .c files
// (dir is the Makefile's folder in the tree).
func (k KModule) Sources(dir string) []string {
	var out []string
	for _, o := range k.Objects {
		out = append(out, path.Join(dir, strings.TrimSuffix(o, ".o")+".c"))
	}
	return out
}

// ModuleOf returns the module of mods whose sources contain every .c file
// of srcs, or false.
func ModuleOf(mods []KModule, dir string, srcs []string) (KModule, bool) {
	for _, k := range mods {
		have := k.Sources(dir)
		all := true
		for _, s := range srcs {
			if strings.HasSuffix(s, ".c") && !slices.Contains(have, s) {
				all = false
				break
			}
		}
		if all {
			return k, true
		}
	}
	return KModule{}, false
}

var quotedInclude = regexp.MustCompile(`(?m)^\s*#\s*include\s+"([^"]+)"`)

// LocalIncludes returns the files a set of donor files include with
// #include "…", transitively, that exist in tree (tree path → content),
// resolved against the including file's folder. Sorted, without the
// starting files.
func LocalIncludes(tree map[string][]byte, start []string) []string {
	seen := map[string]bool{}
	for _, s := range start {
		seen[s] = true
	}
	todo := slices.Clone(start)
	var out []string
	for len(todo) > 0 {
		f := todo[0]
		todo = todo[1:]
		for _, m := range quotedInclude.FindAllStringSubmatch(string(tree[f]), -1) {
			p := path.Join(path.Dir(f), m[1])
			if _, ok := tree[p]; !ok || seen[p] {
				continue
			}
			seen[p] = true
			out = append(out, p)
			todo = append(todo, p)
		}
	}
	slices.Sort(out)
	return out
}

// IsPCIDriver reports whether C source registers a PCI driver.
func IsPCIDriver(src []byte) bool {
	s := string(src)
	return strings.Contains(s, "pci_register_driver(") || strings.Contains(s, "module_pci_driver(")
}

// CCFlags returns the -I and -D options a Kbuild Makefile adds for its
// objects (ccflags-y, subdir-ccflags-y, ccflags-$(CONFIG_X) when set,
// EXTRA_CFLAGS, and the per-object CFLAGS_<obj>.o, given to every object
// of the driver: they are include folders for trace headers and the
// like). $(srctree) becomes srctree and $(src)/$(obj) (relative to it in
// Kbuild) become src.
func CCFlags(text string, cfg Config, srctree, src string) []string {
	r := strings.NewReplacer("$(srctree)/$(src)", src, "$(srctree)/$(obj)", src, "$(srctree)", srctree, "$(src)", src, "$(obj)", src)
	var out []string
	for _, l := range logicalLines(text) {
		m := mkAssign.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		lhs := m[1]
		perObject := strings.HasPrefix(lhs, "CFLAGS_") && strings.HasSuffix(lhs, ".o")
		if lhs != "EXTRA_CFLAGS" && !perObject {
			c := composite.FindStringSubmatch(lhs)
			if c == nil || (c[1] != "ccflags" && c[1] != "subdir-ccflags") || !cfg.on(c[2]) {
				continue
			}
		}
		words := strings.Fields(r.Replace(m[3]))
		for i := 0; i < len(words); i++ {
			w := words[i]
			if (w == "-I" || w == "-D") && i+1 < len(words) {
				w += words[i+1]
				i++
			}
			if (strings.HasPrefix(w, "-I") || strings.HasPrefix(w, "-D")) && !strings.Contains(w, "$") && !slices.Contains(out, w) {
				out = append(out, w)
			}
		}
	}
	return out
}
