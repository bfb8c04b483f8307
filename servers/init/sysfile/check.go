package sysfile

import (
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"grailos/servers/init/supervisor"
)

var (
	systemName = regexp.MustCompile(`^[a-z0-9-]{1,32}$`)
	serverName = regexp.MustCompile(`^[a-z][a-z0-9-]{0,31}$`) // also endpoint names
)

// minCPU is the smallest CPU limit a cgroup accepts: a 1 ms quota per 100 ms
// period.
const minCPU = 0.01

// checker turns the raw types into a System, collecting every error.
type checker struct {
	file  string
	loc   *locator
	roles []string
	errs  []*Error
}

func (c *checker) errf(path, ctx, format string, args ...any) {
	c.errs = append(c.errs, newError(c.file, c.loc, path, ctx, format, args...))
}

func (c *checker) system(raw *rawFile) *System {
	sys := &System{}
	if raw.Name == nil {
		c.errf("", "", `missing key "name"`)
	} else if s, ok := c.str("name", "", "name", raw.Name); ok {
		if systemName.MatchString(s) {
			sys.Name = s
		} else {
			c.errf("name", "", "name %q must match [a-z0-9-]{1,32}", s)
		}
	}
	sys.Supervisor = c.supervisor(raw.Supervisor)
	first := map[string]int{} // server name → line of its first definition
	for i, r := range raw.Server {
		srv := c.server(i, r, sys.Supervisor)
		if srv.Name != "" {
			if line, dup := first[srv.Name]; dup {
				c.errf(index("server", i)+".name", serverContext(i, srv.Name), "duplicate name (first defined at line %d)", line)
			} else {
				first[srv.Name] = c.loc.line(index("server", i) + ".name")
			}
		}
		sys.Servers = append(sys.Servers, srv)
	}
	c.endpoints(sys)
	return sys
}

func (c *checker) supervisor(r rawSupervisor) Supervisor {
	const ctx = "supervisor"
	s := DefaultSupervisor()
	path := func(key string) string { return "supervisor." + key }
	if v, ok := c.str(path("strategy"), ctx, "strategy", r.Strategy); ok {
		switch st := supervisor.Strategy(v); st {
		case supervisor.OneForOne, supervisor.RestForOne:
			s.Strategy = st
		default:
			c.errf(path("strategy"), ctx, "unknown strategy %q (want one_for_one or rest_for_one)", v)
		}
	}
	if n, ok := c.integer(path("intensity"), ctx, "intensity", r.Intensity); ok {
		if n < 0 {
			c.errf(path("intensity"), ctx, "intensity %d is negative", n)
		} else {
			s.Intensity = int(n)
		}
	}
	c.duration(path("period"), ctx, "period", r.Period, &s.Period)
	c.duration(path("backoff"), ctx, "backoff", r.Backoff, &s.Backoff)
	c.duration(path("backoff_max"), ctx, "backoff_max", r.BackoffMax, &s.BackoffMax)
	c.duration(path("heartbeat"), ctx, "heartbeat", r.Heartbeat, &s.Heartbeat)
	c.duration(path("hang_timeout"), ctx, "hang_timeout", r.HangTimeout, &s.HangTimeout)
	if v, ok := c.str(path("on_exhausted"), ctx, "on_exhausted", r.OnExhausted); ok {
		switch oe := supervisor.OnExhausted(v); oe {
		case supervisor.GiveUp, supervisor.Escalate:
			s.OnExhausted = oe
		default:
			c.errf(path("on_exhausted"), ctx, "unknown on_exhausted %q (want give_up or escalate)", v)
		}
	}
	if s.Intensity > 0 && s.Period <= 0 {
		c.errf(path("period"), ctx, "period must be > 0 when intensity > 0")
	}
	if s.BackoffMax > 0 && s.BackoffMax < s.Backoff {
		c.errf(path("backoff_max"), ctx, "backoff_max %s is less than backoff %s", s.BackoffMax, s.Backoff)
	}
	if s.Heartbeat > 0 && s.HangTimeout <= s.Heartbeat {
		c.errf(path("hang_timeout"), ctx, "hang_timeout %s must be longer than heartbeat %s", s.HangTimeout, s.Heartbeat)
	}
	return s
}

