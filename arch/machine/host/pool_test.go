package host

import (
	"bytes"
	"errors"
	"testing"

	"grailos/kernel/shm"
)

func TestPoolIOMMU(t *testing.T) {
	p, err := NewPool(8192, DefaultBusBase)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	end := uint64(DefaultBusBase + 8192)
	tests := []struct {
		name  string
		addr  uint64
		n     int
		write bool
		err   string
	}{
		{"first byte", DefaultBusBase, 1, false, ""},
		{"whole pool", DefaultBusBase, 8192, true, ""},
		{"last byte", end - 1, 1, true, ""},
		{"empty at the end", end, 0, false, ""},
		{"offset 0 (not a bus address)", 0, 16, false, "iommu: DMA read of 16 bytes at 0x0 outside the pool [0x10000000, 0x10002000)"},
		{"just below", DefaultBusBase - 1, 1, true, "iommu: DMA write of 1 bytes at 0xfffffff outside the pool [0x10000000, 0x10002000)"},
		{"straddles the end", end - 8, 16, false, "iommu: DMA read of 16 bytes at 0x10001ff8 outside the pool [0x10000000, 0x10002000)"},
		{"past the end", end, 1, true, "iommu: DMA write of 1 bytes at 0x10002000 outside the pool [0x10000000, 0x10002000)"},
		{"wraps", ^uint64(0) - 3, 16, false, "iommu: DMA read of 16 bytes at 0xfffffffffffffffc outside the pool [0x10000000, 0x10002000)"},
	}
	refused := uint64(0)
	for _, tc := range tests {
		b := make([]byte, tc.n)
		for i := range b {
			b[i] = byte(i + 1)
		}
		var err error
		if tc.write {
			err = p.Write(tc.addr, b)
		} else {
			err = p.Read(tc.addr, b)
		}
		if tc.err == "" {
			if err != nil {
				t.Errorf("%s: %v", tc.name, err)
			}
			continue
		}
		refused++
		var de *DMAError
		if !errors.As(err, &de) || err.Error() != tc.err || de.Addr != tc.addr || de.Len != tc.n || de.Write != tc.write {
			t.Errorf("%s: %v, want %s", tc.name, err, tc.err)
		}
	}
	if p.Refused() != refused {
		t.Errorf("refused %d, want %d", p.Refused(), refused)
	}
	// The pool is shared memory: a second mapping (the driver's) sees the
	// device's writes at offset = bus address - base.
	if err := p.Write(DefaultBusBase+100, []byte("dma")); err != nil {
		t.Fatal(err)
	}
	r, err := shm.Map(p.File(), true)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if got := r.Bytes()[100:103]; !bytes.Equal(got, []byte("dma")) {
		t.Errorf("driver sees %q", got)
	}
	copy(r.Bytes()[200:], "drv")
	got := make([]byte, 3)
	if err := p.Read(DefaultBusBase+200, got); err != nil || string(got) != "drv" {
		t.Errorf("device reads %q, %v", got, err)
	}
}

func TestNewPoolRejects(t *testing.T) {
	for _, tc := range []struct {
		size int
		base uint64
	}{
		{0, DefaultBusBase},
		{-1, DefaultBusBase},
		{4096, DefaultBusBase + 1},
		{8192, ^uint64(0) &^ 0xFFF},
	} {
		if p, err := NewPool(tc.size, tc.base); err == nil {
			p.Close()
			t.Errorf("NewPool(%d, %#x) succeeded", tc.size, tc.base)
		}
	}
}
