package sysfile

import (
	"slices"
	"testing"
)

// FuzzParse checks that Parse never panics and that whatever it accepts
// keeps the invariants of the package doc.
func FuzzParse(f *testing.F) {
	for _, s := range seeds() {
		f.Add([]byte(s))
	}
	f.Add([]byte("name = \"x\"\n[[server]]\nname = \"a\"\nprovides = [\"a\"]\n[[server]]\nname = \"b\"\nuses = [\"a\"]\n"))
	f.Add([]byte("name = \"x\"\n[[server]]\nlimits = { memory = \"1GiB\", cpu = 0.5 }\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		sys, err := Parse("fuzz.toml", data)
		if err != nil {
			if sys != nil {
				t.Fatalf("Parse returned a System with error %v", err)
			}
			return
		}
		provided := map[string]bool{}
		names := map[string]bool{}
		for _, srv := range sys.Servers {
			if names[srv.Name] || !serverName.MatchString(srv.Name) {
				t.Fatalf("bad or duplicate server name %q", srv.Name)
			}
			names[srv.Name] = true
			for _, e := range srv.Provides {
				if provided[e] {
					t.Fatalf("endpoint %q provided twice", e)
				}
				provided[e] = true
			}
			if srv.Heartbeat > 0 && srv.HangTimeout <= srv.Heartbeat {
				t.Fatalf("server %q: hang timeout %v <= heartbeat %v", srv.Name, srv.HangTimeout, srv.Heartbeat)
			}
		}
		for _, srv := range sys.Servers {
			for _, e := range srv.Uses {
				if !provided[e] {
					t.Fatalf("server %q uses unprovided %q", srv.Name, e)
				}
			}
			if slices.Contains(sys.Dependents(srv.Name), srv.Name) {
				t.Fatalf("%q depends on itself", srv.Name)
			}
		}
	})
}
