package native

import (
	"fmt"
	"testing"
)

func TestResolve(t *testing.T) {
	for _, c := range []struct {
		network, address string
		want             string
	}{
		{"tcp", "192.0.2.1:80", "192.0.2.1:80 4 <nil>"},
		{"tcp", "[2001:db8::1]:443", "[2001:db8::1]:443 6 <nil>"},
		{"tcp", "[::ffff:192.0.2.1]:80", "192.0.2.1:80 4 <nil>"},
		{"tcp", ":8080", "[::]:8080 6 <nil>"},
		{"tcp4", ":8080", "0.0.0.0:8080 4 <nil>"},
		{"udp6", "[fe80::1%eth0]:7", "[fe80::1]:7 6 <nil>"},
		{"tcp4", "[2001:db8::1]:1", "invalid AddrPort 0 address [2001:db8::1]:1: not an IPv4 address"},
		{"tcp", "example.com:80", "invalid AddrPort 0 lookup example.com: no resolver in the native personality (use a literal address)"},
		{"tcp", "192.0.2.1", "invalid AddrPort 0 address 192.0.2.1: missing port in address"},
	} {
		_, family, _ := kindOf(c.network)
		ap, fam, err := resolve(c.address, family)
		if got := fmt.Sprintf("%v %d %v", ap, fam, err); got != c.want {
			t.Errorf("%s %s: %s, want %s", c.network, c.address, got, c.want)
		}
	}
	if _, _, err := kindOf("unix"); err == nil {
		t.Error("unix accepted")
	}
}
