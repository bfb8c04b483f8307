package port

import (
	"encoding/json"
	"strings"
	"testing"
)

// Fake nm -g -P -A output of a runtime archive and of libc.a.
const (
	fakeRuntimeNM = `build/dde/libdde.a[netdev.o]: alloc_etherdev_mqs T 0000000000000000 0000000000000010
build/dde/libdde.a[netdev.o]: netif_rx U
build/dde/libdde.a[mem.o]: kmalloc_caches D 0000000000000000 0000000000000100
build/dde/libdde.a[mem.o]: memcpy U
build/dde/libdde.a[dummies.o]: pci_enable_wake T 0000000000000000 0000000000000010
build/dde/libdde.a[dummies.o]: pcix_get_mmrbc T 0000000000000020 0000000000000010
build/dde/libdde.a[pci.o]: pcix_get_mmrbc W 0000000000000040 0000000000000010
build/dde/libdde.a[lib.o]: jiffies C 0000000000000008 0000000000000008
`
	fakeLibcNM = `/usr/lib/x86_64-linux-gnu/libc.a[memcpy.o]: memcpy i 0000000000000000
/usr/lib/x86_64-linux-gnu/libc.a[strnlen.o]: strnlen T 0000000000000000 0000000000000010
/usr/lib/x86_64-linux-gnu/libc.a[printf.o]: vfprintf U
/usr/lib/x86_64-linux-gnu/libc.a[x.o]: alloc_etherdev_mqs T 0000000000000000 0000000000000010
`
)

func fakeProviders(t *testing.T) *Providers {
	t.Helper()
	p, err := ParseProviders(fakeRuntimeNM, fakeLibcNM)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestClassify(t *testing.T) {
	p := fakeProviders(t)
	tests := []struct {
		name string
		want Class
	}{
		{"alloc_etherdev_mqs", Implemented}, // runtime wins over libc
		{"kmalloc_caches", Implemented},
		{"jiffies", Implemented},         // common symbol
		{"pci_enable_wake", HandStubbed}, // dummies.o only
		{"pcix_get_mmrbc", Implemented},  // dummies.o and a real definition
		{"memcpy", Libc},                 // indirect function in libc, undefined in the runtime
		{"strnlen", Libc},
		{"netif_rx", Missing}, // only referenced by the runtime
		{"vfprintf", Missing}, // only referenced by libc
		{"mii_link_ok", Missing},
	}
	for _, tt := range tests {
		if got := p.Classify(tt.name); got != tt.want {
			t.Errorf("Classify(%s) = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestCoverSummaryJSON(t *testing.T) {
	p := fakeProviders(t)
	c := p.Cover("8139too", []string{"mii_link_ok", "memcpy", "alloc_etherdev_mqs", "pci_enable_wake", "memcpy", "jiffies"})
	if got, want := c.Summary(), "8139too: 5 symbols: 2 implemented, 1 hand-stubbed, 1 libc, 1 missing"; got != want {
		t.Errorf("Summary = %q, want %q", got, want)
	}
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"driver":"8139too","symbols":[{"name":"alloc_etherdev_mqs","class":"implemented"},` +
		`{"name":"jiffies","class":"implemented"},{"name":"memcpy","class":"libc"},` +
		`{"name":"mii_link_ok","class":"missing"},{"name":"pci_enable_wake","class":"hand-stubbed"}]}`
	if string(b) != want {
		t.Errorf("JSON\n got %s\nwant %s", b, want)
	}
	var back Coverage
	if err := json.Unmarshal(b, &back); err != nil || back.Summary() != c.Summary() {
		t.Errorf("round trip: %v, %q", err, back.Summary())
	}
	if err := new(Class).UnmarshalText([]byte("bogus")); err == nil || err.Error() != `unknown symbol class "bogus"` {
		t.Errorf("UnmarshalText(bogus) = %v", err)
	}
}

func TestParseProvidersErrors(t *testing.T) {
	tests := []struct{ runtime, libc, want string }{
		{"no colon here\n", "", `nm line 1 "no colon here": no file prefix (want nm -A)`},
		{"", "a.o: sym\n", `nm line 1 "a.o: sym": want name and one-letter type (nm -P)`},
	}
	for _, tt := range tests {
		_, err := ParseProviders(tt.runtime, tt.libc)
		if err == nil || err.Error() != tt.want {
			t.Errorf("ParseProviders(%q, %q) = %v, want %s", tt.runtime, tt.libc, err, tt.want)
		}
	}
}

func TestResultPrint(t *testing.T) {
	p := fakeProviders(t)
	r := &Result{Stubs: "build/dde/rtl8139/stubs_generated.c",
		Coverage: p.Cover("8139too", []string{"mii_link_ok", "memcpy", "alloc_etherdev_mqs", "pci_enable_wake", "jiffies",
			"a_rather_long_missing_symbol_name_one", "a_rather_long_missing_symbol_name_two", "a_rather_long_missing_symbol_name_three"})}
	var b strings.Builder
	r.Print(&b)
	want := `missing (4): a_rather_long_missing_symbol_name_one a_rather_long_missing_symbol_name_three
  a_rather_long_missing_symbol_name_two mii_link_ok
hand-stubbed (1): pci_enable_wake
libc (1): memcpy
implemented (2): alloc_etherdev_mqs jiffies
8139too: 8 symbols: 2 implemented, 1 hand-stubbed, 1 libc, 4 missing (stubs written to build/dde/rtl8139/stubs_generated.c)
`
	if b.String() != want {
		t.Errorf("Print:\n%s\nwant:\n%s", b.String(), want)
	}
}
