package recipe

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
)

// SplitShell splits one shell command line into words the way sh would
// for the quoting Kbuild prints ('…', "…", backslashes). It stops at the
// first unquoted ;, | or &, which end the first command (Kbuild appends
// "; objtool …" to a compile line).
func SplitShell(line string) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord := false
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		case c == ';' || c == '|' || c == '&':
			if inWord {
				words = append(words, cur.String())
			}
			return words, nil
		case c == '\'':
			j := strings.IndexByte(line[i+1:], '\'')
			if j < 0 {
				return nil, errors.New("unterminated single quote")
			}
			cur.WriteString(line[i+1 : i+1+j])
			i += j + 1
			inWord = true
		case c == '"':
			i++
			for ; i < len(line) && line[i] != '"'; i++ {
				if line[i] == '\\' && i+1 < len(line) && strings.IndexByte("\"\\$`", line[i+1]) >= 0 {
					i++
				}
				cur.WriteByte(line[i])
			}
			if i >= len(line) {
				return nil, errors.New("unterminated double quote")
			}
			inWord = true
		case c == '\\' && i+1 < len(line):
			i++
			cur.WriteByte(line[i])
			inWord = true
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}

// FindCompileLine returns the words of the first command in Kbuild's V=1
// output that compiles source (a path as Kbuild printed it) with -c.
func FindCompileLine(output, source string) ([]string, error) {
	for _, l := range strings.Split(output, "\n") {
		if !strings.Contains(l, source) || !strings.Contains(l, " -c ") {
			continue
		}
		words, err := SplitShell(l)
		if err != nil {
			return nil, fmt.Errorf("kbuild line %q: %w", l, err)
		}
		if slices.Contains(words, "-c") && len(words) > 0 && words[len(words)-1] == source {
			return words, nil
		}
	}
	return nil, fmt.Errorf("no compile command for %s in the Kbuild output", source)
}

// dropReason says why the user-space DDE leaves out a flag of Kbuild's
// compile line. Everything not listed is kept: -nostdinc, the include set,
// the three -include files, -D__KERNEL__ -DMODULE, -fno-PIE, -mno-red-zone,
// -mno-sse…, the warning set.
var dropReason = map[string]string{
	"-mcmodel=kernel":                "the kernel code model assumes the top 2 GB of the address space; a user process links low (small model)",
	"-mindirect-branch=thunk-extern": "retpolines call __x86_indirect_thunk_* that only the kernel provides",
	"-mfunction-return=thunk-extern": "return thunks jump to __x86_return_thunk that only the kernel provides",
	"-mharden-sls=all":               "straight-line-speculation padding is a kernel hardening choice",
	"-fstack-protector-strong":       "the kernel's canary lives at %gs:40; with GS base 0 in user space that is an unmapped address (replaced by -fno-stack-protector)",
	"-fstack-protector":              "as -fstack-protector-strong",
	"-fstack-protector-all":          "as -fstack-protector-strong",
	"-pg":                            "ftrace: calls to __fentry__ that only the kernel provides",
	"-mrecord-mcount":                "ftrace: __mcount_loc records",
	"-mfentry":                       "ftrace: calls to __fentry__",
	"-DCC_USING_FENTRY":              "ftrace: tells headers -mfentry is on",
	"-ftrivial-auto-var-init=zero":   "kernel hardening of uninitialised locals; left out as in the verified DDE recipe",
	"-c":                             "per object",
}

// perObjectDefine reports whether a -D is one Kbuild sets per object or
// module (KBUILD_BASENAME, KBUILD_MODNAME, __KBUILD_MODNAME, KBUILD_MODFILE).
func perObjectDefine(w string) bool {
	return strings.HasPrefix(w, "-DKBUILD_") || strings.HasPrefix(w, "-D__KBUILD_")
}

// pathOptions take a path: as separate word or, for -I, attached.
var pathOptions = []string{"-I", "-include", "-isystem", "-iquote", "-idirafter", "-imacros"}

// FlagSet is the user-space compile flag set derived from Kbuild's line.
type FlagSet struct {
	CC      string   // the compiler Kbuild ran, e.g. gcc-12
	Flags   []string // flags for every donor object, in Kbuild's order
	Dropped []string // what was left out, in Kbuild's order
}

// FilterFlags turns the words of a Kbuild compile line (compiler first)
// into the DDE's user-space flags. kbuildDir is the folder make ran in
// (make -C): relative paths in the line resolve against it and come out
// absolute. moduleDir is the throwaway module's folder: anything naming it
// (dependency file, output, source) is per object and dropped. See
// dropReason for the rest.
func FilterFlags(words []string, kbuildDir, moduleDir string) (FlagSet, error) {
	if len(words) < 2 {
		return FlagSet{}, errors.New("empty compile line")
	}
	fs := FlagSet{CC: words[0]}
	abs := func(p string) string {
		if filepath.IsAbs(p) {
			return filepath.Clean(p)
		}
		return filepath.Join(kbuildDir, p)
	}
	stackProtector := false
	for i := 1; i < len(words); i++ {
		w := words[i]
		switch {
		case strings.HasPrefix(w, "-Wp,-MMD,") || strings.HasPrefix(w, "-Wp,-MD,"):
			fs.Dropped = append(fs.Dropped, w) // dependency output for Kbuild's fixdep
		case w == "-o" && i+1 < len(words):
			fs.Dropped = append(fs.Dropped, w, words[i+1])
			i++
		case dropReason[w] != "" || perObjectDefine(w):
			fs.Dropped = append(fs.Dropped, w)
			stackProtector = stackProtector || strings.HasPrefix(w, "-fstack-protector")
		case strings.Contains(w, moduleDir):
			fs.Dropped = append(fs.Dropped, w) // the probe's own source or include path
		case slices.Contains(pathOptions, w) && i+1 < len(words):
			fs.Flags = append(fs.Flags, w, abs(words[i+1]))
			i++
		case strings.HasPrefix(w, "-I") && len(w) > 2:
			fs.Flags = append(fs.Flags, "-I"+abs(w[2:]))
		case !strings.HasPrefix(w, "-"):
			return FlagSet{}, fmt.Errorf("unexpected word %q in the compile line", w)
		default:
			fs.Flags = append(fs.Flags, w)
		}
	}
	if stackProtector && !slices.Contains(fs.Flags, "-fno-stack-protector") {
		fs.Flags = append(fs.Flags, "-fno-stack-protector")
	}
	for _, must := range []string{"-nostdinc", "-D__KERNEL__", "-DMODULE", "-fno-PIE", "-mno-red-zone"} {
		if !slices.Contains(fs.Flags, must) {
			return FlagSet{}, fmt.Errorf("the compile line lacks %s: not a Kbuild module line?", must)
		}
	}
	if n := strings.Count(strings.Join(fs.Flags, " "), "-include "); n != 3 {
		return FlagSet{}, fmt.Errorf("the compile line has %d -include files, want 3", n)
	}
	return fs, nil
}

// nameFix is Kbuild's name-fix: module and base names become C tokens.
func nameFix(s string) string {
	return strings.NewReplacer("-", "_", ",", "_").Replace(s)
}

// ObjectDefines returns the per-object -D flags Kbuild would pass when
// compiling source (a .c path) into module.
func ObjectDefines(module, source string) []string {
	base := nameFix(strings.TrimSuffix(filepath.Base(source), ".c"))
	mod := nameFix(module)
	return []string{
		`-DKBUILD_BASENAME="` + base + `"`,
		`-DKBUILD_MODNAME="` + mod + `"`,
		"-D__KBUILD_MODNAME=kmod_" + mod,
	}
}
