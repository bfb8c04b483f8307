package nicserver

import (
	"errors"
	"fmt"
	"os"
	"strings"

	dde "grailos/dde/linux"
	"grailos/dde/linux/fault"
	"grailos/servers/nic/session"
)

// ExitTrigger is the exit status of a server whose driver could not get
// its interface back after a fault's trigger (reopen, reprobe): a driver
// that cannot open is dead, and its supervisor restarts it.
const ExitTrigger = 4

// note takes an operator's note (package grailos/dde/linux/fault has the
// forms). With Inject:
//
//   - "inject segv" and "inject hang" plant the fault in the donor's
//     transmit path (it fires on the next frame sent), "inject exit"
//     makes the server exit with status 3;
//   - "inject {spec}" plants a campaign's fault: event fault-armed (or
//     inject-refused, with why), then fault-fired when the driver reaches
//     it (Fired);
//   - "inject watch ..." watches function entries, "inject profile"
//     reports which ran (event profile).
//
// Everything else is reported and ignored. The work runs on the loop
// (the driver's thread).
func (s *Server) note(note []byte) {
	p, err := fault.ParseNote(note)
	if !s.Inject || errors.Is(err, fault.ErrNotFault) {
		fmt.Printf("note %q ignored (fault notes need -inject)\n", note)
		return
	}
	if err != nil {
		fmt.Printf("note refused: %v\n", err)
		s.t.Trace("inject-refused", "", err.Error())
		return
	}
	var f func()
	switch p.Kind {
	case fault.NoteOperator:
		switch p.Word {
		case "segv":
			f = func() { s.report(p.Word, s.drv.InjectFault(dde.FaultSegv)) }
		case "hang":
			f = func() { s.report(p.Word, s.drv.InjectFault(dde.FaultHang)) }
		case "exit":
			f = func() { fmt.Println("injected: exit"); os.Exit(3) }
		}
	case fault.NoteSpec:
		f = func() { s.plant(p.Spec) }
	case fault.NoteWatch:
		f = func() {
			n, err := s.drv.Watch(p.Watch)
			if err != nil {
				s.t.Trace("inject-refused", "", err.Error())
				return
			}
			s.t.Trace("watching", "", fmt.Sprint(n))
		}
	case fault.NoteProfile:
		f = func() { s.t.Trace("profile", "", fault.ProfileDetail(s.drv.WatchHits())) }
	}
	s.ctl <- f
}

func (s *Server) report(kind string, err error) {
	if err != nil {
		fmt.Printf("inject %s: %v\n", kind, err)
		return
	}
	s.trace("fault-armed", kind)
	fmt.Printf("injected: %s (fires on the next transmit)\n", kind)
}

// plant carries out a campaign's fault on the loop. Its events go to the
// kernel's log at once (not through the trace queue): the runner waits
// for them.
func (s *Server) plant(spec fault.Spec) {
	// Armed is on record before the trigger runs, which may fire it.
	if spec.Trigger == "" || spec.Class == fault.ClassCode || spec.Class == fault.ClassHang {
		err := s.drv.Inject(spec)
		if err != nil {
			fmt.Printf("inject %s refused: %v\n", spec.ID, err)
			s.t.Trace("inject-refused", "", "id="+spec.ID+" "+err.Error())
			return
		}
		s.t.Trace("fault-armed", "", "id="+spec.ID)
		return
	}
	s.t.Trace("fault-armed", "", "id="+spec.ID+" trigger="+spec.Trigger)
	if err := s.drv.Inject(spec); err != nil {
		if errors.Is(err, dde.ErrTrigger) {
			fmt.Printf("inject %s: %v: exiting\n", spec.ID, err)
			s.t.Trace("trigger-failed", "", "id="+spec.ID+" "+err.Error())
			os.Exit(ExitTrigger)
		}
		fmt.Printf("inject %s refused: %v\n", spec.ID, err)
		s.t.Trace("inject-refused", "", "id="+spec.ID+" "+err.Error())
		return
	}
	// The interface came back (a reprobe made a new one): the receive
	// filter the client asked for applies again.
	s.mu.Lock()
	flags := s.rxFlags
	s.mu.Unlock()
	if err := s.drv.SetRxMode(flags&session.RxPromisc != 0, flags&session.RxAllMulti != 0); err != nil {
		fmt.Printf("inject %s: receive filter after the trigger: %v\n", spec.ID, err)
	}
}

// Fired is told each fault that fires (dde.Config.Fired), before it takes
// effect: it puts fault-fired on record in the kernel's log and returns.
func (s *Server) Fired(detail string) {
	fmt.Printf("fault fired: %s\n", detail)
	if err := s.t.Trace("fault-fired", "", strings.TrimSpace(detail)); err != nil {
		fmt.Printf("fault-fired not recorded: %v\n", err)
	}
}
