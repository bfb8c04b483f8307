//go:build dde

package linux

import (
	"strings"
	"testing"
	"unsafe"
)

// A DMA map inside the pool gives pool bus base + offset; a map of
// memory outside the pool is refused, logged and counted.
func TestDMAMapOutsidePoolRefused(t *testing.T) {
	var log []string
	r, pool, _ := newTestRuntime(t, &log)
	base := r.Stats().KmallocLive // the runtime's own: the pci_dev

	p := r.kmalloc(100)
	off := uintptr(p) - uintptr(unsafe.Pointer(&pool[0]))
	if p == nil || off >= uintptr(len(pool)) {
		t.Fatalf("kmalloc gave %p, outside the pool at %p", p, &pool[0])
	}
	bus, err := r.dmaMap(p, 100)
	if err != nil || bus != testBus+uint64(off) {
		t.Errorf("map of pool memory: bus %#x, %v; want %#x", bus, err, testBus+uint64(off))
	}
	r.dmaUnmap(bus, 100)
	r.kfree(p)

	outside := make([]byte, 64)
	if bus, err := r.dmaMap(unsafe.Pointer(&outside[0]), len(outside)); err == nil {
		t.Errorf("map of Go heap memory succeeded: bus %#x", bus)
	}
	// Straddling the pool's end is outside too.
	if _, err := r.dmaMap(unsafe.Pointer(&pool[len(pool)-32]), 64); err == nil {
		t.Error("map across the pool's end succeeded")
	}
	st := r.Stats()
	if st.DMARefused != 2 || st.DMAMapsLive != 0 || st.KmallocLive != base {
		t.Errorf("stats: refused %d, maps live %d, kmalloc live %d; want 2, 0, %d", st.DMARefused, st.DMAMapsLive, st.KmallocLive, base)
	}
	refusals := 0
	for _, l := range log {
		if strings.HasPrefix(l, "dde: DMA map of ") && strings.HasSuffix(l, "refused: outside the DMA pool") {
			refusals++
		}
	}
	if refusals != 2 {
		t.Errorf("log has %d refusal lines, want 2: %q", refusals, log)
	}
}

// kmalloc hands out pool memory, zeroed, and reuses what kfree returned.
func TestKmallocFromPool(t *testing.T) {
	var log []string
	r, pool, _ := newTestRuntime(t, &log)
	base := uintptr(unsafe.Pointer(&pool[0]))
	before := r.Stats()
	var ps []unsafe.Pointer
	for _, n := range []int{1, 32, 33, 2048, 2049, 4096, 20000} {
		p := r.kmalloc(n)
		if p == nil || uintptr(p) < base || uintptr(p)+uintptr(n) > base+uintptr(len(pool)) {
			t.Fatalf("kmalloc(%d) = %p, not inside the pool", n, p)
		}
		for i, b := range unsafe.Slice((*byte)(p), n) {
			if b != 0 {
				t.Fatalf("kmalloc(%d): byte %d is %#x", n, i, b)
			}
		}
		ps = append(ps, p)
	}
	if st := r.Stats(); st.KmallocLive != before.KmallocLive+len(ps) {
		t.Errorf("%d live, want %d", st.KmallocLive, before.KmallocLive+len(ps))
	}
	for _, p := range ps {
		r.kfree(p)
	}
	// Slab pages stay with their size class; whole-page blocks go back.
	if st := r.Stats(); st.KmallocLive != before.KmallocLive || st.PoolPagesUsed > before.PoolPagesUsed+3 {
		t.Errorf("after kfree: %d live (want %d), %d pages used (had %d)", st.KmallocLive, before.KmallocLive,
			st.PoolPagesUsed, before.PoolPagesUsed)
	}
}
