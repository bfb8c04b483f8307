package sysfile

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
)

// The raw types mirror the schema. Leaves are `any` so that a value of the
// wrong type is reported by the checker, with its line, instead of by the
// toml package; tables are structs so that MetaData.Undecoded lists exactly
// the keys the schema does not know.

type rawFile struct {
	Name       any           `toml:"name"`
	Supervisor rawSupervisor `toml:"supervisor"`
	Server     []rawServer   `toml:"server"`
}

type rawSupervisor struct {
	Strategy    any `toml:"strategy"`
	Intensity   any `toml:"intensity"`
	Period      any `toml:"period"`
	Backoff     any `toml:"backoff"`
	BackoffMax  any `toml:"backoff_max"`
	Heartbeat   any `toml:"heartbeat"`
	HangTimeout any `toml:"hang_timeout"`
	OnExhausted any `toml:"on_exhausted"`
}

type rawServer struct {
	Name        any       `toml:"name"`
	Binary      any       `toml:"binary"`
	Role        any       `toml:"role"`
	Args        any       `toml:"args"`
	Provides    any       `toml:"provides"`
	Uses        any       `toml:"uses"`
	Devices     any       `toml:"devices"`
	Spare       any       `toml:"spare"`
	Restart     any       `toml:"restart"`
	Heartbeat   any       `toml:"heartbeat"`
	HangTimeout any       `toml:"hang_timeout"`
	Limits      rawLimits `toml:"limits"`
}

type rawLimits struct {
	Memory any `toml:"memory"`
	Pids   any `toml:"pids"`
	CPU    any `toml:"cpu"`
}

// schema maps each table (as a toml.Key string, no indices) to its keys.
var schema = map[string][]string{
	"":              tags(rawFile{}),
	"supervisor":    tags(rawSupervisor{}),
	"server":        tags(rawServer{}),
	"server.limits": tags(rawLimits{}),
}

func tags(v any) []string {
	t := reflect.TypeOf(v)
	out := make([]string, t.NumField())
	for i := range out {
		out[i] = t.Field(i).Tag.Get("toml")
	}
	return out
}

// decode parses data into the raw types. It reports syntax errors, tables of
// the wrong type and unknown keys; everything else is the checker's.
func decode(file string, data []byte) (*rawFile, *locator, []*Error) {
	var generic map[string]any
	if _, err := toml.Decode(string(data), &generic); err != nil {
		return nil, nil, []*Error{syntaxError(file, err)}
	}
	loc := locate(string(data))
	d := &decoder{file: file, loc: loc}
	d.shape(generic)
	if len(d.errs) > 0 {
		return nil, nil, d.errs
	}
	raw := new(rawFile)
	md, err := toml.Decode(string(data), raw)
	if err != nil { // the shape check should have caught it
		return nil, nil, []*Error{syntaxError(file, err)}
	}
	d.unknown(md.Undecoded(), raw)
	if len(d.errs) > 0 {
		return nil, nil, d.errs
	}
	return raw, loc, nil
}

func syntaxError(file string, err error) *Error {
	var pe toml.ParseError
	if errors.As(err, &pe) {
		return &Error{File: file, Line: max(pe.Position.Line, 1), Msg: pe.Message}
	}
	return &Error{File: file, Line: 1, Msg: strings.TrimPrefix(err.Error(), "toml: ")}
}

type decoder struct {
	file string
	loc  *locator
	errs []*Error
}

func (d *decoder) errf(path, ctx, format string, args ...any) {
	d.errs = append(d.errs, newError(d.file, d.loc, path, ctx, format, args...))
}

func newError(file string, loc *locator, path, ctx, format string, args ...any) *Error {
	msg := fmt.Sprintf(format, args...)
	if ctx != "" {
		msg = ctx + ": " + msg
	}
	return &Error{File: file, Line: loc.line(path), Msg: msg}
}

// shape checks that the schema's tables are tables and that no key differs
// from a known one only in case (the toml package would match it).
func (d *decoder) shape(top map[string]any) {
	d.caseCheck("", "", "", top)
	if v, ok := top["supervisor"]; ok {
		if m, ok := v.(map[string]any); ok {
			d.caseCheck("supervisor", "supervisor", "", m)
		} else {
			d.errf("supervisor", "", "supervisor: want a table, got %s", typeName(v))
		}
	}
	v, ok := top["server"]
	if !ok {
		return
	}
	servers, ok := tables(v)
	if !ok {
		d.errf("server", "", "server: want an array of tables ([[server]]), got %s", typeName(v))
		return
	}
	for i, m := range servers {
		path, ctx := index("server", i), serverContext(i, m["name"])
		d.caseCheck(path, ctx, "", m)
		if v, ok := m["limits"]; ok {
			if lm, ok := v.(map[string]any); ok {
				d.caseCheck(path+".limits", ctx, "limits.", lm)
			} else {
				d.errf(path+".limits", ctx, "limits: want a table, got %s", typeName(v))
			}
		}
	}
}

