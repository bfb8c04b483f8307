package kernel

import (
	"bufio"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"grailos/kernel/abi"
	"grailos/kernel/cgroup"
	"grailos/kernel/link"
	"grailos/kernel/sandbox"
)

// outQueue bounds the messages waiting to be written to one task. A task that
// lets it fill up does not read its channel and is killed, so it cannot stall
// the kernel.
const outQueue = 4096

// Task is a protection domain: one confined host process and its capability
// table.
type Task struct {
	id       uint32
	name     string
	instance int
	spec     abi.SpawnSpec
	uid      int
	proc     *sandbox.Process
	group    cgroup.Group
	caps     capTable
	boot     abi.Boot

	parent  *Task      // receives the task's events
	phandle abi.Handle // the parent's handle of the Task capability
	self    *object    // the ObjTask object naming this task

	out      chan outMsg
	queued   atomic.Int32 // messages in out or being written by the writer
	memBytes int64
	serving  map[uint64]*pending // calls delivered to this task, awaiting its reply
	ready    bool
	running  bool
	hello    *abi.Message // a warm spare's hello, answered by lifecycle
	exited   bool
	exit     abi.ExitCode
	started  time.Time
	dead     chan struct{}
}

type outMsg struct {
	m   abi.Message
	fds []*os.File // closed after sending
}

type namedCap struct {
	name string
	cap  *capability
}

// send queues m for t. Called with k.mu held.
func (k *Kernel) send(t *Task, m abi.Message, fds ...*os.File) {
	if t.exited {
		for _, f := range fds {
			f.Close()
		}
		return
	}
	// Fast path: nothing is queued before it, so write it now, without
	// waiting (a full socket falls back to the queue and the writer).
	if t.queued.Load() == 0 && t.running {
		ifds := make([]int, len(fds))
		for i, f := range fds {
			ifds[i] = int(f.Fd())
		}
		sent, err := t.proc.Channel.TrySend(&m, ifds...)
		if sent || err != nil {
			for _, f := range fds {
				f.Close()
			}
			return
		}
	}
	t.queued.Add(1)
	select {
	case t.out <- outMsg{m, fds}:
	default:
		t.queued.Add(-1)
		for _, f := range fds {
			f.Close()
		}
		k.kill(t, "its channel is full (it does not read it)")
	}
}

// kill marks and kills t. Called with k.mu held.
func (k *Kernel) kill(t *Task, why string) {
	if t.exited {
		return
	}
	k.events.Add("kernel", t.name, "kill", why)
	t.proc.Kill()
}

// spawn creates a task named by spec holding caps; parent receives its
// events (nil for the root task) and a Task capability to it, whose handle is
// t.phandle. The task's goroutines start only when the returned start is
// called, so the caller can answer the spawn request before any event about
// the new task can reach the parent.
func (k *Kernel) spawn(parent *Task, spec *abi.SpawnSpec, caps []namedCap) (t *Task, start func(), err error) {
	if err := abi.CheckName(spec.Name); err != nil {
		return nil, nil, abi.Errorf(abi.ErrBadRequest, "task %v", err)
	}
	if err := abi.CheckName(spec.Binary); err != nil {
		return nil, nil, abi.Errorf(abi.ErrBadRequest, "binary %v", err)
	}
	if _, ok := sandbox.Roles[spec.Role]; !ok {
		return nil, nil, abi.Errorf(abi.ErrBadRequest, "task %s: unknown role %q", spec.Name, spec.Role)
	}
	bin := filepath.Join(k.cfg.BinDir, spec.Binary)
	if st, err := os.Stat(bin); err != nil || !st.Mode().IsRegular() {
		return nil, nil, abi.Errorf(abi.ErrNotFound, "task %s: no binary %q in the binaries folder", spec.Name, spec.Binary)
	}
	if err := checkStatic(bin); err != nil {
		return nil, nil, abi.Errorf(abi.ErrBadRequest, "task %s: %v", spec.Name, err)
	}
	k.mu.Lock()
	if k.stopping {
		k.mu.Unlock()
		return nil, nil, abi.Errorf(abi.ErrDenied, "the system is shutting down")
	}
	if _, busy := k.byName[spec.Name]; busy || k.starting[spec.Name] {
		k.mu.Unlock()
		return nil, nil, abi.Errorf(abi.ErrDenied, "a task named %s is running", spec.Name)
	}
	k.nextID++
	k.instances[spec.Name]++
	t = &Task{id: k.nextID, name: spec.Name, instance: k.instances[spec.Name], spec: *spec,
		caps: newCapTable(), parent: parent, out: make(chan outMsg, outQueue),
		serving: map[uint64]*pending{}, dead: make(chan struct{}), started: time.Now()}
	t.uid = k.cfg.UIDBase + int(t.id%1000000)
	k.starting[t.name] = true
	sp := k.takeSpare(spec)
	k.mu.Unlock()

	var sspec sandbox.Spec
	var proc *sandbox.Process
	if sp != nil {
		// A warm spare: started, placed and confined ahead, waiting in its
		// hello; lifecycle answers that hello.
		proc, sspec, t.group, t.uid, t.hello = sp.proc, sp.sspec, sp.group, sp.uid, &sp.hello
	} else {
		proc, sspec, t.group, err = k.startProcess(t.name, t.id, t.uid, spec, bin)
	}
	if err != nil {
		k.mu.Lock()
		delete(k.starting, t.name)
		k.mu.Unlock()
		if t.group != nil {
			t.group.Delete()
		}
		k.events.Add("kernel", t.name, "spawn-failed", err.Error())
		return nil, nil, abi.Errorf(abi.ErrDenied, "%v", err)
	}
	t.proc = proc

	k.mu.Lock()
	delete(k.starting, t.name)
	k.byName[t.name] = t
	k.tasks[t.id] = t
	t.self = &object{typ: abi.ObjTask, task: t}
	for _, nc := range caps {
		h, err := t.caps.insert(t, nc.cap)
		if err != nil {
			continue
		}
		t.boot.Caps = append(t.boot.Caps, abi.NamedCap{Name: nc.name, Handle: h, Type: nc.cap.obj.typ, Rights: nc.cap.rights})
	}
	t.boot.Task, t.boot.Args, t.boot.Config = t.name, spec.Args, spec.Config
	if parent != nil {
		tc := newRootCap(t.self, abi.RightControl|abi.RightGrant)
		if t.phandle, err = parent.caps.insert(parent, tc); err != nil {
			t.phandle = 0
		}
	}
	k.events.Add("kernel", t.name, "spawned", fmt.Sprintf("pid %d instance %d", proc.Pid, t.instance))
	if k.stopping {
		// Shutdown began while the process started: it missed this one.
		k.kill(t, "the system is shutting down")
	}
	k.wg.Add(3)
	k.mu.Unlock()

	return t, func() {
		go k.writer(t)
		go k.output(t)
		go k.lifecycle(t, sspec)
	}, nil
}