func (c *checker) server(i int, r rawServer, sup Supervisor) Server {
	base := index("server", i)
	path := func(key string) string { return base + "." + key }
	ctx := serverContext(i, r.Name)
	srv := Server{
		Role:        DefaultRole,
		Restart:     supervisor.Permanent,
		Heartbeat:   sup.Heartbeat,
		HangTimeout: sup.HangTimeout,
		Limits:      Limits{MemoryBytes: DefaultMemory, Pids: DefaultPids, CPU: DefaultCPU},
		Line:        c.loc.line(base),
	}
	if r.Name == nil {
		c.errf(base, ctx, `missing key "name"`)
	} else if s, ok := c.str(path("name"), ctx, "name", r.Name); ok {
		if serverName.MatchString(s) {
			srv.Name = s
		} else {
			c.errf(path("name"), ctx, "name must match [a-z][a-z0-9-]{0,31}")
		}
	}
	srv.Binary = srv.Name
	if s, ok := c.str(path("binary"), ctx, "binary", r.Binary); ok {
		if s == "" || s == "." || s == ".." || strings.ContainsAny(s, "/\x00") {
			c.errf(path("binary"), ctx, "binary %q must be a plain file name (no '/')", s)
		} else {
			srv.Binary = s
		}
	}
	if s, ok := c.str(path("role"), ctx, "role", r.Role); ok {
		if slices.Contains(c.roles, s) {
			srv.Role = s
		} else {
			c.errf(path("role"), ctx, "unknown role %q", s)
		}
	}
	srv.Args, _ = c.strList(path("args"), ctx, "args", r.Args)
	srv.Provides = c.endpointList(path("provides"), ctx, "provides", r.Provides)
	srv.Uses = c.endpointList(path("uses"), ctx, "uses", r.Uses)
	srv.Devices = c.devices(path("devices"), ctx, r.Devices)
	if s, ok := c.str(path("restart"), ctx, "restart", r.Restart); ok {
		switch rt := supervisor.Restart(s); rt {
		case supervisor.Permanent, supervisor.Transient, supervisor.Temporary:
			srv.Restart = rt
		default:
			c.errf(path("restart"), ctx, "unknown restart %q (want permanent, transient or temporary)", s)
		}
	}
	hb := c.duration(path("heartbeat"), ctx, "heartbeat", r.Heartbeat, &srv.Heartbeat)
	ht := c.duration(path("hang_timeout"), ctx, "hang_timeout", r.HangTimeout, &srv.HangTimeout)
	if (hb || ht) && srv.Heartbeat > 0 && srv.HangTimeout <= srv.Heartbeat {
		at := path("hang_timeout")
		if !ht {
			at = path("heartbeat")
		}
		c.errf(at, ctx, "hang_timeout %s must be longer than heartbeat %s", srv.HangTimeout, srv.Heartbeat)
	}
	c.limits(base+".limits", ctx, r.Limits, &srv.Limits)
	if r.Spare != nil {
		if b, ok := r.Spare.(bool); !ok {
			c.errf(path("spare"), ctx, "spare: want true or false, got %s", typeName(r.Spare))
		} else if b && srv.Restart == supervisor.Temporary {
			c.errf(path("spare"), ctx, "spare: a temporary server is never restarted, so a spare would never be used")
		} else {
			srv.Spare = b
		}
	}
	return srv
}

func (c *checker) limits(base, ctx string, r rawLimits, l *Limits) {
	if r.Memory != nil {
		path := base + ".memory"
		switch v := r.Memory.(type) {
		case int64:
			if v < 0 {
				c.errf(path, ctx, "limits.memory %d is negative", v)
			} else {
				l.MemoryBytes = v
			}
		case string:
			if n, msg := parseSize(v); msg != "" {
				c.errf(path, ctx, "limits.memory %q: %s", v, msg)
			} else {
				l.MemoryBytes = n
			}
		default:
			c.errf(path, ctx, "limits.memory: want a size string or an integer, got %s", typeName(v))
		}
	}
	if n, ok := c.integer(base+".pids", ctx, "limits.pids", r.Pids); ok {
		if n < 0 {
			c.errf(base+".pids", ctx, "limits.pids %d is negative", n)
		} else {
			l.Pids = n
		}
	}
	if r.CPU != nil {
		path := base + ".cpu"
		var f float64
		switch v := r.CPU.(type) {
		case int64:
			f = float64(v)
		case float64:
			f = v
		default:
			c.errf(path, ctx, "limits.cpu: want a number, got %s", typeName(v))
			return
		}
		switch {
		case math.IsNaN(f) || math.IsInf(f, 0):
			c.errf(path, ctx, "limits.cpu %v is not a finite number", f)
		case f < 0:
			c.errf(path, ctx, "limits.cpu %v is negative", f)
		case f > 0 && f < minCPU:
			c.errf(path, ctx, "limits.cpu %v is below the minimum %v", f, minCPU)
		default:
			l.CPU = f
		}
	}
}

// endpoints checks that each endpoint has one provider and every use one.
func (c *checker) endpoints(sys *System) {
	provider := map[string]string{}
	for i, srv := range sys.Servers {
		for _, e := range srv.Provides {
			if p, dup := provider[e]; dup {
				c.errf(index("server", i)+".provides", serverContext(i, srv.Name),
					"endpoint %q is already provided by server %q", e, p)
				continue
			}
			provider[e] = srv.Name
		}
	}
	owner := map[string]string{}
	for i, srv := range sys.Servers {
		for _, d := range srv.Devices {
			if o, dup := owner[d.Name]; dup {
				c.errf(index("server", i)+".devices", serverContext(i, srv.Name),
					"device %q is already granted to server %q", d.Name, o)
				continue
			}
			owner[d.Name] = srv.Name
		}
	}
	for i, srv := range sys.Servers {
		for _, e := range srv.Uses {
			if _, ok := provider[e]; !ok {
				c.errf(index("server", i)+".uses", serverContext(i, srv.Name),
					"uses endpoint %q that no server provides", e)
			}
		}
	}
}

