package recipe

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// Symbols is what nm says about a set of objects and archives: the global
// symbols they define and those they reference without defining, with the
// objects that reference each.
type Symbols struct {
	Defined       map[string]bool
	Undefined     map[string][]string // name → referencing objects ("lib.a[x.o]" or "x.o"), sorted
	WeakUndefined map[string][]string // weak references ("w"): they resolve to 0 when missing
}

// ParseNM parses the output of nm -g -P -A (POSIX format, every line
// prefixed with its file: "lib.a[x.o]: name type [value size]").
func ParseNM(out string) (*Symbols, error) {
	s := &Symbols{Defined: map[string]bool{}, Undefined: map[string][]string{}, WeakUndefined: map[string][]string{}}
	for n, l := range strings.Split(out, "\n") {
		if strings.TrimSpace(l) == "" {
			continue
		}
		i := strings.LastIndex(l, ": ")
		if i < 0 {
			return nil, fmt.Errorf("nm line %d %q: no file prefix (want nm -A)", n+1, l)
		}
		file, f := l[:i], strings.Fields(l[i+2:])
		if len(f) < 2 || len(f[1]) != 1 {
			return nil, fmt.Errorf("nm line %d %q: want name and one-letter type (nm -P)", n+1, l)
		}
		name, typ := f[0], f[1][0]
		switch {
		case typ == 'U':
			s.Undefined[name] = addSorted(s.Undefined[name], file)
		case typ == 'w' || typ == 'v':
			s.WeakUndefined[name] = addSorted(s.WeakUndefined[name], file)
		case typ >= 'A' && typ <= 'Z' || typ == 'i' || typ == 'u':
			s.Defined[name] = true // global, weak (W, V) and common (C) definitions
		}
	}
	return s, nil
}

func addSorted(list []string, v string) []string {
	i, found := slices.BinarySearch(list, v)
	if found {
		return list
	}
	return slices.Insert(list, i, v)
}

// RefClass is how donor code uses a symbol it does not define, as judged
// from the instructions that carry its relocations (ClassifyRefs).
type RefClass int

const (
	// RefAddress: only its address is taken — lea, an immediate ($sym), or
	// a pointer in a data section (ops tables, module parameters, jump
	// tables). A function pointer or a data address: the object cannot
	// tell which.
	RefAddress RefClass = iota
	// RefData: used as a memory operand — a rip-relative, %gs:/%fs: or
	// absolute-displacement load or store, or an indirect jump through it.
	// It looks like data (jiffies, current_task, kmalloc_caches).
	RefData
	// RefCall: the target of a direct call or jump: a function.
	RefCall
)

func (c RefClass) String() string {
	switch c {
	case RefCall:
		return "call"
	case RefData:
		return "data"
	}
	return "address"
}

var (
	insnLine   = regexp.MustCompile(`^\s*[0-9a-f]+:\t([^\t]*)`)
	relocField = regexp.MustCompile(`[0-9a-f]+: (R_X86_64_[A-Z0-9_]+)\s+(\S+)`)
	addend     = regexp.MustCompile(`[-+]0x[0-9a-f]+$`)
	insnPrefix = map[string]bool{"lock": true, "rep": true, "repz": true, "repnz": true, "repe": true, "repne": true,
		"notrack": true, "bnd": true, "cs": true, "ds": true, "ss": true, "es": true, "fs": true, "gs": true,
		"data16": true, "addr32": true}
)

// ParseObjdumpRefs classifies every symbol a relocation in objdump -dr
// output refers to (with or without -w; best with --no-show-raw-insn).
// A symbol gets the strongest class any reference gives it: call, then
// data, then address. Symbols referenced only from sections objdump did
// not disassemble (data) do not appear; treat them as RefAddress.
func ParseObjdumpRefs(out string) map[string]RefClass {
	refs := map[string]RefClass{}
	insn := ""
	for _, l := range strings.Split(out, "\n") {
		if m := insnLine.FindStringSubmatch(l); m != nil {
			insn = m[1] // with -w its relocations follow on the same line
		} else if strings.HasSuffix(l, ">:") {
			insn = "" // a new function: no current instruction
		}
		if insn == "" {
			continue
		}
		for _, r := range relocField.FindAllStringSubmatch(l, -1) {
			sym := addend.ReplaceAllString(r[2], "")
			if old, seen := refs[sym]; !seen || classifyInsn(insn) > old {
				refs[sym] = classifyInsn(insn)
			}
		}
	}
	return refs
}

// classifyInsn says how an instruction (AT&T syntax, as objdump prints
// it) uses the symbol its relocation patches.
func classifyInsn(insn string) RefClass {
	if i := strings.Index(insn, "#"); i >= 0 {
		insn = insn[:i]
	}
	words := strings.Fields(insn)
	for len(words) > 0 && insnPrefix[words[0]] {
		words = words[1:]
	}
	if len(words) == 0 {
		return RefAddress
	}
	mn, ops := words[0], strings.Join(words[1:], " ")
	branch := strings.HasPrefix(mn, "call") || strings.HasPrefix(mn, "jmp") || (mn[0] == 'j' && len(mn) <= 5)
	switch {
	case branch && !strings.HasPrefix(ops, "*"):
		return RefCall
	case strings.HasPrefix(mn, "lea"):
		return RefAddress
	case strings.Contains(ops, "(%rip)") || strings.Contains(ops, "%gs:") || strings.Contains(ops, "%fs:"):
		return RefData
	case strings.Contains(ops, "(,"): // displacement with index and no base: a table
		return RefData
	}
	for _, op := range strings.Split(ops, ",") {
		op = strings.TrimPrefix(op, "*")
		if strings.HasPrefix(op, "0x") && !strings.Contains(op, "(") { // absolute memory operand
			return RefData
		}
	}
	return RefAddress
}

// Missing is one symbol the donor objects need and nobody defines.
type Missing struct {
	Name  string
	Class RefClass
	RefBy []string // referencing objects
}

// MissingSymbols returns, sorted by name, the symbols donor references
// that neither the donor objects nor the DDE objects define, classified
// by refs (absent: RefAddress). Weak references are left out; see
// WeakMissing.
func MissingSymbols(donor, dde *Symbols, refs map[string]RefClass) []Missing {
	var out []Missing
	for _, name := range sortedKeys(donor.Undefined) {
		if donor.Defined[name] || (dde != nil && dde.Defined[name]) {
			continue
		}
		out = append(out, Missing{Name: name, Class: refs[name], RefBy: donor.Undefined[name]})
	}
	return out
}

// WeakMissing returns the weak references nobody defines, sorted.
func WeakMissing(donor, dde *Symbols) []string {
	var out []string
	for _, name := range sortedKeys(donor.WeakUndefined) {
		if !donor.Defined[name] && (dde == nil || !dde.Defined[name]) {
			out = append(out, name)
		}
	}
	return out
}

// ScanSymbols runs nm -g -P -A over files (objects or archives).
func (r Runner) ScanSymbols(ctx context.Context, files []string) (*Symbols, error) {
	if len(files) == 0 {
		return ParseNM("")
	}
	out, err := r.output(ctx, "nm", append([]string{"-g", "-P", "-A"}, files...)...)
	if err != nil {
		return nil, err
	}
	return ParseNM(out)
}

// ScanRefs runs objdump -dr over files and classifies the references.
func (r Runner) ScanRefs(ctx context.Context, files []string) (map[string]RefClass, error) {
	out, err := r.output(ctx, "objdump", append([]string{"-dr", "-w", "--no-show-raw-insn"}, files...)...)
	if err != nil {
		return nil, err
	}
	return ParseObjdumpRefs(out), nil
}
