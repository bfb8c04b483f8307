// Package initd is init's runtime: it starts the servers of a system file
// in order, watches them (exit events from the kernel at once, hangs by
// heartbeat), and carries out the supervisor's decisions — restart with
// backoff, stop the rest for rest_for_one, give up or escalate when the
// restart intensity is exceeded — telling dependents when a server they use
// comes back or is gone for good.
//
// All state belongs to the Run loop goroutine; heartbeat goroutines and
// timers only send to it. Every decision is also written to the kernel's
// event log (Trace), which is what `grail ps`, the demo and the benchmarks
// read.
package initd

import (
	"fmt"
	"os"
	"time"

	"grailos/kernel/abi"
	"grailos/kernel/sys"
	"grailos/servers/init/supervisor"
	"grailos/servers/init/sysfile"
)

// readyTimeout bounds how long a starting server may take to report ready.
const readyTimeout = 15 * time.Second

type instance struct {
	srv      sysfile.Server
	task     abi.Handle
	pid      int
	ready    bool
	restart  bool // a restart, not the first start
	stopping bool // init is stopping it (rest_for_one); its exit is expected
	hung     bool
	hbStop   chan struct{}
	deadline *time.Timer
}

type hang struct {
	inst *instance
	why  string
}

// Init runs one system.
type Init struct {
	t       *sys.Task
	spawner abi.Handle
	sys     *sysfile.System
	sup     *supervisor.Supervisor

	eps      map[string]abi.Handle // endpoint name → init's full-rights handle
	ctl      map[string]abi.Handle // server name → its control endpoint
	live     map[string]*instance
	byTask   map[abi.Handle]*instance
	started  map[string]int
	queue    []string // servers to start, in order, one at a time
	starting *instance

	hangs  chan hang
	timers chan []string
}

// New prepares init for system s on task t.
func New(t *sys.Task, s *sysfile.System) (*Init, error) {
	sp, err := t.Cap("spawner")
	if err != nil {
		return nil, err
	}
	in := &Init{t: t, spawner: sp, sys: s, sup: supervisor.New(s.Policy(), s.Children()),
		eps: map[string]abi.Handle{}, ctl: map[string]abi.Handle{}, live: map[string]*instance{},
		byTask: map[abi.Handle]*instance{}, started: map[string]int{},
		hangs: make(chan hang, 16), timers: make(chan []string, 16)}
	for _, srv := range s.Servers {
		for _, p := range srv.Provides {
			if in.eps[p], err = t.NewEndpoint(); err != nil {
				return nil, err
			}
		}
		if in.ctl[srv.Name], err = t.NewEndpoint(); err != nil {
			return nil, err
		}
	}
	return in, nil
}

func now() time.Duration { return time.Duration(sys.Monotonic()) }

func (in *Init) trace(kind, subject, detail string) {
	in.t.Trace(kind, subject, detail)
}

// Run starts every server and supervises until escalation. It returns the
// reason the system must stop.
func (in *Init) Run() error {
	for _, srv := range in.sys.Servers {
		in.queue = append(in.queue, srv.Name)
	}
	in.next()
	for {
		var notReady <-chan time.Time
		if in.starting != nil && in.starting.deadline != nil {
			notReady = in.starting.deadline.C
		}
		select {
		case ev := <-in.t.Events():
			if err := in.event(ev); err != nil {
				return err
			}
		case h := <-in.hangs:
			in.hung(h.inst, h.why)
		case names := <-in.timers:
			in.queue = append(in.queue, names...)
			in.next()
		case <-notReady:
			in.hung(in.starting, fmt.Sprintf("not ready within %v", readyTimeout))
		}
	}
}

// next starts the first queued server if nothing is starting.
func (in *Init) next() {
	for in.starting == nil && len(in.queue) > 0 {
		name := in.queue[0]
		if _, busy := in.live[name]; busy {
			return // an instance being stopped must exit first; its exit calls next
		}
		in.queue = in.queue[1:]
		if st := in.sup.State(name); st == supervisor.GivenUp {
			continue
		}
		in.spawn(name)
	}
}

