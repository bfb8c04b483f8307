package sysfile

import (
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/BurntSushi/toml"
)

// The toml package records one position per key name, so in an array of
// tables every element's "name" shares the position of the last one. The
// locator fills that gap: it re-reads a document the toml parser has already
// accepted and records the line of every key, with array elements told apart
// ("server[1].role"). It only tracks structure (headers, keys, where values
// end) and gives up silently on anything it does not expect; a key it misses
// is reported at its nearest located ancestor.

// located is one key definition: a table header, a key of a key/value pair,
// or an implicit table made by a dotted key.
type located struct {
	path string   // indexed path: server[1].limits.memory
	segs []string // the key's segments without indices, as in toml.Key
	line int
}

type locator struct {
	keys   []located      // document order
	lines  map[string]int // indexed path → line of its first definition
	arrays map[string]int // indexed path of an array of tables → elements so far
}

// line returns the line of path or of its nearest located ancestor, and 1 if
// none is located.
func (l *locator) line(path string) int {
	for {
		if n, ok := l.lines[path]; ok {
			return n
		}
		cut := strings.LastIndexAny(path, ".[")
		if cut < 0 {
			return 1
		}
		path = path[:cut]
	}
}

func (l *locator) record(path string, segs []string, line int) {
	if _, ok := l.lines[path]; !ok {
		l.lines[path] = line
	}
	l.keys = append(l.keys, located{path: path, segs: append([]string(nil), segs...), line: line})
}

// join appends one key segment to an indexed path.
func join(path, seg string) string {
	s := toml.Key{seg}.String()
	if path == "" {
		return s
	}
	return path + "." + s
}

func index(path string, i int) string { return path + "[" + strconv.Itoa(i) + "]" }

type scanner struct {
	src      string
	i        int
	newlines []int // offsets of '\n', for line numbers
	loc      *locator
}

func locate(src string) *locator {
	s := &scanner{src: src, loc: &locator{lines: map[string]int{}, arrays: map[string]int{}}}
	for i := 0; i < len(src); i++ {
		if src[i] == '\n' {
			s.newlines = append(s.newlines, i)
		}
	}
	if strings.HasPrefix(src, "\ufeff") {
		s.i = len("\ufeff")
	}
	s.document()
	return s.loc
}

// lineAt returns the 1-based line of byte offset i.
func (s *scanner) lineAt(i int) int { return sort.SearchInts(s.newlines, i) + 1 }

func (s *scanner) eof() bool { return s.i >= len(s.src) }

func (s *scanner) peek(prefix string) bool { return strings.HasPrefix(s.src[s.i:], prefix) }

// space skips blanks within a line.
func (s *scanner) space() {
	for !s.eof() && (s.src[s.i] == ' ' || s.src[s.i] == '\t') {
		s.i++
	}
}

// blank skips blanks, line ends and comments.
func (s *scanner) blank() {
	for !s.eof() {
		switch s.src[s.i] {
		case ' ', '\t', '\r', '\n':
			s.i++
		case '#':
			for !s.eof() && s.src[s.i] != '\n' {
				s.i++
			}
		default:
			return
		}
	}
}

func (s *scanner) document() {
	ctx, ctxSegs := "", []string(nil)
	for {
		s.blank()
		if s.eof() {
			return
		}
		line := s.lineAt(s.i)
		if s.src[s.i] != '[' {
			segs, ok := s.key()
			if !ok || !s.equals() {
				return
			}
			path := s.define(ctx, ctxSegs, segs, line)
			if !s.value(path, append(append([]string(nil), ctxSegs...), segs...), true) {
				return
			}
			continue
		}
		array := s.peek("[[")
		s.i++
		if array {
			s.i++
		}
		segs, ok := s.key()
		if !ok || !s.peek("]") || (array && !s.peek("]]")) {
			return
		}
		s.i++
		if array {
			s.i++
		}
		ctx, ctxSegs = s.header(segs, array, line)
	}
}

// header resolves a table header to its indexed path: every prefix that names
// an array of tables refers to that array's last element.
func (s *scanner) header(segs []string, array bool, line int) (string, []string) {
	path := ""
	for j, seg := range segs {
		path = join(path, seg)
		n := s.loc.arrays[path]
		switch {
		case array && j == len(segs)-1:
			s.loc.arrays[path] = n + 1
			if n == 0 {
				s.loc.record(path, segs, line)
			}
			path = index(path, n)
		case n > 0:
			path = index(path, n-1)
		}
	}
	s.loc.record(path, segs, line)
	return path, segs
}

// define records a (possibly dotted) key and the implicit tables it makes,
// and returns the indexed path of its value.
func (s *scanner) define(ctx string, ctxSegs, segs []string, line int) string {
	path, full := ctx, append([]string(nil), ctxSegs...)
	for _, seg := range segs {
		path, full = join(path, seg), append(full, seg)
		s.loc.record(path, full, line)
	}
	return path
}

