package main

import (
	"fmt"
	"testing"
)

func TestParseArgs(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"-addr", "192.0.2.2/24", "-addr6", "2001:db8::2/64", "-gw", "192.0.2.1"}, "[192.0.2.2/24 2001:db8::2/64] [192.0.2.1] <nil>"},
		{[]string{}, "[] [] no -addr given"},
		{[]string{"-addr", "192.0.2.2"}, `[] [] invalid value "192.0.2.2" for flag -addr: netip.ParsePrefix("192.0.2.2"): no '/'`},
		{[]string{"-addr", "192.0.2.2/24", "-gw", "x"}, `[192.0.2.2/24] [] invalid value "x" for flag -gw: ParseAddr("x"): unable to parse IP`},
	} {
		cfg, err := parseArgs(c.args)
		if got := fmt.Sprintf("%v %v %v", cfg.Addrs, cfg.Gateways, err); got != c.want {
			t.Errorf("%q: %s, want %s", c.args, got, c.want)
		}
	}
}
