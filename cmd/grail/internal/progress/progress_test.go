package progress

import (
	"strings"
	"testing"
)

// Off a terminal, the bar prints one line per tenth reached and a final one.
func TestBarLines(t *testing.T) {
	var sb strings.Builder
	b := New(&sb, "get", 100<<20)
	for _, d := range []int64{0, 5 << 20, 10 << 20, 11 << 20, 55 << 20, 100 << 20} {
		b.Set(d)
	}
	b.Finish()
	b.Set(1)
	lines := strings.Split(strings.TrimSpace(sb.String()), "\n")
	var pct []string
	for _, l := range lines {
		for _, f := range strings.Fields(l) {
			if strings.HasSuffix(f, "%") {
				pct = append(pct, f)
			}
		}
	}
	want := []string{"0.0%", "10.0%", "55.0%", "100.0%"}
	if strings.Join(pct, " ") != strings.Join(want, " ") {
		t.Fatalf("lines at %v, want %v:\n%s", pct, want, sb.String())
	}
	if !strings.Contains(lines[3], "[==============================]") || !strings.Contains(lines[3], "100.0 MiB / 100.0 MiB") {
		t.Errorf("final line %q", lines[3])
	}
}
