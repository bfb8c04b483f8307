package inject

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"
)

// The tally counts completed workloads, bytes and corrupted rounds, and
// compares each shard's memory early (the median over its first 100
// faults from fault 1000, or from a tenth of a shorter shard) and late
// (the median over its last 100).
func TestTallyMemoryAndCompletion(t *testing.T) {
	tl := NewTally("")
	for i := range 1200 {
		outcome := OutcomeNone
		switch i {
		case 7:
			outcome = OutcomeOutside
		case 8:
			outcome = OutcomeClient
		case 9:
			outcome = OutcomeHarness
		}
		bad := 0
		if i == 7 {
			bad = 1
		}
		// net grows by 1 KiB a fault; the machine stays at 100.
		tl.Add(Record{Index: i, Shard: "0/1", Kind: "hang", Outcome: outcome, Bytes: 10, BadRounds: bad,
			RSS: map[string]int64{"net": int64(1000 + i), "machine": 100}})
	}
	s := tl.Summary()
	if s.Faults != 1200 || s.Completed != 1197 || s.Bytes != 12000 || s.BadRounds != 1 {
		t.Errorf("faults %d completed %d bytes %d bad %d", s.Faults, s.Completed, s.Bytes, s.BadRounds)
	}
	want := []Growth{
		{Process: "machine", From: 1000, FromKiB: 100, To: 1199, ToKiB: 100, GrowthPC: 0},
		{Process: "net", From: 1000, FromKiB: 2050, To: 1199, ToKiB: 2150, GrowthPC: 4.88},
	}
	if fmt.Sprintf("%.2f", s.Memory[1].GrowthPC) != "4.88" {
		t.Errorf("net growth %v", s.Memory[1].GrowthPC)
	}
	s.Memory[1].GrowthPC = 4.88
	if fmt.Sprint(s.Memory) != fmt.Sprint(want) {
		t.Errorf("memory %+v, want %+v", s.Memory, want)
	}

	// Shards that end before fault 1000: from their tenth record; two
	// shards are named apart.
	tl = NewTally("")
	for i := range 600 {
		tl.Add(Record{Index: i, Shard: fmt.Sprintf("%d/2", i%2), RSS: map[string]int64{"net": 100 + int64(i)}})
	}
	var got []string
	for _, g := range tl.Summary().Memory {
		got = append(got, fmt.Sprintf("%s %d:%d %d:%d", g.Process, g.From, g.FromKiB, g.To, g.ToKiB))
	}
	if w := "net@0/2 60:260 598:600,net@1/2 61:261 599:601"; strings.Join(got, ",") != w {
		t.Errorf("memory %q, want %q", strings.Join(got, ","), w)
	}
	var out bytes.Buffer
	tl.Summary().Print(&out)
	if !strings.Contains(out.String(), "net@1/2") || !strings.Contains(out.String(), "up to fault 599") {
		t.Errorf("print:\n%s", out.String())
	}
}

func TestParseWorkloads(t *testing.T) {
	for in, want := range map[string]string{"": "tcp,ping", "tcp": "tcp", "ping, tcp,ping": "ping,tcp"} {
		got, err := ParseWorkloads(in)
		if err != nil || strings.Join(got, ",") != want {
			t.Errorf("ParseWorkloads(%q) = %v, %v; want %s", in, got, err, want)
		}
	}
	if _, err := ParseWorkloads("tcp,flood"); err == nil || !strings.Contains(err.Error(), `"flood"`) {
		t.Errorf("unknown workload: %v", err)
	}
}

// Every shard of a two-shard campaign gets every class.
func TestClassOfShards(t *testing.T) {
	classes := []string{"code", "api", "hang", "dma"}
	for shard := range 2 {
		seen := map[string]int{}
		for i := shard; i < 16; i += 2 {
			seen[ClassOf(classes, i)]++
		}
		if len(seen) != 4 || seen["code"] != 2 || seen["dma"] != 2 {
			t.Errorf("shard %d/2: %v", shard, seen)
		}
	}
	for i := range 8 { // and a campaign of 2 rounds has each class twice
		if i < 4 && ClassOf(classes, i) != classes[i] {
			t.Errorf("fault %d: %s", i, ClassOf(classes, i))
		}
	}
}

// paced reads at most rate bytes a second, in reads of at most 64 KiB,
// and passes the data through unchanged.
func TestPaced(t *testing.T) {
	src := bytes.Repeat([]byte("grail"), 40000) // 200,000 bytes
	p := &paced{r: bytes.NewReader(src), rate: 1 << 30, start: time.Now()}
	var got bytes.Buffer
	buf := make([]byte, 1<<20)
	reads := 0
	for {
		n, err := p.Read(buf)
		if n > 64<<10 {
			t.Fatalf("read of %d bytes", n)
		}
		got.Write(buf[:n])
		if n > 0 {
			reads++
		}
		if err != nil {
			break
		}
	}
	if !bytes.Equal(got.Bytes(), src) || reads != 4 || p.n != int64(len(src)) {
		t.Errorf("%d bytes in %d reads, n %d", got.Len(), reads, p.n)
	}
}