func tables(v any) ([]map[string]any, bool) {
	switch v := v.(type) {
	case []map[string]any:
		return v, true
	case []any:
		out := make([]map[string]any, len(v))
		for i, e := range v {
			m, ok := e.(map[string]any)
			if !ok {
				return nil, false
			}
			out[i] = m
		}
		return out, true
	}
	return nil, false
}

func (d *decoder) caseCheck(path, ctx, prefix string, m map[string]any) {
	known := schema[stripIndices(path)]
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int {
		if la, lb := d.loc.line(join(path, a)), d.loc.line(join(path, b)); la != lb {
			return la - lb
		}
		return strings.Compare(a, b)
	})
	for _, k := range keys {
		if slices.Contains(known, k) {
			continue
		}
		if slices.ContainsFunc(known, func(s string) bool { return strings.EqualFold(s, k) }) {
			d.errf(join(path, k), ctx, "unknown key %q", prefix+k)
		}
	}
}

// unknown reports the keys the raw types did not take, at their lines. An
// undecoded key is reported by its first segment that the schema does not
// know ("server.x" for server.x.y = 1; the toml package lists no implicit
// tables of dotted keys); keys below a known leaf (args = [{x = 1}]) are
// left to the type checks.
func (d *decoder) unknown(undecoded []toml.Key, raw *rawFile) {
	report := map[string]toml.Key{}
	var order []string
	for _, k := range undecoded {
		for n := 1; n <= len(k); n++ {
			known, ok := schema[k[:n-1].String()]
			if !ok {
				break
			}
			if !slices.Contains(known, k[n-1]) {
				if s := k[:n].String(); report[s] == nil {
					report[s] = k[:n]
					order = append(order, s)
				}
				break
			}
		}
	}
	found := map[string]bool{}
	seen := map[string]bool{}
	for _, kp := range d.loc.keys {
		name := toml.Key(kp.segs).String()
		if report[name] == nil || seen[kp.path] {
			continue
		}
		seen[kp.path], found[name] = true, true
		d.unknownAt(kp.path, kp.segs, raw)
	}
	for _, name := range order { // not located: report at the nearest ancestor
		if !found[name] {
			d.unknownAt(name, report[name], raw)
		}
	}
}

func (d *decoder) unknownAt(path string, segs []string, raw *rawFile) {
	key := segs[len(segs)-1]
	switch {
	case len(segs) == 1:
		d.errf(path, "", "unknown key %q", key)
	case segs[0] == "supervisor":
		d.errf(path, "supervisor", "unknown key %q", key)
	default: // server or server.limits
		ctx := "server"
		if i, ok := elementIndex(path); ok && i < len(raw.Server) {
			ctx = serverContext(i, raw.Server[i].Name)
		}
		d.errf(path, ctx, "unknown key %q", strings.Join(segs[1:], "."))
	}
}

// elementIndex returns i of a path starting with "server[i]".
func elementIndex(path string) (int, bool) {
	rest, ok := strings.CutPrefix(path, "server[")
	if !ok {
		return 0, false
	}
	end := strings.IndexByte(rest, ']')
	if end < 0 {
		return 0, false
	}
	i, err := strconv.Atoi(rest[:end])
	return i, err == nil
}

// stripIndices turns "server[2].limits" into "server.limits".
func stripIndices(path string) string {
	var b strings.Builder
	depth := 0
	for _, r := range path {
		switch {
		case r == '[':
			depth++
		case r == ']':
			depth--
		case depth == 0:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// serverContext names server i in messages: by name when it has a string
// one, else by position.
func serverContext(i int, name any) string {
	if s, ok := name.(string); ok {
		return fmt.Sprintf("server %q", s)
	}
	return fmt.Sprintf("server #%d", i+1)
}

// typeName names a decoded TOML value's type as TOML does.
func typeName(v any) string {
	switch v.(type) {
	case string:
		return "string"
	case int64:
		return "integer"
	case float64:
		return "float"
	case bool:
		return "boolean"
	case time.Time:
		return "datetime"
	case map[string]any:
		return "table"
	case []any, []map[string]any:
		return "array"
	}
	return fmt.Sprintf("%T", v)
}