func (in *Init) spawn(name string) {
	srv, _ := in.sys.Server(name)
	var caps []abi.CapRef
	var names []string
	for _, p := range srv.Provides {
		caps = append(caps, abi.CapRef{Handle: in.eps[p], Rights: abi.RightReceive})
		names = append(names, p)
	}
	for _, u := range srv.Uses {
		caps = append(caps, abi.CapRef{Handle: in.eps[u], Rights: abi.RightCall})
		names = append(names, u)
	}
	for _, dv := range srv.Devices {
		d := dv.Name
		dev, err1 := in.t.Cap("dev." + d)
		irq, err2 := in.t.Cap("irq." + d)
		if err1 != nil || err2 != nil {
			in.trace("spawn-failed", name, fmt.Sprintf("the machine has no device %q", d))
			in.decide(name, true)
			return
		}
		caps = append(caps, abi.CapRef{Handle: dev, Rights: abi.RightRead | abi.RightWrite},
			abi.CapRef{Handle: irq, Rights: abi.RightWait})
		names = append(names, d, d+".irq")
	}
	caps = append(caps, abi.CapRef{Handle: in.ctl[name], Rights: abi.RightReceive})
	names = append(names, "control")
	spec := &abi.SpawnSpec{Name: name, Binary: srv.Binary, Role: srv.Role, Args: srv.Args,
		MemoryBytes: uint64(srv.Limits.MemoryBytes), Pids: uint64(srv.Limits.Pids),
		CPUMilli: uint64(srv.Limits.CPU * 1000), CapNames: names}
	in.started[name]++
	restart := in.started[name] > 1
	if restart {
		in.trace("restarting", name, "")
	} else {
		in.trace("spawning", name, "")
	}
	h, pid, err := in.t.Spawn(in.spawner, spec, caps)
	in.sup.OnStarted(name, now())
	if err != nil {
		// A spawn failure counts as a crash of the new instance.
		in.trace("spawn-failed", name, err.Error())
		fmt.Fprintf(os.Stderr, "init: starting %s: %v\n", name, err)
		in.decide(name, true)
		in.next()
		return
	}
	inst := &instance{srv: srv, task: h, pid: pid, restart: restart, hbStop: make(chan struct{}),
		deadline: time.NewTimer(readyTimeout)}
	in.live[name] = inst
	in.byTask[h] = inst
	in.starting = inst
}

func (in *Init) event(ev sys.Event) error {
	inst, ok := in.byTask[ev.Task]
	if !ok {
		return nil
	}
	switch ev.Kind {
	case abi.EventReady:
		inst.ready = true
		if inst.deadline != nil {
			inst.deadline.Stop()
		}
		if in.starting == inst {
			in.starting = nil
		}
		go in.heartbeat(inst)
		if inst.restart {
			in.tellDependents(inst.srv.Name, sys.CtlPeerUp)
		}
		in.next()
	case abi.EventExited:
		return in.exited(inst, ev.Exit)
	}
	return nil
}

func (in *Init) exited(inst *instance, code abi.ExitCode) error {
	name := inst.srv.Name
	delete(in.byTask, inst.task)
	delete(in.live, name)
	close(inst.hbStop)
	if inst.deadline != nil {
		inst.deadline.Stop()
	}
	in.t.Delete(inst.task)
	if in.starting == inst {
		in.starting = nil
	}
	if inst.stopping {
		in.trace("stopped", name, code.String())
		in.next()
		return nil
	}
	detail := code.String()
	if inst.hung {
		detail = "hung, " + detail
	}
	in.trace("crash-detected", name, detail)
	abnormal := code != 0 || inst.hung
	if err := in.decide(name, abnormal); err != nil {
		return err
	}
	in.next()
	return nil
}

// decide applies the supervisor's decision for name's exit.
func (in *Init) decide(name string, abnormal bool) error {
	d := in.sup.OnExit(name, abnormal, now())
	if d.Escalate {
		in.trace("escalate", name, d.Reason)
		return fmt.Errorf("restart intensity exceeded: %s", d.Reason)
	}
	if d.Exhausted {
		for _, g := range d.GiveUp {
			in.trace("gave-up", g, d.Reason)
			in.tellDependents(g, sys.CtlPeerDown)
		}
		return nil
	}
	if len(d.Restart) == 0 {
		in.trace("not-restarted", name, d.Reason)
		return nil
	}
	in.trace("restart-scheduled", name, d.Reason)
	for _, s := range d.Stop {
		if inst, ok := in.live[s]; ok {
			inst.stopping = true
			in.t.Kill(inst.task)
		}
	}
	if d.Delay <= 0 {
		in.queue = append(in.queue, d.Restart...)
		return nil
	}
	restart := d.Restart
	time.AfterFunc(d.Delay, func() { in.timers <- restart })
	return nil
}

func (in *Init) hung(inst *instance, why string) {
	if inst == nil || in.live[inst.srv.Name] != inst || inst.hung {
		return
	}
	inst.hung = true
	in.trace("hang-detected", inst.srv.Name, why)
	in.t.Kill(inst.task)
}

// heartbeat pings inst until it stops answering or exits.
func (in *Init) heartbeat(inst *instance) {
	period, limit := inst.srv.Heartbeat, inst.srv.HangTimeout
	if period <= 0 {
		return
	}
	tick := time.NewTicker(period)
	defer tick.Stop()
	for {
		select {
		case <-inst.hbStop:
			return
		case <-tick.C:
		}
		_, err := in.t.Call(in.ctl[inst.srv.Name], []byte{sys.CtlPing}, nil, limit)
		select {
		case <-inst.hbStop:
			return
		default:
		}
		if err != nil {
			if se, ok := err.(*abi.StatusError); ok && se.Status == abi.ErrTimeout {
				in.hangs <- hang{inst, fmt.Sprintf("no heartbeat answer within %v", limit)}
				return
			}
			// Peer died: the exit event follows.
			return
		}
	}
}

// tellDependents tells every live server that uses name what happened to it.
func (in *Init) tellDependents(name string, what byte) {
	for _, d := range in.sys.Dependents(name) {
		if _, ok := in.live[d]; !ok {
			continue
		}
		ctl := in.ctl[d]
		go in.t.Call(ctl, append([]byte{what}, name...), nil, 5*time.Second)
	}
}
