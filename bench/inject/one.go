package inject

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"grailos/dde/linux/fault"
	"grailos/kernel"
	"grailos/kernel/sandbox"
)

// one runs one fault on a driver whose data flows, classifies it, and
// leaves a fresh driver behind (restarted by the fault, or by the
// harness) with the data flowing again — or says why not.
func (c *campaign) one(r Record) (out Record) {
	start := time.Now()
	defer func() { out.Seconds = time.Since(start).Seconds() }()
	c.bytes0, _ = c.mon.progress()
	ev := c.k.Events()
	drv := c.o.Driver
	mark := ev.Len()
	t0 := kernel.Monotonic()
	defer c.mon.forget(t0)
	harness := func(format string, args ...any) Record {
		r.Outcome, r.Detail = OutcomeHarness, fmt.Sprintf(format, args...)
		c.restart() // whatever was planted goes
		return r
	}
	fe, err := c.arm(r.Spec, mark)
	switch {
	case errors.Is(err, errNotFired):
		r.Outcome, r.Detail = OutcomeLatent, fmt.Sprintf("did not fire within %v", c.o.FireWait)
		return c.finish(r, mark, t0, c.cleanup(&r))
	case err != nil:
		r = harness("%v", err)
		r.early = errors.Is(err, errDriverGone)
		return r
	}
	r.ArmedMS = ms(int64(c.armedAt.Sub(start)))
	r.Fired, r.FiredDetail = true, fe.Detail
	r.FiredMS = ms(int64(time.Since(start)))
	if _, after, ok := strings.Cut(fe.Detail, "caller="); ok {
		if a, err := strconv.ParseUint(strings.Fields(after)[0], 0, 64); err == nil {
			r.FiredAt = fault.Symbolize(c.fns, a)
		}
	}
	fired := fe.T
	p0 := c.level()
	pMid, midDone := p0, false
	// Watch: the driver ends (crash, or hang: killed by init), or the data
	// keeps flowing, or it stops.
	for {
		if ex, _, err := ev.Wait(mark, 0, c.driverEvent("exited")); err == nil {
			return c.finish(r, mark, t0, c.recovered(&r, ex, fired, mark))
		}
		now := kernel.Monotonic()
		p := c.level()
		if !midDone && now-fired >= int64(c.o.Window)/2 {
			pMid, midDone = p, true
		}
		// No visible effect: the data still flows in the second half of
		// the window (in the first, TCP's window in flight may still
		// arrive through a driver that no longer sends).
		if now-fired >= int64(c.o.Window) && midDone && c.ahead(pMid, p) {
			r.Outcome, r.Detail = OutcomeNone, fmt.Sprintf("%s in the %v after it fired", c.moved(p0, p), time.Duration(now-fired).Round(time.Millisecond))
			if errs, _, _ := c.mon.since(t0); len(errs) > 0 {
				r.Outcome, r.Detail = OutcomeClient, "the client saw: "+errs[0]
			}
			return c.finish(r, mark, t0, c.cleanup(&r))
		}
		if now-fired >= int64(c.o.StallLimit) {
			r.Outcome = OutcomeStall
			r.Detail = fmt.Sprintf("the driver answered heartbeats but the workload stopped for %v (%s moved): the harness restarted it",
				c.o.StallLimit, c.moved(p0, p))
			mark2 := ev.Len()
			if err := c.k.Kill(drv); err != nil {
				return harness("kill: %v", err)
			}
			ex, _, err := ev.Wait(mark2, recoverLimit, c.driverEvent("exited"))
			if err != nil {
				r.Outside = append(r.Outside, "the stalled driver did not end when killed")
				return c.finish(r, mark, t0, nil)
			}
			outcome, detail := r.Outcome, r.Detail
			err = c.recovered(&r, ex, fired, mark2)
			r.Outcome, r.Detail = outcome, detail
			return c.finish(r, mark, t0, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

var (
	errNotFired   = errors.New("not fired")
	errDriverGone = errors.New("the driver went away before the fault ran")
)

// attempt runs fault r; when the driver went away before the fault could
// fire (init found it hung under load, say, or it was restarting), the
// fault never ran and says nothing yet: it runs again, at most twice more,
// on a fresh driver (Record.Retries).
func (c *campaign) attempt(r Record) Record {
	for try := 0; ; try++ {
		out := c.one(r)
		if out.Outcome != OutcomeHarness || !out.early || try == 2 {
			out.Retries = try
			return out
		}
		for deadline := time.Now().Add(recoverLimit); ; time.Sleep(5 * time.Millisecond) {
			if _, ok := c.k.Pid(c.o.Driver); ok || time.Now().After(deadline) {
				break
			}
		}
		c.flowing(recoverLimit)
	}
}

// arm plants the fault — in the driver, as an operator note, or for a
// device fault in the machine — and waits for it to fire (errNotFired if
// it does not within FireWait): the driver's, or the machine's,
// fault-fired event.
func (c *campaign) arm(s fault.Spec, mark int) (kernel.Event, error) {
	ev := c.k.Events()
	drv, id := c.o.Driver, s.ID
	who := drv // whose events say armed and fired
	if s.Class == fault.ClassDevice {
		if c.b.DeviceFault == nil {
			return kernel.Event{}, errors.New("this system cannot inject device faults")
		}
		if err := c.b.DeviceFault(s); err != nil {
			return kernel.Event{}, err
		}
		who = c.b.Device
	} else {
		note, err := s.Note()
		if err != nil {
			return kernel.Event{}, err
		}
		if err := c.k.Note(drv, note); err != nil {
			return kernel.Event{}, fmt.Errorf("%w: note: %v", errDriverGone, err)
		}
	}
	// Armed, refused — or, with a trigger, already gone.
	e, _, err := ev.Wait(mark, 5*time.Second, func(e kernel.Event) bool {
		return e.Subject == who && e.Kind == "fault-armed" && fault.FiredID(e.Detail) == id ||
			e.Subject == drv && (e.Kind == "inject-refused" || e.Kind == "exited")
	})
	switch {
	case err != nil:
		return kernel.Event{}, fmt.Errorf("%s did not confirm the fault: %v", who, err)
	case e.Kind == "inject-refused":
		return kernel.Event{}, fmt.Errorf("the driver refused the fault: %s", e.Detail)
	}
	c.armedAt = time.Now()
	// Fired: the fault's code ran, its call was made, or the device
	// misbehaved.
	fe, _, err := ev.Wait(mark, c.o.FireWait, func(e kernel.Event) bool {
		return e.Subject == who && e.Kind == "fault-fired" && fault.FiredID(e.Detail) == id || e.Subject == drv && e.Kind == "exited"
	})
	switch {
	case err != nil:
		return kernel.Event{}, errNotFired
	case fe.Kind == "exited":
		return kernel.Event{}, fmt.Errorf("%w: the driver ended (%s) before the fault fired", errDriverGone, fe.Detail)
	}
	return fe, nil
}

// recovered classifies a driver that ended (crash or hang) and waits for
// its return: init restarts it and the client's data flows again.
func (c *campaign) recovered(r *Record, ex kernel.Event, fired int64, mark int) error {
	ev := c.k.Events()
	drv := c.o.Driver
	r.Exit = ex.Detail
	r.Outcome, r.Detail = OutcomeCrash, "the driver ended: "+ex.Detail
	if _, _, err := ev.Wait(mark, 0, c.driverEvent("hang-detected")); err == nil {
		r.Outcome, r.Detail = OutcomeHang, "init found the driver hung and killed it"
	}
	if e, _, err := ev.Wait(mark, 0, c.driverEvent("trigger-failed")); err == nil {
		r.Detail += " (its interface did not come back: " + e.Detail + ")"
	}
	pExit := c.level()
	r.Phases = map[string]float64{"exited": ms(ex.T - fired)}
	for _, k := range []string{"ready", "link-up", "first-frame"} {
		e, _, err := ev.Wait(mark, recoverLimit, c.driverEvent(k))
		if err != nil {
			return fmt.Errorf("init did not bring %s back (no %s): %v", drv, k, err)
		}
		r.Phases[k] = ms(e.T - fired)
	}
	deadline := time.Now().Add(recoverLimit)
	for {
		if p := c.level(); c.ahead(pExit, p) {
			r.RecoveryMS = ms(p.at - fired)
			r.Phases["data"] = r.RecoveryMS
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s is back but the workload did not flow again within %v%s", drv, recoverLimit, c.pingEnded())
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// cleanup restarts a driver the fault left running (a fault stays in its
// text or state until then), so the next fault starts fresh.
func (c *campaign) cleanup(r *Record) error {
	t0 := time.Now()
	if err := c.restart(); err != nil {
		return fmt.Errorf("restarting the driver after the fault: %v", err)
	}
	r.Cleanup = map[string]float64{"ready": ms(int64(time.Since(t0)))}
	if err := c.flowing(recoverLimit); err != nil {
		return fmt.Errorf("after the harness restarted the driver: %v", err)
	}
	r.Cleanup["data"] = ms(int64(time.Since(t0)))
	return nil
}

// finish checks everything outside the driver over the fault's time:
// other tasks, the machine, the client's checksums, and whether the
// system came back (err); any of them makes the outcome outside.
func (c *campaign) finish(r Record, mark int, t0 int64, err error) Record {
	if err != nil {
		r.Outside = append(r.Outside, err.Error())
	}
	for _, e := range c.k.Events().Since(mark) {
		switch {
		case e.Subject != c.o.Driver && (e.Kind == "exited" || e.Kind == "crash-detected" || e.Kind == "hang-detected" || e.Kind == "gave-up"):
			r.Outside = append(r.Outside, fmt.Sprintf("%s %s %s", e.Subject, e.Kind, e.Detail))
		case e.Subject == c.o.Driver && e.Kind == "gave-up":
			r.Outside = append(r.Outside, "init gave up on the driver: "+e.Detail)
		}
	}
	if c.b.MachineAlive != nil && !c.b.MachineAlive() {
		r.Outside = append(r.Outside, "the machine process died")
	}
	errs, bad, iommu := c.mon.since(t0)
	r.Outside = append(r.Outside, bad...)
	p, _ := c.mon.progress()
	r.Bytes, r.BadRounds = p-c.bytes0, len(bad)
	r.RSS = c.rss()
	r.ClientErrs, r.IOMMU = errs, iommu
	if len(r.Outside) > 0 {
		r.Outcome, r.Detail = OutcomeOutside, r.Outside[0]
	}
	return r
}

func ms(ns int64) float64 { return float64(ns) / 1e6 }

// rss samples the resident memory (KiB) of every long-lived process: the
// tasks but the driver (which every fault replaces), the kernel (this
// process, the harness included) and the machine.
func (c *campaign) rss() map[string]int64 {
	m := map[string]int64{}
	for _, t := range c.k.Tasks() {
		if t.Name != c.o.Driver && t.Pid > 0 && t.RSSBytes > 0 {
			m[t.Name] = t.RSSBytes >> 10
		}
	}
	if c.b.MachinePid != nil {
		if pid := c.b.MachinePid(); pid > 0 {
			if b, err := sandbox.RSS(pid); err == nil {
				m["machine"] = b >> 10
			}
		}
	}
	return m
}
