package system

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"grailos/bench/inject"
	"grailos/dde/linux/fault"
)

// injectBooter boots a campaign's system for a test; its output goes to
// the campaign's monitor and, when the test fails, to the log.
func injectBooter(t *testing.T) inject.Booter {
	return func(sys []byte, out io.Writer) (*inject.Booted, error) {
		if os.Geteuid() != 0 {
			t.Skip("needs root: tasks get their own namespaces and cgroups")
		}
		keep := &lockedBuffer{}
		s, err := Boot(Options{Default: sys, BinDir: binDir, RunRoot: t.TempDir(), Output: io.MultiWriter(out, keep)})
		if err != nil {
			return nil, err
		}
		t.Cleanup(func() {
			if t.Failed() {
				t.Logf("system output:\n%s", keep.String())
			}
		})
		alive := func() bool { pid := s.MachinePid(0); return pid > 0 && unix.Kill(pid, 0) == nil }
		return &inject.Booted{Kernel: s.Kernel, PeerNetns: PeerNetns(s.Name, "nic0"), MachineAlive: alive, Stop: s.Stop,
			DeviceFault: func(f fault.Spec) error { return s.DeviceFault(0, f) }, Device: s.DeviceName(0)}, nil
	}
}

// A small seeded campaign against the e1000 server, every fault class
// twice (code mutations in donor functions that ran, kernel-API failures,
// hangs, wild DMA, data corruption, device misbehaviour from the
// machine) during a checksummed download: each fault fired (the driver,
// or for a device fault the machine, confirmed it in the kernel's log
// before it took effect), none did harm outside the driver, every wild
// DMA was refused by the machine's IOMMU, every data fault reported the
// word it changed, and a recorded fault replayed from its JSON line ends
// the same way.
func TestInjectCampaign(t *testing.T) {
	needNetBinaries(t, "fetch")
	faults := 2 * len(fault.Classes)
	opts := inject.Options{Faults: faults, Seed: 3, Classes: fault.Classes, Driver: "e1000", BinDir: binDir, Name: "t-inject",
		Window: 300 * time.Millisecond, FireWait: 3 * time.Second, StallLimit: 3 * time.Second, HangTimeout: time.Second, RoundSize: 8 << 20}
	file := filepath.Join(t.TempDir(), "campaign.jsonl")
	f, err := os.Create(file)
	if err != nil {
		t.Fatal(err)
	}
	opts.OnFault = func(done, total int, r inject.Record) error { return inject.WriteRecord(f, r) }
	rep, err := inject.Run(injectBooter(t), opts)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	var classes []string
	for _, r := range rep.Records {
		t.Logf("fault %d %-14s %-32s fired %-5v %-8s %s", r.Index, r.Kind, r.Function+r.FiredAt, r.Fired, r.Outcome, r.Detail)
		if !slices.Contains(classes, r.Spec.Class) {
			classes = append(classes, r.Spec.Class)
		}
		if !r.Fired {
			t.Errorf("fault %d (%s) did not fire: %s %s", r.Index, r.Kind, r.Outcome, r.Detail)
		}
		switch r.Outcome {
		case inject.OutcomeOutside, inject.OutcomeHarness:
			t.Errorf("fault %d (%s): %s: %s %v", r.Index, r.Kind, r.Outcome, r.Detail, r.Outside)
		}
		if r.Spec.Class == fault.ClassDMA && (len(r.IOMMU) == 0 || !strings.Contains(r.IOMMU[0], "outside the pool")) {
			t.Errorf("fault %d (%s): no refusal by the machine's IOMMU: %v", r.Index, r.Kind, r.IOMMU)
		}
		if d := r.Spec.Data; r.Spec.Class == fault.ClassData && (d == nil || !strings.Contains(r.FiredDetail,
			fmt.Sprintf(" class=data site=%s ", r.Spec.Site)) || !strings.Contains(r.FiredDetail, fmt.Sprintf(" off=%#x width=%d ", d.Off, d.Width)) ||
			!strings.HasSuffix(r.FiredDetail, " field="+d.Name) || !strings.Contains(r.FiredDetail, " new=")) {
			t.Errorf("fault %d (%s): fired %q does not name the word of %+v", r.Index, r.Kind, r.FiredDetail, d)
		}
		if r.Spec.Class == fault.ClassDevice && !strings.HasPrefix(r.FiredDetail, "id="+r.Spec.ID+" "+r.Spec.Site+": ") {
			t.Errorf("fault %d (%s): fired %q: not the machine's report", r.Index, r.Kind, r.FiredDetail)
		}
	}
	if len(rep.Records) != faults || len(classes) != len(fault.Classes) {
		t.Fatalf("%d faults of classes %v, want %d of %v", len(rep.Records), classes, faults, fault.Classes)
	}
	var sum strings.Builder
	rep.Summary.Print(&sum)
	t.Logf("functions that ran: %v\n%s", rep.Ran, sum.String())

	// Replay: a fault that took the driver down (a crash, else a hang),
	// from its line in the file, on a fresh system.
	line := 0
	for _, want := range []string{inject.OutcomeCrash, inject.OutcomeHang} {
		for i, r := range rep.Records {
			if line == 0 && r.Outcome == want {
				line = i + 1
			}
		}
	}
	if line == 0 {
		t.Fatal("no fault took the driver down: nothing to replay")
	}
	rec, err := inject.ReadLine(fmt.Sprintf("%s:%d", file, line))
	if err != nil {
		t.Fatal(err)
	}
	ropts := opts
	ropts.OnFault, ropts.Replay, ropts.Name = nil, []inject.Record{rec}, "t-replay"
	again, err := inject.Run(injectBooter(t), ropts)
	if err != nil {
		t.Fatal(err)
	}
	got := again.Records[0]
	if got.Outcome != rec.Outcome || !got.Fired || got.ReplayMatch == nil || !*got.ReplayMatch {
		t.Errorf("replay of fault %d (%s, %s): %s (%s), want %s", rec.Index, rec.Kind, rec.Function, got.Outcome, got.Detail, rec.Outcome)
	}
	t.Logf("replayed fault %d (%s %s): %s as recorded", rec.Index, rec.Kind, rec.Function, got.Outcome)
}

