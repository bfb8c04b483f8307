package port

import (
	"fmt"
	"slices"
	"strings"
)

// Class says who provides a kernel symbol a donor object references.
type Class int

const (
	Implemented Class = iota // the DDE runtime defines it (outside dummies.c)
	HandStubbed              // dummies.c defines it: logs once, returns something harmless
	Libc                     // the static C library defines it (memcpy & co.)
	Missing                  // nobody: a generated stub stops the server naming it
	numClasses
)

var classNames = [numClasses]string{"implemented", "hand-stubbed", "libc", "missing"}

func (c Class) String() string {
	if c >= 0 && c < numClasses {
		return classNames[c]
	}
	return fmt.Sprintf("Class(%d)", int(c))
}

// MarshalText makes a Class its name in JSON.
func (c Class) MarshalText() ([]byte, error) { return []byte(c.String()), nil }

// UnmarshalText reads a Class name.
func (c *Class) UnmarshalText(b []byte) error {
	i := slices.Index(classNames[:], string(b))
	if i < 0 {
		return fmt.Errorf("unknown symbol class %q", b)
	}
	*c = Class(i)
	return nil
}

// Providers is what defines kernel symbols for a port: the DDE runtime
// archive (dummies.o apart) and the static C library.
type Providers struct {
	DDE     map[string]bool // defined by a runtime object other than the hand-stub file
	Dummies map[string]bool // defined by the hand-stub file
	Libc    map[string]bool
}

// DummiesObject is the runtime member that holds the hand-written stubs.
const DummiesObject = "dummies.o"

// ParseProviders builds Providers from nm -g -P -A output of the runtime
// archive and of libc.a. A symbol defined both by dummies.o and by
// another runtime object counts as implemented.
func ParseProviders(runtimeNM, libcNM string) (*Providers, error) {
	p := &Providers{DDE: map[string]bool{}, Dummies: map[string]bool{}, Libc: map[string]bool{}}
	defs, err := definedBy(runtimeNM)
	if err != nil {
		return nil, err
	}
	for name, files := range defs {
		for _, f := range files {
			if memberName(f) == DummiesObject {
				p.Dummies[name] = true
			} else {
				p.DDE[name] = true
			}
		}
	}
	if defs, err = definedBy(libcNM); err != nil {
		return nil, err
	}
	for name := range defs {
		p.Libc[name] = true
	}
	return p, nil
}

// memberName returns x.o for "lib.a[x.o]" and for "dir/x.o".
func memberName(file string) string {
	if i := strings.LastIndexByte(file, '['); i >= 0 && strings.HasSuffix(file, "]") {
		return file[i+1 : len(file)-1]
	}
	if i := strings.LastIndexByte(file, '/'); i >= 0 {
		return file[i+1:]
	}
	return file
}

// definedBy parses nm -g -P -A output into symbol → defining files
// (global, weak and common definitions).
func definedBy(out string) (map[string][]string, error) {
	defs := map[string][]string{}
	for n, l := range strings.Split(out, "\n") {
		if strings.TrimSpace(l) == "" {
			continue
		}
		i := strings.LastIndex(l, ": ")
		if i < 0 {
			return nil, fmt.Errorf("nm line %d %q: no file prefix (want nm -A)", n+1, l)
		}
		f := strings.Fields(l[i+2:])
		if len(f) < 2 || len(f[1]) != 1 {
			return nil, fmt.Errorf("nm line %d %q: want name and one-letter type (nm -P)", n+1, l)
		}
		if t := f[1][0]; t != 'U' && (t >= 'A' && t <= 'Z' || t == 'i' || t == 'u') {
			defs[f[0]] = append(defs[f[0]], l[:i])
		}
	}
	return defs, nil
}

// Classify says who provides one symbol: the runtime first, then its
// hand stubs, then libc.
func (p *Providers) Classify(name string) Class {
	switch {
	case p.DDE[name]:
		return Implemented
	case p.Dummies[name]:
		return HandStubbed
	case p.Libc[name]:
		return Libc
	}
	return Missing
}

// Symbol is one referenced kernel symbol and its class.
type Symbol struct {
	Name  string `json:"name"`
	Class Class  `json:"class"`
}

// Coverage is the classification of every symbol one driver references
// and does not define itself.
type Coverage struct {
	Driver  string   `json:"driver"`
	Symbols []Symbol `json:"symbols"` // sorted by name
}

// Cover classifies undefined (any order, duplicates allowed).
func (p *Providers) Cover(driver string, undefined []string) Coverage {
	names := slices.Clone(undefined)
	slices.Sort(names)
	names = slices.Compact(names)
	c := Coverage{Driver: driver, Symbols: make([]Symbol, 0, len(names))}
	for _, n := range names {
		c.Symbols = append(c.Symbols, Symbol{Name: n, Class: p.Classify(n)})
	}
	return c
}

// Counts returns the number of symbols per class, indexed by Class.
func (c Coverage) Counts() [numClasses]int {
	var n [numClasses]int
	for _, s := range c.Symbols {
		n[s.Class]++
	}
	return n
}

// Names returns the symbols of one class, sorted.
func (c Coverage) Names(class Class) []string {
	var out []string
	for _, s := range c.Symbols {
		if s.Class == class {
			out = append(out, s.Name)
		}
	}
	return out
}

// Summary is the one-line total: "8139too: 88 symbols: 70 implemented,
// 5 hand-stubbed, 4 libc, 9 missing".
func (c Coverage) Summary() string {
	n := c.Counts()
	return fmt.Sprintf("%s: %d symbols: %d implemented, %d hand-stubbed, %d libc, %d missing",
		c.Driver, len(c.Symbols), n[Implemented], n[HandStubbed], n[Libc], n[Missing])
}
