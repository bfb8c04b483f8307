package kernel

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"grailos/kernel/abi"
	"grailos/kernel/cgroup"
)

// Config configures a kernel instance.
type Config struct {
	// BinDir holds the task binaries a spawn may name.
	BinDir string
	// RunDir receives the event log (events.jsonl); "" keeps it in memory only.
	RunDir string
	// Cgroups applies task limits; nil runs tasks without cgroup limits.
	Cgroups *cgroup.Manager
	// Output receives task output lines and kernel messages; nil discards them.
	Output io.Writer
	// UIDBase is the first host uid handed to tasks (each task instance gets
	// its own). Default 2000000: far above ordinary accounts.
	UIDBase int
	// Spares names the tasks that get a warm spare (see spare.go).
	Spares []string
	// VerifyTimeout bounds how long a new task may take to say hello.
	VerifyTimeout time.Duration
	// Devices are the machine's devices. The root task receives each as
	// capabilities "dev.<name>" and "irq.<name>" to grant to drivers.
	Devices []Device
}

// Device is a machine device as the kernel sees it.
type Device struct {
	Name  string
	Info  []byte     // description, passed to drivers as is
	Files []*os.File // descriptors a driver receives (at most 4), e.g. access channel and DMA pool
	IRQ   *os.File   // the interrupt eventfd, or nil
}

// Kernel is the hosted microkernel: it owns the task table, every task's
// capability table and the kernel objects, and routes control-plane
// messages. One mutex guards all of it; no blocking work (process start,
// waiting, I/O) happens under it.
type Kernel struct {
	cfg Config

	mu        sync.Mutex
	tasks     map[uint32]*Task // live and exited-but-unreaped tasks, by id
	byName    map[string]*Task // live instance per name (its process started)
	starting  map[string]bool  // names reserved by a spawn still starting the process
	instances map[string]int   // spawns per name
	nextID    uint32
	nextEP    uint64
	nextToken uint64
	tokens    map[uint64]*pending
	status    map[string]string // supervision notes from init ("given up: …")
	spares    map[string]*spare // warm spares, by task name
	preparing map[string]bool   // spares being started
	stopping  bool
	root      *Task
	wg        sync.WaitGroup // task goroutines
	spareWG   sync.WaitGroup // spares being prepared

	events *EventLog
	logs   *logStore
	out    *lineWriter
}

// New creates a kernel. It starts nothing until Boot.
func New(cfg Config) (*Kernel, error) {
	if cfg.UIDBase == 0 {
		cfg.UIDBase = 2000000
	}
	if cfg.VerifyTimeout == 0 {
		cfg.VerifyTimeout = 10 * time.Second
	}
	if cfg.Output == nil {
		cfg.Output = io.Discard
	}
	abs, err := filepath.Abs(cfg.BinDir)
	if err != nil {
		return nil, err
	}
	cfg.BinDir = abs
	if st, err := os.Stat(cfg.BinDir); err != nil || !st.IsDir() {
		return nil, fmt.Errorf("binaries folder %s: not a directory", cfg.BinDir)
	}
	ev, err := newEventLog(cfg.RunDir)
	if err != nil {
		return nil, err
	}
	return &Kernel{
		cfg: cfg, tasks: map[uint32]*Task{}, byName: map[string]*Task{}, starting: map[string]bool{}, instances: map[string]int{},
		tokens: map[uint64]*pending{}, status: map[string]string{}, spares: map[string]*spare{}, preparing: map[string]bool{},
		events: ev, logs: newLogStore(2000), out: &lineWriter{w: cfg.Output},
	}, nil
}

// Events is the kernel's event log.
func (k *Kernel) Events() *EventLog { return k.events }

// Boot starts the root task: binary from BinDir, holding the spawner
// capability, with config (the system file) in its boot information. It
// returns once the root task's process runs; Wait waits for it to end.
func (k *Kernel) Boot(binary string, config []byte, limits cgroup.Limits) error {
	k.mu.Lock()
	if k.root != nil {
		k.mu.Unlock()
		return errors.New("kernel: already booted")
	}
	k.mu.Unlock()
	sp := newRootCap(&object{typ: abi.ObjSpawner}, abi.RightSpawn|abi.RightGrant)
	caps := []namedCap{{"spawner", sp}}
	for _, d := range k.cfg.Devices {
		if err := abi.CheckName(d.Name); err != nil || len(d.Files) > 4 {
			return fmt.Errorf("kernel: device %q: bad name or more than 4 descriptors", d.Name)
		}
		dev := &object{typ: abi.ObjDevice, dev: &device{name: d.Name, info: d.Info, files: d.Files}}
		caps = append(caps, namedCap{"dev." + d.Name, newRootCap(dev, abi.RightRead|abi.RightWrite|abi.RightGrant)})
		if d.IRQ != nil {
			irq := &object{typ: abi.ObjIRQ, ntf: &notification{fd: int(d.IRQ.Fd())}}
			caps = append(caps, namedCap{"irq." + d.Name, newRootCap(irq, abi.RightWait|abi.RightGrant)})
		}
	}
	spec := &abi.SpawnSpec{Name: "init", Binary: binary, Role: "server", Config: config,
		MemoryBytes: uint64(limits.MemoryBytes), Pids: uint64(limits.Pids), CPUMilli: uint64(limits.CPU * 1000)}
	t, start, err := k.spawn(nil, spec, caps)
	if err != nil {
		return err
	}
	k.mu.Lock()
	k.root = t
	k.mu.Unlock()
	start()
	return nil
}

// Wait blocks until the root task has ended and returns how it ended.
func (k *Kernel) Wait() abi.ExitCode {
	k.mu.Lock()
	r := k.root
	k.mu.Unlock()
	if r == nil {
		return 0
	}
	<-r.dead
	return r.exit
}

// Shutdown stops the system: the root task first (so it restarts nothing),
// then every other task; it returns when all are reaped and their cgroups
// removed.
func (k *Kernel) Shutdown() {
	k.mu.Lock()
	k.stopping = true
	r := k.root
	k.mu.Unlock()
	if r != nil {
		r.proc.Kill()
		<-r.dead
	}
	k.mu.Lock()
	var all []*Task
	for _, t := range k.tasks {
		all = append(all, t)
	}
	k.mu.Unlock()
	for _, t := range all {
		t.proc.Kill()
	}
	k.spareWG.Wait()
	k.dropSpares()
	k.wg.Wait()
	k.events.Close()
}

// Printf writes a kernel message to the output.
func (k *Kernel) Printf(format string, a ...any) {
	k.out.line("kernel", fmt.Sprintf(format, a...))
}