// startProcess starts the confined process of task name (instance id, host
// uid) in its own cgroup.
func (k *Kernel) startProcess(name string, id uint32, uid int, spec *abi.SpawnSpec, bin string) (*sandbox.Process, sandbox.Spec, cgroup.Group, error) {
	limits := cgroup.Limits{MemoryBytes: int64(spec.MemoryBytes), Pids: int64(spec.Pids), CPU: float64(spec.CPUMilli) / 1000}
	var group cgroup.Group
	place := func(pid int) error {
		if k.cfg.Cgroups == nil {
			return nil
		}
		g, err := k.cfg.Cgroups.NewGroup(fmt.Sprintf("%s-%d", name, id), limits)
		if err != nil {
			return err
		}
		group = g
		return g.AddProc(pid)
	}
	sspec := sandbox.Spec{Name: name, Binary: bin, Role: spec.Role, UID: uid, GID: uid, Args: spec.Args,
		Env: []string{fmt.Sprintf("GOMAXPROCS=%d", goMaxProcs(limits.CPU))}}
	proc, err := sandbox.Start(sspec, place)
	return proc, sspec, group, err
}

// lifecycle verifies t's confinement, serves its channel and reaps it.
func (k *Kernel) lifecycle(t *Task, spec sandbox.Spec) {
	defer k.wg.Done()
	exited := make(chan struct{})
	go func() {
		fds := []unix.PollFd{{Fd: int32(t.proc.PidFD), Events: unix.POLLIN}}
		for {
			if _, err := unix.Poll(fds, -1); err != unix.EINTR {
				break
			}
		}
		code := t.proc.Wait()
		k.exited(t, abi.ExitCode(code))
		close(exited)
	}()
	if err := k.hello(t, spec); err != nil {
		k.mu.Lock()
		k.kill(t, err.Error())
		k.mu.Unlock()
	} else {
		k.serve(t)
	}
	<-exited
}