// equals consumes the '=' after a key.
func (s *scanner) equals() bool {
	s.space()
	if !s.peek("=") {
		return false
	}
	s.i++
	s.space()
	return true
}

// key reads a dotted key.
func (s *scanner) key() ([]string, bool) {
	var segs []string
	for {
		s.space()
		if s.eof() {
			return nil, false
		}
		var seg string
		var ok bool
		switch s.src[s.i] {
		case '"':
			seg, ok = s.basic()
		case '\'':
			seg, ok = s.literal()
		default:
			start := s.i
			for !s.eof() && isBare(s.src[s.i]) {
				s.i++
			}
			seg, ok = s.src[start:s.i], s.i > start
		}
		if !ok {
			return nil, false
		}
		segs = append(segs, seg)
		s.space()
		if !s.peek(".") {
			return segs, true
		}
		s.i++
	}
}

var (
	simpleEscapes = map[byte]byte{'b': '\b', 't': '\t', 'n': '\n', 'f': '\f', 'r': '\r', 'e': 0x1b, '"': '"', '\\': '\\'}
	hexEscapes    = map[byte]int{'x': 2, 'u': 4, 'U': 8} // hex digits after \x, \u, \U
)

func isBare(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-'
}

// value skips one value; inside an inline table whose path is path, it
// records the keys if rec is set.
func (s *scanner) value(path string, segs []string, rec bool) bool {
	if s.eof() {
		return false
	}
	switch {
	case s.peek(`"""`):
		return s.multiline(`"""`, true)
	case s.peek(`'''`):
		return s.multiline(`'''`, false)
	case s.peek(`"`):
		_, ok := s.basic()
		return ok
	case s.peek(`'`):
		_, ok := s.literal()
		return ok
	case s.peek("["):
		s.i++
		for {
			s.blank()
			if s.eof() {
				return false
			}
			if s.peek("]") {
				s.i++
				return true
			}
			if !s.value("", nil, false) {
				return false
			}
			s.blank()
			if s.peek(",") {
				s.i++
			}
		}
	case s.peek("{"):
		s.i++
		for {
			s.blank()
			if s.eof() {
				return false
			}
			if s.peek("}") {
				s.i++
				return true
			}
			line := s.lineAt(s.i)
			keys, ok := s.key()
			if !ok || !s.equals() {
				return false
			}
			sub := path
			subSegs := append([]string(nil), segs...)
			for _, k := range keys {
				sub, subSegs = join(sub, k), append(subSegs, k)
				if rec {
					s.loc.record(sub, subSegs, line)
				}
			}
			if !s.value(sub, subSegs, rec) {
				return false
			}
			s.blank()
			if s.peek(",") {
				s.i++
			}
		}
	}
	start := s.i
	for !s.eof() && !strings.ContainsRune(",]}#\r\n", rune(s.src[s.i])) {
		s.i++
	}
	return s.i > start
}

// multiline skips a multi-line string opened by delim; a closing delimiter
// may be followed by up to two more quote characters, which belong to the
// string.
func (s *scanner) multiline(delim string, escapes bool) bool {
	s.i += len(delim)
	for !s.eof() {
		switch {
		case escapes && s.src[s.i] == '\\':
			s.i += 2
		case s.peek(delim):
			s.i += len(delim)
			for k := 0; k < 2 && s.peek(delim[:1]); k++ {
				s.i++
			}
			return true
		default:
			s.i++
		}
	}
	return false
}

// literal reads a single-line literal string.
func (s *scanner) literal() (string, bool) {
	end := strings.IndexAny(s.src[s.i+1:], "'\n")
	if end < 0 || s.src[s.i+1+end] != '\'' {
		return "", false
	}
	v := s.src[s.i+1 : s.i+1+end]
	s.i += end + 2
	return v, true
}

// basic reads a single-line basic string and resolves its escapes.
func (s *scanner) basic() (string, bool) {
	var b strings.Builder
	s.i++
	for !s.eof() {
		c := s.src[s.i]
		switch c {
		case '"':
			s.i++
			return b.String(), true
		case '\n':
			return "", false
		case '\\':
			if s.i+1 >= len(s.src) {
				return "", false
			}
			e := s.src[s.i+1]
			s.i += 2
			if r, ok := simpleEscapes[e]; ok {
				b.WriteByte(r)
				continue
			}
			digits := hexEscapes[e]
			if digits == 0 || s.i+digits > len(s.src) {
				return "", false
			}
			n, err := strconv.ParseUint(s.src[s.i:s.i+digits], 16, 32)
			if err != nil || !utf8.ValidRune(rune(n)) {
				return "", false
			}
			b.WriteRune(rune(n))
			s.i += digits
		default:
			b.WriteByte(c)
			s.i++
		}
	}
	return "", false
}
