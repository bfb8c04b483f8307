package sandbox

import (
	"os"
	"testing"
)

func TestRolePrograms(t *testing.T) {
	for role := range Roles {
		prog, err := RoleProgram(role)
		if err != nil || len(prog) == 0 {
			t.Errorf("role %s: %d instructions, %v", role, len(prog), err)
		}
	}
	if _, err := RoleProgram("root"); err == nil || err.Error() != `unknown role "root" (known: [driver probe server])` {
		t.Errorf("unknown role: %v", err)
	}
	if prog, err := lockProgram(); err != nil || len(prog) == 0 {
		t.Errorf("lock program: %d instructions, %v", len(prog), err)
	}
}

// An unconfined process fails the check, naming the first property missing.
func TestVerifyRefusesUnconfined(t *testing.T) {
	err := Verify(os.Getpid(), Spec{UID: 2000001, Binary: "/bin/x"})
	st, _ := readStatus(os.Getpid())
	want := `confinement check: NoNewPrivs is "0", want "1"`
	if st["NoNewPrivs"] == "1" { // the test itself runs under no_new_privs
		want = `confinement check: Seccomp is "` + st["Seccomp"] + `", want "2"`
	}
	if err == nil || err.Error() != want {
		t.Errorf("got %v, want %s", err, want)
	}
}

func TestStartRefusesBadSpecs(t *testing.T) {
	if _, err := Start(Spec{Name: "x", Role: "nope", Binary: "/bin/true"}, nil); err == nil ||
		err.Error() != `unknown role "nope" (known: [driver probe server])` {
		t.Errorf("bad role: %v", err)
	}
	dir := t.TempDir()
	if _, err := Start(Spec{Name: "x", Role: "server", Binary: dir}, nil); err == nil ||
		err.Error() != "task x: binary "+dir+" is not an executable file" {
		t.Errorf("directory as binary: %v", err)
	}
}

func TestRSS(t *testing.T) {
	n, err := RSS(os.Getpid())
	if err != nil || n <= 0 {
		t.Errorf("RSS of self: %d, %v", n, err)
	}
}