// hello waits for the task's first message, verifies the confinement and
// answers with its boot information.
func (k *Kernel) hello(t *Task, spec sandbox.Spec) error {
	if t.hello != nil { // a spare: its hello was received and checked ahead
		k.mu.Lock()
		defer k.mu.Unlock()
		t.running = true
		k.events.Add("kernel", t.name, "confined", fmt.Sprintf("uid %d role %s (warm spare)", t.uid, spec.Role))
		k.send(t, abi.Message{Header: abi.Header{Op: abi.OpBoot, Seq: t.hello.Seq}, Payload: t.boot.Encode()})
		return nil
	}
	m, err := k.awaitHello(t.proc, spec)
	if err != nil {
		return err
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	t.running = true
	k.events.Add("kernel", t.name, "confined", fmt.Sprintf("uid %d role %s", t.uid, spec.Role))
	k.send(t, abi.Message{Header: abi.Header{Op: abi.OpBoot, Seq: m.Seq}, Payload: t.boot.Encode()})
	return nil
}

// awaitHello waits for a new process's first message, which must be its
// hello, and verifies its confinement from /proc.
func (k *Kernel) awaitHello(proc *sandbox.Process, spec sandbox.Spec) (abi.Message, error) {
	type rcv struct {
		m   abi.Message
		err error
	}
	ch := make(chan rcv, 1)
	go func() {
		m, fds, err := proc.Channel.Recv()
		closeFDs(fds)
		ch <- rcv{m, err}
	}()
	var r rcv
	select {
	case r = <-ch:
	case <-time.After(k.cfg.VerifyTimeout):
		return abi.Message{}, fmt.Errorf("no hello within %v", k.cfg.VerifyTimeout)
	}
	if r.err != nil {
		return abi.Message{}, fmt.Errorf("before hello: %v", r.err)
	}
	if r.m.Op != abi.OpHello {
		return abi.Message{}, fmt.Errorf("first message is %v, not hello", r.m.Op)
	}
	if err := sandbox.Verify(proc.Pid, spec); err != nil {
		return abi.Message{}, err
	}
	return r.m, nil
}

// serve reads t's channel until it closes.
func (k *Kernel) serve(t *Task) {
	for {
		m, fds, err := t.proc.Channel.Recv()
		closeFDs(fds) // tasks never pass descriptors to the kernel
		if err != nil {
			if err != link.ErrClosed {
				k.mu.Lock()
				k.kill(t, fmt.Sprintf("bad message on its channel: %v", err))
				k.mu.Unlock()
			}
			return
		}
		k.dispatch(t, &m)
	}
}

// writer drains t's queue onto its channel.
func (k *Kernel) writer(t *Task) {
	defer k.wg.Done()
	for {
		select {
		case om := <-t.out:
			fds := make([]int, len(om.fds))
			for i, f := range om.fds {
				fds[i] = int(f.Fd())
			}
			t.proc.Channel.Send(&om.m, fds...)
			for _, f := range om.fds {
				f.Close()
			}
			t.queued.Add(-1)
		case <-t.dead:
			for {
				select {
				case om := <-t.out:
					for _, f := range om.fds {
						f.Close()
					}
				default:
					return
				}
			}
		}
	}
}

// output copies t's stdout and stderr, line by line, to the kernel output
// and the per-task log.
func (k *Kernel) output(t *Task) {
	defer k.wg.Done()
	sc := bufio.NewScanner(t.proc.Output)
	sc.Buffer(make([]byte, 4096), 64<<10)
	for sc.Scan() {
		line := sc.Text()
		k.logs.add(t.name, line)
		k.out.line(t.name, line)
	}
}

// exited tears t down: its capabilities, the calls it was serving, its
// cgroup; then tells its parent.
func (k *Kernel) exited(t *Task, code abi.ExitCode) {
	k.mu.Lock()
	t.exited = true
	t.exit = code
	k.events.Add("kernel", t.name, "exited", code.String())
	if k.byName[t.name] == t {
		delete(k.byName, t.name)
	}
	for _, p := range t.serving {
		k.failCall(p, abi.Errorf(abi.ErrPeerDied, "%s died while handling the call", t.name))
	}
	t.serving = nil
	for _, c := range t.caps.all() {
		k.deleteCap(c)
	}
	// Calls t made that are still queued or in service: forget the caller.
	for tok, p := range k.tokens {
		if p.caller == t {
			p.caller = nil
			_ = tok
		}
	}
	if t.parent != nil && !t.parent.exited {
		k.send(t.parent, abi.Message{Header: abi.Header{Op: abi.OpEvent, Cap: t.phandle,
			Arg0: uint64(abi.EventExited), Arg1: uint64(code)}, Payload: []byte(t.name)})
	}
	delete(k.tasks, t.id)
	k.mu.Unlock()
	close(t.dead)
	t.proc.Close()
	if t.group != nil {
		if err := t.group.Delete(); err != nil {
			k.Printf("removing the cgroup of %s: %v", t.name, err)
		}
	}
}

func closeFDs(fds []int) {
	for _, fd := range fds {
		unix.Close(fd)
	}
}

// goMaxProcs is the Go scheduler width a task gets: its CPU limit rounded up,
// but at least 2. With one P, a goroutine sleeping in a blocking futex (a
// ring waiter past its spin phase) holds the only P, and the task notices
// its kernel channel only when the runtime's monitor takes the P back —
// up to milliseconds later.
func goMaxProcs(cpu float64) int {
	n := runtime.NumCPU()
	if cpu > 0 {
		n = int(math.Ceil(cpu))
	}
	return max(n, 2)
}
