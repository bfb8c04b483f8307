package shm

import (
	"sync/atomic"
	"testing"
	"time"
)

func mapWord(t *testing.T) (*Region, *uint32) {
	t.Helper()
	f, err := Create("futex", 1)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := Map(f, true)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r, wordAt(r.Bytes(), 0)
}

func TestFutexWaitResults(t *testing.T) {
	_, w := mapWord(t)
	atomic.StoreUint32(w, 7)
	tests := []struct {
		name    string
		val     uint32
		timeout time.Duration
		want    error
	}{
		{"mismatch, no limit", 8, -1, nil},
		{"mismatch, zero", 8, 0, nil},
		{"match, zero", 7, 0, ErrTimeout},
		{"match, short", 7, time.Millisecond, ErrTimeout},
	}
	for _, tc := range tests {
		if err := FutexWait(w, tc.val, tc.timeout); err != tc.want {
			t.Errorf("%s: err %v, want %v", tc.name, err, tc.want)
		}
	}
}

func TestFutexWaitMisaligned(t *testing.T) {
	r, _ := mapWord(t)
	if err := FutexWait(wordAt(r.Bytes(), 2), 0, 0); err == nil {
		t.Error("misaligned FutexWait succeeded")
	}
}

func TestFutexWake(t *testing.T) {
	_, w := mapWord(t)
	done := make(chan error)
	go func() {
		// No timeout: if the wake were lost this test would hang and the
		// test binary's -timeout would report it.
		for atomic.LoadUint32(w) == 0 {
			if err := FutexWait(w, 0, -1); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	atomic.StoreUint32(w, 1)
	FutexWake(w, 1)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
