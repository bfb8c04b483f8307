package system

import (
	"os/exec"
	"strings"
	"testing"

	"grailos/dde/linux/fault"
)

// A device fault through the machine's control socket: faults of other
// classes and of machines that do not exist are refused here, a second
// fault while one is armed by the machine; an armed dma-dup duplicates
// the next frame the 82540EM sends — the peer's ping sees its first
// reply twice and its second once — and the machine's reports are in
// the kernel's log, subject the device.
func TestDeviceFault(t *testing.T) {
	s := bootE1000(t, "t-devfault")
	if err := s.Kernel.WaitOutput("nicprobe", "DONE", 1, wait); err != nil {
		t.Fatal(err)
	}
	ns := PeerNetns("t-devfault", "nic0")
	if out, err := exec.Command("ip", "netns", "exec", ns, "ping", "-c", "1", "-W", "2", "192.0.2.2").CombinedOutput(); err != nil {
		t.Fatalf("ping before the fault (neighbours resolved): %v\n%s", err, out)
	}
	dup := fault.Spec{ID: "d1", Class: fault.ClassDevice, Site: "dma-dup", Nth: 1, Count: 1}
	for _, tc := range []struct {
		i    int
		spec fault.Spec
		want string
	}{
		{0, fault.Spec{ID: "a", Class: fault.ClassAPI, Site: "alloc", Nth: 1}, "not done by the machine"},
		{0, fault.Spec{ID: "a", Class: fault.ClassDevice, Site: "irq-late", Nth: 1}, "unknown device site"},
		{1, dup, "no machine 1"},
	} {
		if err := s.DeviceFault(tc.i, tc.spec); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want an error with %q", tc.spec, err, tc.want)
		}
	}
	from := s.Kernel.Events().Len()
	if err := s.DeviceFault(0, dup); err != nil {
		t.Fatal(err)
	}
	again := dup
	again.ID = "d2"
	if err := s.DeviceFault(0, again); err == nil || !strings.Contains(err.Error(), "another device fault is armed (d1)") {
		t.Errorf("a second fault: %v", err)
	}
	out, _ := exec.Command("ip", "netns", "exec", ns, "ping", "-c", "2", "-i", "0.2", "-W", "2", "192.0.2.2").CombinedOutput()
	if !strings.Contains(string(out), "2 packets transmitted, 2 received, +1 duplicates") {
		t.Errorf("ping with the first reply duplicated:\n%s", out)
	}
	evs, _ := expect(t, s, from, s.DeviceName(0), "fault-armed", "fault-fired", "fault-done")
	for i, want := range []string{"id=d1 dma-dup: events 1 to 1", "id=d1 dma-dup: transmitted frame 1",
		"id=d1 dma-dup: transmitted frame 2 behaved after 1 faulty"} {
		if e := evs[i]; e.Detail != want || e.Source != "machine" || e.Subject != "nic0" {
			t.Errorf("event %d: %+v, want %q by the machine about nic0", i, e, want)
		}
	}
	if !(evs[0].T <= evs[1].T && evs[1].T <= evs[2].T) {
		t.Errorf("events out of order: %v", evs)
	}
}
