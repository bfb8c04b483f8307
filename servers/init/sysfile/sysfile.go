package sysfile

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"time"

	"grailos/servers/init/supervisor"
)

// System is a parsed and validated system file.
type System struct {
	Name       string
	Supervisor Supervisor
	Servers    []Server // start order
}

// Supervisor is the [supervisor] table.
type Supervisor struct {
	Strategy    supervisor.Strategy
	Intensity   int
	Period      time.Duration
	Backoff     time.Duration
	BackoffMax  time.Duration
	Heartbeat   time.Duration // 0 = off
	HangTimeout time.Duration
	OnExhausted supervisor.OnExhausted
}

// Server is one [[server]] table, defaults applied.
type Server struct {
	Name        string
	Binary      string
	Role        string
	Args        []string
	Provides    []string
	Uses        []string
	Devices     []Device // machine devices (PCI functions) granted to it, each to one server only
	Restart     supervisor.Restart
	Heartbeat   time.Duration // effective: the supervisor's unless overridden
	HangTimeout time.Duration // effective: the supervisor's unless overridden
	Limits      Limits
	Spare       bool // the kernel keeps a warm spare instance (faster restarts, one idle process)
	Line        int  // line of its [[server]] header, for later messages
}

// Device is a machine device granted to a server: "nic0" or
// "nic0:rtl8139" in the file.
type Device struct {
	Name  string // the capability's name in the server ("nic0"; its IRQ is "nic0.irq")
	Model string // the device model the machine hosts for it; DefaultModel when not named
}

// DefaultModel is the device model of a device whose entry names none.
const DefaultModel = "e1000"

// Models returns the device models a system file may name, sorted: the
// models the machine hosts (arch/machine/host.ModelNames; a test there
// keeps the two lists equal, since init must not link the machine).
func Models() []string { return []string{"e1000", "rtl8139"} }

// Limits are a server's resource limits; 0 = no limit.
type Limits struct {
	MemoryBytes int64
	Pids        int64
	CPU         float64 // cores
}

// Defaults of the optional keys.
const (
	DefaultMemory = 64 << 20
	DefaultPids   = 64
	DefaultCPU    = 1.0
	DefaultRole   = "server"
)

// DefaultSupervisor returns the [supervisor] table of a file that leaves it
// out; each key left out of the table takes its value from here.
func DefaultSupervisor() Supervisor {
	return Supervisor{
		Strategy:    supervisor.OneForOne,
		Intensity:   5,
		Period:      10 * time.Second,
		Backoff:     0,
		BackoffMax:  time.Second,
		Heartbeat:   500 * time.Millisecond,
		HangTimeout: 2 * time.Second,
		OnExhausted: supervisor.GiveUp,
	}
}

// DefaultRoles returns the role names Parse accepts: the seccomp profiles of
// the kernel's sandbox. Init may pass the sandbox's own list in Parser.Roles
// instead.
func DefaultRoles() []string { return []string{"server", "probe", "driver"} }

// Error is one problem in a system file.
type Error struct {
	File string
	Line int
	Msg  string
}

func (e *Error) Error() string { return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg) }

// Parser parses system files against a set of role names.
type Parser struct {
	Roles []string // nil = DefaultRoles()
}

// Parse parses and validates data; name is the file name used in errors.
func Parse(name string, data []byte) (*System, error) { return Parser{}.Parse(name, data) }

// Load reads and parses the system file at path.
func Load(path string) (*System, error) { return Parser{}.Load(path) }

// Load reads and parses the system file at path; errors name it as given.
func (p Parser) Load(path string) (*System, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return p.Parse(path, data)
}

// Parse parses and validates data; name is the file name used in errors. On
// failure the error is an *Error or several joined with errors.Join.
func (p Parser) Parse(name string, data []byte) (*System, error) {
	roles := p.Roles
	if roles == nil {
		roles = DefaultRoles()
	}
	raw, loc, errs := decode(name, data)
	if len(errs) > 0 {
		return nil, joinErrors(errs)
	}
	c := &checker{file: name, loc: loc, roles: roles}
	sys := c.system(raw)
	if len(c.errs) > 0 {
		return nil, joinErrors(c.errs)
	}
	return sys, nil
}

// joinErrors sorts errs by line, keeping the order of errors on one line.
func joinErrors(errs []*Error) error {
	slices.SortStableFunc(errs, func(a, b *Error) int { return a.Line - b.Line })
	if len(errs) == 1 {
		return errs[0]
	}
	list := make([]error, len(errs))
	for i, e := range errs {
		list[i] = e
	}
	return errors.Join(list...)
}

// Server returns the server called name.
func (s *System) Server(name string) (Server, bool) {
	for _, srv := range s.Servers {
		if srv.Name == name {
			return srv, true
		}
	}
	return Server{}, false
}

// Dependents returns, in start order, the other servers that use an endpoint
// server provides: those that must re-attach when it restarts.
func (s *System) Dependents(server string) []string {
	self, ok := s.Server(server)
	if !ok {
		return nil
	}
	var out []string
	for _, srv := range s.Servers {
		if srv.Name == server {
			continue
		}
		for _, e := range srv.Uses {
			if slices.Contains(self.Provides, e) {
				out = append(out, srv.Name)
				break
			}
		}
	}
	return out
}

// Policy returns the supervisor policy of the system.
func (s *System) Policy() supervisor.Policy {
	v := s.Supervisor
	return supervisor.Policy{
		Strategy:    v.Strategy,
		Intensity:   v.Intensity,
		Period:      v.Period,
		Backoff:     v.Backoff,
		BackoffMax:  v.BackoffMax,
		OnExhausted: v.OnExhausted,
	}
}

// Children returns the servers as supervisor children, in start order.
func (s *System) Children() []supervisor.Child {
	out := make([]supervisor.Child, len(s.Servers))
	for i, srv := range s.Servers {
		out[i] = supervisor.Child{Name: srv.Name, Restart: srv.Restart}
	}
	return out
}
