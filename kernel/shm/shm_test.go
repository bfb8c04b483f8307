package shm

import (
	"errors"
	"os"
	"testing"

	"golang.org/x/sys/unix"
)

func TestCreateRoundsAndSeals(t *testing.T) {
	page := os.Getpagesize()
	tests := []struct {
		size, want int
	}{
		{1, page},
		{page - 1, page},
		{page, page},
		{page + 1, 2 * page},
		{5 * page, 5 * page},
	}
	for _, tc := range tests {
		f, err := Create("test", tc.size)
		if err != nil {
			t.Fatalf("Create(%d): %v", tc.size, err)
		}
		fi, err := f.Stat()
		if err != nil {
			t.Fatal(err)
		}
		if got := int(fi.Size()); got != tc.want {
			t.Errorf("Create(%d): size %d, want %d", tc.size, got, tc.want)
		}
		seals, err := Seals(f)
		if err != nil {
			t.Fatal(err)
		}
		if want := unix.F_SEAL_SHRINK | unix.F_SEAL_GROW | unix.F_SEAL_SEAL; seals != want {
			t.Errorf("Create(%d): seals %#x, want %#x", tc.size, seals, want)
		}
		f.Close()
	}
}

func TestCreateRejects(t *testing.T) {
	for _, size := range []int{0, -1, MaxSize + 1} {
		if f, err := Create("bad", size); err == nil {
			f.Close()
			t.Errorf("Create(%d) succeeded, want error", size)
		}
	}
}

func TestSealsHold(t *testing.T) {
	page := os.Getpagesize()
	f, err := Create("seals", page)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fd := int(f.Fd())
	tests := []struct {
		name string
		do   func() error
	}{
		{"shrink", func() error { return unix.Ftruncate(fd, 0) }},
		{"grow", func() error { return unix.Ftruncate(fd, int64(2*page)) }},
		{"add seal", func() error {
			_, err := unix.FcntlInt(uintptr(fd), unix.F_ADD_SEALS, unix.F_SEAL_WRITE)
			return err
		}},
	}
	for _, tc := range tests {
		if err := tc.do(); !errors.Is(err, unix.EPERM) {
			t.Errorf("%s: err %v, want EPERM", tc.name, err)
		}
	}
}

func TestMapSharesMemory(t *testing.T) {
	page := os.Getpagesize()
	f, err := Create("share", 2*page)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w, err := Map(f, true)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	ro, err := ReadOnly(f)
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	r, err := Map(ro, false)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if w.Size() != 2*page || r.Size() != 2*page || len(w.Bytes()) != 2*page {
		t.Fatalf("sizes %d %d %d, want %d", w.Size(), r.Size(), len(w.Bytes()), 2*page)
	}
	if !w.Writable() || r.Writable() {
		t.Errorf("Writable: %v %v, want true false", w.Writable(), r.Writable())
	}
	w.Bytes()[0] = 0xa5
	w.Bytes()[2*page-1] = 0x5a
	if got := r.Bytes(); got[0] != 0xa5 || got[2*page-1] != 0x5a {
		t.Errorf("read-only view sees %#x %#x, want 0xa5 0x5a", got[0], got[2*page-1])
	}
}

func TestReadOnlyCannotMapWritable(t *testing.T) {
	f, err := Create("ro", os.Getpagesize())
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ro, err := ReadOnly(f)
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	r, err := Map(ro, true)
	if err == nil {
		r.Close()
		t.Fatal("writable Map of read-only fd succeeded")
	}
	if !errors.Is(err, unix.EACCES) {
		t.Errorf("err %v, want EACCES", err)
	}
	// Also through the raw syscall: no writable shared mapping at all.
	if _, err := unix.Mmap(int(ro.Fd()), 0, os.Getpagesize(), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED); !errors.Is(err, unix.EACCES) {
		t.Errorf("raw mmap err %v, want EACCES", err)
	}
}

func TestMapRejectsUnsealed(t *testing.T) {
	page := os.Getpagesize()
	unsealed := func(flags, seals int) func(t *testing.T) *os.File {
		return func(t *testing.T) *os.File {
			fd, err := unix.MemfdCreate("unsealed", flags)
			if err != nil {
				t.Fatal(err)
			}
			if err := unix.Ftruncate(fd, int64(page)); err != nil {
				t.Fatal(err)
			}
			if seals != 0 {
				if _, err := unix.FcntlInt(uintptr(fd), unix.F_ADD_SEALS, seals); err != nil {
					t.Fatal(err)
				}
			}
			return os.NewFile(uintptr(fd), "unsealed")
		}
	}
	tests := []struct {
		name string
		open func(t *testing.T) *os.File
	}{
		{"no seals", unsealed(unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING, 0)},
		{"sealing disallowed", unsealed(unix.MFD_CLOEXEC, 0)},
		{"shrink only", unsealed(unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING, unix.F_SEAL_SHRINK)},
		{"grow only", unsealed(unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING, unix.F_SEAL_GROW)},
		{"regular file", func(t *testing.T) *os.File {
			f, err := os.CreateTemp(t.TempDir(), "plain")
			if err != nil {
				t.Fatal(err)
			}
			if err := f.Truncate(int64(page)); err != nil {
				t.Fatal(err)
			}
			return f
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := tc.open(t)
			defer f.Close()
			for _, writable := range []bool{false, true} {
				r, err := Map(f, writable)
				if err == nil {
					r.Close()
					t.Fatalf("Map(writable=%v) succeeded on unsealed object", writable)
				}
				if !errors.Is(err, ErrNotSealed) {
					t.Errorf("Map(writable=%v): err %v, want ErrNotSealed", writable, err)
				}
			}
		})
	}
}

func TestRegionCloseIdempotent(t *testing.T) {
	f, err := Create("close", 1)
	if err != nil {
		t.Fatal(err)
	}
	r, err := Map(f, true)
	if err != nil {
		t.Fatal(err)
	}
	// The mapping outlives the fd.
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	r.Bytes()[0] = 1
	for i := range 3 {
		if err := r.Close(); err != nil {
			t.Fatalf("Close #%d: %v", i, err)
		}
	}
	if b := r.Bytes(); b != nil {
		t.Errorf("Bytes after Close: len %d, want nil", len(b))
	}
}
