// Package system boots and stops a whole GrailOS system on the host: it
// validates the system file, prepares the cgroups and the run folder, starts
// the kernel with init as the root task, serves the control socket that
// `grail ps/kill/logs` use, and on Stop leaves nothing behind (processes,
// cgroups, sockets, run folder).
package system

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"grailos/kernel"
	"grailos/kernel/abi"
	"grailos/kernel/cgroup"
	"grailos/kernel/sandbox"
	"grailos/servers/init/sysfile"
)

// Options say how to boot.
type Options struct {
	File       string // system file path, "" = Default
	Default    []byte // content used when File is ""
	BinDir     string // task binaries; "" = the folder of the running executable
	RunRoot    string // parent of the run folder; "" = /run/grail
	Output     io.Writer
	NoCgroups  bool
	InitLimits cgroup.Limits
	Devices    []kernel.Device // the machine's devices
}

// System is a booted system.
type System struct {
	Name    string
	Def     *sysfile.System
	Kernel  *kernel.Kernel
	RunDir  string
	cg      *cgroup.Manager
	ctl     *controlServer
	machs   []*machine
	stop    sync.Once
	stopErr error
}

// Load reads and validates a system file (or the default).
func Load(opts Options) (*sysfile.System, []byte, error) {
	data, name := opts.Default, "default system"
	if opts.File != "" {
		var err error
		if data, err = os.ReadFile(opts.File); err != nil {
			return nil, nil, err
		}
		name = opts.File
	}
	p := sysfile.Parser{}
	for r := range sandbox.Roles {
		p.Roles = append(p.Roles, r)
	}
	def, err := p.Parse(name, data)
	return def, data, err
}

// Boot starts the system and returns once init runs.
func Boot(opts Options) (*System, error) {
	def, data, err := Load(opts)
	if err != nil {
		return nil, err
	}
	if os.Geteuid() != 0 {
		return nil, errors.New("grail needs root to create namespaces and cgroups for its tasks")
	}
	if opts.BinDir == "" {
		exe, err := os.Executable()
		if err != nil {
			return nil, err
		}
		opts.BinDir = filepath.Dir(exe)
	}
	if opts.RunRoot == "" {
		opts.RunRoot = "/run/grail"
	}
	if opts.Output == nil {
		opts.Output = io.Discard
	}
	if opts.InitLimits == (cgroup.Limits{}) {
		opts.InitLimits = cgroup.Limits{MemoryBytes: 64 << 20, Pids: 64, CPU: 1}
	}
	s := &System{Name: def.Name, Def: def, RunDir: filepath.Join(opts.RunRoot, def.Name)}
	if err := s.claimRunDir(); err != nil {
		return nil, err
	}
	fail := func(err error) (*System, error) {
		s.Stop()
		return nil, err
	}
	if !opts.NoCgroups {
		cgroup.Sweep("grail-")
		if s.cg, err = cgroup.Open(fmt.Sprintf("%s-%d", def.Name, os.Getpid())); err != nil {
			return fail(fmt.Errorf("cgroups: %w (run with --no-cgroups to start without limits)", err))
		}
	}
	// One machine process per device the system file grants to a driver
	// (unless the caller brought that device along).
	devices := opts.Devices
	given := map[string]bool{}
	for _, d := range devices {
		given[d.Name] = true
	}
	for _, srv := range def.Servers {
		for _, d := range srv.Devices {
			if given[d.Name] {
				continue
			}
			m, dev, err := startMachine(opts.BinDir, def.Name, d.Name, d.Model, len(s.machs), opts.Output)
			if err != nil {
				return fail(err)
			}
			s.machs = append(s.machs, m)
			devices = append(devices, dev)
		}
	}
	var spares []string
	for _, srv := range def.Servers {
		if srv.Spare {
			spares = append(spares, srv.Name)
		}
	}
	k, err := kernel.New(kernel.Config{BinDir: opts.BinDir, RunDir: s.RunDir, Cgroups: s.cg, Output: opts.Output, Spares: spares,
		Devices: devices})
	if err != nil {
		return fail(err)
	}
	s.Kernel = k
	if s.ctl, err = serveControl(filepath.Join(s.RunDir, "control.sock"), k); err != nil {
		return fail(err)
	}
	if err := k.Boot("init", data, opts.InitLimits); err != nil {
		return fail(fmt.Errorf("starting init: %w", err))
	}
	return s, nil
}

// claimRunDir creates the run folder, refusing if another live system of
// the same name holds it, and clearing one left by a dead run.
func (s *System) claimRunDir() error {
	if err := os.MkdirAll(filepath.Dir(s.RunDir), 0o755); err != nil {
		return err
	}
	sock := filepath.Join(s.RunDir, "control.sock")
	if _, err := os.Stat(sock); err == nil {
		if c, err := Dial(sock); err == nil {
			c.Close()
			return fmt.Errorf("a system named %q is already running (control socket %s)", s.Name, sock)
		}
	}
	os.RemoveAll(s.RunDir)
	return os.MkdirAll(s.RunDir, 0o755)
}

// Wait blocks until init ends (it only ends by escalation or being killed).
func (s *System) Wait() abi.ExitCode { return s.Kernel.Wait() }

// Stop shuts everything down and removes what Boot created. Concurrent and
// repeated calls wait for the one shutdown and return its result.
func (s *System) Stop() error {
	s.stop.Do(func() { s.stopErr = s.shutdown() })
	return s.stopErr
}

func (s *System) shutdown() error {
	var errs []string
	if s.ctl != nil {
		s.ctl.Close()
	}
	if s.Kernel != nil {
		s.Kernel.Shutdown()
	}
	for _, m := range s.machs {
		m.stop()
	}
	if s.cg != nil {
		if err := s.cg.Close(); err != nil {
			errs = append(errs, err.Error())
		}
	}
	if err := os.RemoveAll(s.RunDir); err != nil {
		errs = append(errs, err.Error())
	}
	if len(errs) > 0 {
		return errors.New(strings.Join(errs, "; "))
	}
	return nil
}