// The same against the second port, 8139too on the RTL8139: code
// mutations, failed allocations and hangs. (Its wild-DMA and DMA-map
// faults cannot fire: 8139too maps nothing per frame, it copies into one
// fixed buffer; its timer runs once a minute.) Every fault fired and none
// did harm outside the driver.
func TestInjectCampaignRTL8139(t *testing.T) {
	needNetBinaries(t, "fetch", "nic-rtl8139")
	classes := []string{fault.ClassCode, fault.ClassAPI + "/alloc", fault.ClassHang}
	opts := inject.Options{Faults: 6, Seed: 5, Classes: classes, Driver: "rtl8139", BinDir: binDir, Name: "t-inject-rtl",
		Window: 300 * time.Millisecond, FireWait: 3 * time.Second, StallLimit: 3 * time.Second, HangTimeout: time.Second, RoundSize: 4 << 20}
	rep, err := inject.Run(injectBooter(t), opts)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, r := range rep.Records {
		t.Logf("fault %d %-14s %-32s fired %-5v %-8s %s", r.Index, r.Kind, r.Function+r.FiredAt, r.Fired, r.Outcome, r.Detail)
		seen[r.Kind[:strings.Index(r.Kind+"/", "/")]] = true
		if !r.Fired {
			t.Errorf("fault %d (%s) did not fire: %s %s", r.Index, r.Kind, r.Outcome, r.Detail)
		}
		switch r.Outcome {
		case inject.OutcomeOutside, inject.OutcomeHarness:
			t.Errorf("fault %d (%s): %s: %s %v", r.Index, r.Kind, r.Outcome, r.Detail, r.Outside)
		}
	}
	if len(rep.Records) != 6 || len(seen) != len(classes) {
		t.Fatalf("%d faults of classes %v, want 6 covering %v", len(rep.Records), seen, classes)
	}
}

// Every kind of device misbehaviour, from the machine, against each
// port: each fired (the machine reported it in the kernel's log), and
// none did harm outside the driver — a duplicated or dropped frame must
// not reach the client's data (TCP's sequence numbers and the stack's
// checksums stand between), a screaming or lost interrupt must not take
// anything but the driver down.
func TestInjectDevice(t *testing.T) {
	needNetBinaries(t, "fetch", "nic-rtl8139")
	var classes []string
	for _, k := range fault.DeviceSites {
		classes = append(classes, fault.ClassDevice+"/"+k)
	}
	for _, drv := range []string{"e1000", "rtl8139"} {
		t.Run(drv, func(t *testing.T) {
			opts := inject.Options{Faults: 2 * len(classes), Seed: 11, Classes: classes, Driver: drv, BinDir: binDir,
				Name: "t-dev-" + drv, Window: 300 * time.Millisecond, FireWait: 3 * time.Second, StallLimit: 3 * time.Second, HangTimeout: time.Second,
				RoundSize: 4 << 20}
			rep, err := inject.Run(injectBooter(t), opts)
			if err != nil {
				t.Fatal(err)
			}
			kinds := map[string]int{}
			for _, r := range rep.Records {
				t.Logf("fault %d %-18s %-40s %-8s %s", r.Index, r.Kind, r.FiredDetail, r.Outcome, r.Detail)
				kinds[r.Kind]++
				if !r.Fired {
					t.Errorf("fault %d (%s, %+v) did not fire: %s %s", r.Index, r.Kind, r.Spec, r.Outcome, r.Detail)
				}
				switch r.Outcome {
				case inject.OutcomeOutside, inject.OutcomeHarness:
					t.Errorf("fault %d (%s, %+v): %s: %s %v", r.Index, r.Kind, r.Spec, r.Outcome, r.Detail, r.Outside)
				}
			}
			if len(rep.Records) != 2*len(classes) || len(kinds) != len(classes) {
				t.Fatalf("%d faults of kinds %v, want 2 of each of %v", len(rep.Records), kinds, classes)
			}
			var sum strings.Builder
			rep.Summary.Print(&sum)
			t.Logf("\n%s", sum.String())
		})
	}
}
