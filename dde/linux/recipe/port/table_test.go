package port

import (
	"bytes"
	"testing"
)

func fakeReport(t *testing.T) *Report {
	p := fakeProviders(t)
	drivers := []Driver{
		{Name: "8139too", Dir: "drivers/net/ethernet/realtek", Sources: []string{"drivers/net/ethernet/realtek/8139too.c"},
			Undefined: []string{"alloc_etherdev_mqs", "memcpy", "mii_link_ok", "pci_enable_wake"}},
		{Name: "ne2k-pci", Companions: []string{"8390"}, Dir: "drivers/net/ethernet/8390",
			Sources:   []string{"drivers/net/ethernet/8390/ne2k-pci.c", "drivers/net/ethernet/8390/8390.c"},
			Undefined: []string{"alloc_etherdev_mqs", "jiffies", "strnlen"}},
		{Name: "r8169", Dir: "drivers/net/ethernet/realtek", Sources: []string{"a.c", "b.c", "c.c"},
			Undefined: []string{"jiffies", "mii_link_ok", "netif_rx", "rtnl_lock"}},
		{Name: "broken", Dir: "drivers/net/ethernet/x", Sources: []string{"x.c"},
			Error: "drivers/net/ethernet/x/x.c:3:10: fatal error: asm/sparc.h: No such file or directory"},
		{Name: "huge", Dir: "drivers/net/ethernet/h", Sources: []string{"h.c"}, Pending: true},
	}
	return MakeReport(p, drivers, []string{"defxx", "skfp"})
}

func TestReportTable(t *testing.T) {
	var b bytes.Buffer
	if err := fakeReport(t).Table(&b); err != nil {
		t.Fatal(err)
	}
	want := `DRIVER           FILES  SYMBOLS  IMPLEMENTED  HAND-STUBBED  LIBC  MISSING
ne2k-pci(+8390)      2        3            2             0     1        0
8139too              1        4            1             1     1        1
r8169                3        4            1             0     0        3

do not compile in DDE mode (1):
  broken: drivers/net/ethernet/x/x.c:3:10: fatal error: asm/sparc.h: No such file or directory

not compiled within the time budget, run again to continue (1): huge

not in Debian's configuration, not compiled (2): defxx skfp

most wanted missing symbols (drivers referencing them): mii_link_ok 2, netif_rx 1, rtnl_lock 1

5 PCI NIC drivers: 3 compile, 1 do not, 1 pending; 1 fully covered (0 missing): ne2k-pci(+8390); union of 8 symbols: 2 implemented, 1 hand-stubbed, 2 libc, 3 missing
`
	if got := b.String(); got != want {
		t.Errorf("table:\n%s\nwant:\n%s", got, want)
	}
}

func TestReportJSON(t *testing.T) {
	r := fakeReport(t)
	r.Kernel, r.Tarball, r.Runtime = "6.1.192", "abc", "build/dde/libdde.a"
	var b bytes.Buffer
	if err := r.JSON(&b); err != nil {
		t.Fatal(err)
	}
	want := `{
  "kernel": "6.1.192",
  "tarball_sha256": "abc",
  "runtime": "build/dde/libdde.a",
  "drivers": [
    {
      "driver": "ne2k-pci(+8390)",
      "dir": "drivers/net/ethernet/8390",
      "files": 2,
      "symbols": 3,
      "implemented": 2,
      "hand_stubbed": 0,
      "libc": 1,
      "missing": 0,
      "missing_symbols": []
    },
    {
      "driver": "8139too",
      "dir": "drivers/net/ethernet/realtek",
      "files": 1,
      "symbols": 4,
      "implemented": 1,
      "hand_stubbed": 1,
      "libc": 1,
      "missing": 1,
      "missing_symbols": [
        "mii_link_ok"
      ]
    },
    {
      "driver": "r8169",
      "dir": "drivers/net/ethernet/realtek",
      "files": 3,
      "symbols": 4,
      "implemented": 1,
      "hand_stubbed": 0,
      "libc": 0,
      "missing": 3,
      "missing_symbols": [
        "mii_link_ok",
        "netif_rx",
        "rtnl_lock"
      ]
    }
  ],
  "not_compiled": [
    {
      "driver": "broken",
      "dir": "drivers/net/ethernet/x",
      "error": "drivers/net/ethernet/x/x.c:3:10: fatal error: asm/sparc.h: No such file or directory"
    }
  ],
  "not_configured": [
    "defxx",
    "skfp"
  ],
  "pending": [
    "huge"
  ],
  "most_wanted": [
    {
      "name": "mii_link_ok",
      "drivers": 2
    },
    {
      "name": "netif_rx",
      "drivers": 1
    },
    {
      "name": "rtnl_lock",
      "drivers": 1
    }
  ],
  "totals": {
    "drivers": 5,
    "compiled": 3,
    "not_compiled": 1,
    "pending": 1,
    "fully_covered": [
      "ne2k-pci(+8390)"
    ],
    "union": 8,
    "implemented": 2,
    "hand_stubbed": 1,
    "libc": 2,
    "missing": 3
  }
}
`
	if got := b.String(); got != want {
		t.Errorf("JSON:\n%s\nwant:\n%s", got, want)
	}
}

func TestFirstError(t *testing.T) {
	tests := []struct{ log, want string }{
		{"In file included from x.h:1,\n/w/build/donors/t/drivers/net/a.c:3:1: error: unknown type name 'u128'\n/w/b.c:1: error: later\n",
			"drivers/net/a.c:3:1: error: unknown type name 'u128'"},
		{"a.c:1:10: fatal error: asm/sparc.h: No such file or directory\n", "a.c:1:10: fatal error: asm/sparc.h: No such file or directory"},
		{"warning only\n", "exit status 1"},
	}
	for _, tt := range tests {
		if got := FirstError(tt.log, errString("exit status 1")); got != tt.want {
			t.Errorf("FirstError(%q) = %q, want %q", tt.log, got, tt.want)
		}
	}
}

type errString string

func (e errString) Error() string { return string(e) }