// endpointList reads a list of endpoint names: valid and each listed once.
func (c *checker) endpointList(path, ctx, key string, v any) []string {
	list, ok := c.strList(path, ctx, key, v)
	if !ok {
		return nil
	}
	var out []string
	for _, e := range list {
		switch {
		case !serverName.MatchString(e):
			c.errf(path, ctx, "%s: endpoint %q must match [a-z][a-z0-9-]{0,31}", key, e)
		case slices.Contains(out, e):
			c.errf(path, ctx, "%s: endpoint %q listed twice", key, e)
		default:
			out = append(out, e)
		}
	}
	return out
}

// devices reads the devices list: "name" or "name:model", each name valid
// and listed once, each model one the machine hosts.
func (c *checker) devices(path, ctx string, v any) []Device {
	list, ok := c.strList(path, ctx, "devices", v)
	if !ok {
		return nil
	}
	var out []Device
	for _, e := range list {
		name, model, named := strings.Cut(e, ":")
		if !named {
			model = DefaultModel
		}
		switch {
		case !serverName.MatchString(name):
			c.errf(path, ctx, "devices: device %q must match [a-z][a-z0-9-]{0,31}", name)
		case !slices.Contains(Models(), model):
			c.errf(path, ctx, "devices: device %q: unknown model %q (want %s)", name, model, strings.Join(Models(), " or "))
		case slices.ContainsFunc(out, func(d Device) bool { return d.Name == name }):
			c.errf(path, ctx, "devices: device %q listed twice", name)
		default:
			out = append(out, Device{Name: name, Model: model})
		}
	}
	return out
}

// str reads an optional string; ok is false if it is absent or not a string.
func (c *checker) str(path, ctx, key string, v any) (string, bool) {
	if v == nil {
		return "", false
	}
	s, ok := v.(string)
	if !ok {
		c.errf(path, ctx, "%s: want a string, got %s", key, typeName(v))
	}
	return s, ok
}

// integer reads an optional integer.
func (c *checker) integer(path, ctx, key string, v any) (int64, bool) {
	if v == nil {
		return 0, false
	}
	n, ok := v.(int64)
	if !ok {
		c.errf(path, ctx, "%s: want an integer, got %s", key, typeName(v))
	}
	return n, ok
}

// strList reads an optional array of strings; an empty one is nil.
func (c *checker) strList(path, ctx, key string, v any) ([]string, bool) {
	if v == nil {
		return nil, false
	}
	arr, ok := v.([]any)
	if !ok {
		c.errf(path, ctx, "%s: want an array of strings, got %s", key, typeName(v))
		return nil, false
	}
	var out []string
	for i, e := range arr {
		s, ok := e.(string)
		if !ok {
			c.errf(path, ctx, "%s[%d]: want a string, got %s", key, i, typeName(e))
			return nil, false
		}
		out = append(out, s)
	}
	return out, true
}

// duration reads an optional non-negative duration into *d and reports
// whether the key was present and valid.
func (c *checker) duration(path, ctx, key string, v any, d *time.Duration) bool {
	s, ok := c.str(path, ctx, key, v)
	if !ok {
		return false
	}
	n, err := time.ParseDuration(s)
	switch {
	case err != nil:
		c.errf(path, ctx, `%s %q is not a duration (like "500ms" or "10s")`, key, s)
		return false
	case n < 0:
		c.errf(path, ctx, "%s %s is negative", key, n)
		return false
	}
	*d = n
	return true
}

var sizeUnits = map[string]int64{
	"B": 1, "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30,
	"KB": 1e3, "MB": 1e6, "GB": 1e9,
}

// parseSize parses "64MiB" (a space before the unit is allowed). On failure
// msg says why.
func parseSize(s string) (n int64, msg string) {
	t := strings.TrimSpace(s)
	digits := len(t) - len(strings.TrimLeft(t, "0123456789"))
	num, unit := t[:digits], strings.TrimSpace(t[digits:])
	if num == "" {
		return 0, `not a size (like "64MiB")`
	}
	if unit == "" {
		return 0, "missing unit (B, KiB, MiB, GiB, KB, MB, GB)"
	}
	mult, ok := sizeUnits[unit]
	if !ok {
		return 0, fmt.Sprintf("unknown unit %q (want B, KiB, MiB, GiB, KB, MB, GB)", unit)
	}
	v, err := strconv.ParseInt(num, 10, 64)
	if err != nil || v > math.MaxInt64/mult {
		return 0, "too large"
	}
	return v * mult, ""
}
