package sysfile

import (
	"strings"
	"testing"

	"github.com/BurntSushi/toml"
	"github.com/google/go-cmp/cmp"
)

func TestLocate(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want map[string]int
	}{{
		name: "multi-line strings hide what looks like keys and headers",
		src: "a = \"\"\"\n" + // 1
			"fake = 1\n" + // 2
			"[[server]] \\\"\"\"\n" + // 3
			"\"\"\"\n" + // 4
			"b = '''\n" + // 5
			"[x]\n" + // 6
			"'''' # b ends with a quote\n" + // 7
			"c = \"not # a comment\"\n" + // 8
			"d = 'lit'\n", // 9
		want: map[string]int{"a": 1, "b": 5, "c": 8, "d": 9},
	}, {
		name: "arrays span lines and hold comments, brackets in strings, inline tables",
		src: "list = [ # ]\n" + // 1
			"  \"]\", # x = 1\n" + // 2
			"  [1, 2],\n" + // 3
			"  { k = 1 },\n" + // 4
			"]\n" + // 5
			"when = 1979-05-27 07:32:00Z # a datetime with a space\n", // 6
		want: map[string]int{"list": 1, "when": 6},
	}, {
		name: "quoted and dotted keys",
		src: "\"a.b\" = 1\n" + // 1
			"'lit' = 2\n" + // 2
			"\"esc\\u0041\" = 3\n" + // 3
			"x . y = 4\n", // 4
		want: map[string]int{`"a.b"`: 1, "lit": 2, "escA": 3, "x": 4, "x.y": 4},
	}, {
		name: "arrays of tables, nested, and sub-tables of the last element",
		src: "[[a]]\n" + // 1
			"[[a.b]]\n" + // 2
			"n = 1\n" + // 3
			"[[a.b]]\n" + // 4
			"[[a]]\n" + // 5
			"[a.c]\n" + // 6
			"m = 2\n" + // 7
			"[[a.b]]\n" + // 8
			"o = 3\n", // 9
		want: map[string]int{
			"a": 1, "a[0]": 1, "a[0].b": 2, "a[0].b[0]": 2, "a[0].b[0].n": 3, "a[0].b[1]": 4,
			"a[1]": 5, "a[1].c": 6, "a[1].c.m": 7, "a[1].b": 8, "a[1].b[0]": 8, "a[1].b[0].o": 9,
		},
	}, {
		name: "inline tables may span lines (TOML 1.1), CRLF line ends, byte order mark",
		src: "\ufeff[[server]]\r\n" + // 1
			"name = \"x\"\r\n" + // 2
			"limits = {\r\n" + // 3
			"  memory = \"1MiB\", # c\r\n" + // 4
			"  cpu = 1,\r\n" + // 5
			"}\r\n", // 6
		want: map[string]int{
			"server": 1, "server[0]": 1, "server[0].name": 2, "server[0].limits": 3,
			"server[0].limits.memory": 4, "server[0].limits.cpu": 5,
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var m map[string]any
			if _, err := toml.Decode(tt.src, &m); err != nil {
				t.Fatalf("test document is not TOML: %v", err)
			}
			if diff := cmp.Diff(tt.want, locate(tt.src).lines); diff != "" {
				t.Errorf("lines (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLocatorLineFallsBackToAncestor(t *testing.T) {
	l := locate("[[server]]\nname = \"a\"\n\n[[server]]\nname = \"b\"\n")
	for path, want := range map[string]int{
		"server[1].name":         5,
		"server[1].limits":       4, // not in the file: its table's line
		"server[1].limits.pids":  4,
		"server[7]":              1, // no such element: the array's line
		"supervisor.period":      1, // nothing located: line 1
		"server[0].limits.cpu.x": 1,
	} {
		if got := l.line(path); got != want {
			t.Errorf("line(%q) = %d, want %d", path, got, want)
		}
	}
}

// FuzzLocate checks the locator against the toml parser: every key the parser
// saw is located, unless it sits inside an array value (whose keys the
// locator does not track).
func FuzzLocate(f *testing.F) {
	for _, seed := range seeds() {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, src string) {
		var m map[string]any
		md, err := toml.Decode(src, &m)
		if err != nil {
			return
		}
		found := map[string]bool{}
		for _, k := range locate(src).keys {
			found[toml.Key(k.segs).String()] = true
		}
	keys:
		for _, k := range md.Keys() {
			if found[k.String()] {
				continue
			}
			for n := len(k) - 1; n > 0; n-- {
				if found[k[:n].String()] && md.Type(k[:n]...) == "Array" {
					continue keys
				}
			}
			t.Errorf("key %q not located in %q", k.String(), src)
		}
	})
}

func seeds() []string {
	out := []string{full, "", "name = \"x\"\n", "\ufeffname = 'x'\r\n"}
	for _, s := range strings.Split(`a = """x"""
b = '''y'''
c = [1, [2, {d = 3}], "]"]
e.f . "g" = { h = 1, 'i' = { j = 2 } }
[[k]]
[k.l]
[[k.m]]
"n\u00e9" = 1979-05-27T07:32:00Z`, "\n") {
		out = append(out, s+"\n")
	}
	return out
}
