package system

import (
	"encoding/json"
	"fmt"
	"time"

	"grailos/arch/machine/hw"
	"grailos/dde/linux/fault"
	"grailos/kernel"
)

// DeviceFault arms a device fault (fault.ClassDevice) in the i-th
// machine process: the device misbehaves, not the driver. It returns once
// the machine armed it, or with the machine's reason for refusing it.
// The machine's reports go into the kernel's event log, stamped with the
// machine's clock (the same CLOCK_MONOTONIC), source "machine", subject
// the device's name (DeviceName): fault-armed, fault-fired when the
// misbehaviour happens, fault-done when it is over; the detail starts
// with id=ID. One fault at a time per machine: a second one is refused
// until the first is done (a driver attaching ends it).
func (s *System) DeviceFault(i int, spec fault.Spec) error {
	if i < 0 || i >= len(s.machs) {
		return fmt.Errorf("no machine %d (%d run)", i, len(s.machs))
	}
	if spec.Class != fault.ClassDevice {
		return fmt.Errorf("fault %s: class %q is not done by the machine", spec.ID, spec.Class)
	}
	if err := spec.Validate(); err != nil {
		return err
	}
	js, err := json.Marshal(spec)
	if err != nil {
		return err
	}
	m := s.machs[i]
	m.faultMu.Lock()
	defer m.faultMu.Unlock()
	m.reader.Do(func() { go m.readCtl(s.Kernel.Events()) })
	select {
	case <-m.replies: // a late reply to a request that timed out
	default:
	}
	if _, err := m.ctl.Write(append([]byte(hw.RequestFault), js...)); err != nil {
		return fmt.Errorf("machine for %s: %w", m.dev, err)
	}
	select {
	case r := <-m.replies:
		if r.State == hw.MessageError {
			return fmt.Errorf("machine for %s refused fault %s: %s", m.dev, spec.ID, r.Detail)
		}
		if r.ID != spec.ID {
			return fmt.Errorf("machine for %s armed %s, not %s", m.dev, r.ID, spec.ID)
		}
		return nil
	case <-m.done:
		return fmt.Errorf("machine for %s: ended", m.dev)
	case <-time.After(5 * time.Second):
		return fmt.Errorf("machine for %s: no answer to fault %s", m.dev, spec.ID)
	}
}

// DeviceName returns the name of the i-th machine's device (the system
// file's, e.g. nic0), or "".
func (s *System) DeviceName(i int) string {
	if i < 0 || i >= len(s.machs) {
		return ""
	}
	return s.machs[i].dev
}

// readCtl reads the machine's control socket (after the handoff) until it
// closes: replies go to the request waiting, reports into the event log.
func (m *machine) readCtl(ev *kernel.EventLog) {
	buf := make([]byte, hw.MaxControlMessage+1)
	for {
		n, err := m.ctl.Read(buf)
		if err != nil || n == 0 {
			return
		}
		msg, err := hw.ParseMessage(buf[:n])
		if err != nil {
			ev.Add("grail", m.dev, "machine-protocol", err.Error())
			continue
		}
		if msg.State == hw.FaultArmed || msg.State == hw.MessageError {
			select {
			case m.replies <- msg:
			default: // nobody waits: the request timed out
			}
		}
		if msg.State != hw.MessageError {
			ev.AddAt(msg.T, "machine", m.dev, "fault-"+msg.State, "id="+msg.ID+" "+msg.Detail)
		}
	}
}
