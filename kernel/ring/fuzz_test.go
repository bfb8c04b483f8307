package ring

import (
	"encoding/binary"
	"errors"
	"testing"
)

// FuzzQueuePop lays a queue over arbitrary bytes (header and entries, as a
// hostile peer could leave them) and drives both ends. Nothing may panic,
// Pop may never return more than the capacity or the buffer, what it
// returns must be exactly the entries in memory, and the only error is
// ErrCorrupt (or ErrTimeout from a wait).
func FuzzQueuePop(f *testing.F) {
	hdr := func(tail, head uint32) []byte {
		b := make([]byte, headerBytes)
		binary.LittleEndian.PutUint32(b[offTail:], tail)
		binary.LittleEndian.PutUint32(b[offHead:], head)
		return b
	}
	f.Add(byte(3), byte(4), hdr(3, 0))
	f.Add(byte(3), byte(9), hdr(9, 0))
	f.Add(byte(2), byte(1), hdr(2, 1<<32-1))
	f.Add(byte(0), byte(1), hdr(0xdeadbeef, 0xdeadbeee))
	f.Add(byte(5), byte(40), append(hdr(1<<32-3, 1<<32-30), make([]byte, 32*16)...))

	const maxCap = 32
	mem := sharedMem(f, QueueBytes[Desc](maxCap))
	f.Fuzz(func(t *testing.T, capLog, outLen byte, data []byte) {
		capacity := 1 << (capLog % 6)
		clear(mem)
		copy(mem[:QueueBytes[Desc](capacity)], data)
		q, err := NewQueue[Desc](mem, capacity)
		if err != nil {
			t.Fatal(err)
		}
		head := q.c.head
		out := make([]Desc, int(outLen)%(2*maxCap+1))
		n, err := q.Pop(out)
		if n > capacity || n > len(out) || n < 0 {
			t.Fatalf("Pop = %d, capacity %d, buffer %d", n, capacity, len(out))
		}
		if err != nil && (n != 0 || !errors.Is(err, ErrCorrupt)) {
			t.Fatalf("Pop = %d, %v", n, err)
		}
		for i, d := range out[:n] {
			if want := q.ents[(head+uint32(i))&q.mask]; d != want {
				t.Fatalf("out[%d] = %+v, memory holds %+v", i, d, want)
			}
		}
		if err := q.Wait(past); err != nil && err != ErrTimeout && !errors.Is(err, ErrCorrupt) {
			t.Fatalf("Wait = %v", err)
		}
		// The producer end over the same hostile header.
		free := q.Free()
		if free < 0 || free > capacity {
			t.Fatalf("Free = %d, capacity %d", free, capacity)
		}
		if pushed := q.Push(out[:n]); pushed > free {
			t.Fatalf("Push = %d, Free was %d", pushed, free)
		}
		if err := q.WaitSpace(past); err != nil && err != ErrTimeout && !errors.Is(err, ErrCorrupt) {
			t.Fatalf("WaitSpace = %v", err)
		}
	})
}

// FuzzDescBuffer checks Direction.Buffer against an independent
// statement of the rule, for arbitrary layouts and descriptors.
func FuzzDescBuffer(f *testing.F) {
	f.Add(uint16(4), uint16(100), uint32(300), uint32(100))
	f.Add(uint16(4), uint16(100), uint32(400), uint32(0))
	f.Add(uint16(1), uint16(1), uint32(0), uint32(2))
	f.Add(uint16(7), uint16(3), uint32(1<<32-1), uint32(1<<32-1))
	const maxSlots, maxSlotSize = 512, 4096
	data := make([]byte, maxSlots*maxSlotSize)
	f.Fuzz(func(t *testing.T, slots, slotSize uint16, off, length uint32) {
		l := Layout{Slots: 1 + int(slots)%maxSlots, SlotSize: 1 + int(slotSize)%maxSlotSize}
		d := &Direction{data: data[:l.Slots*l.SlotSize], layout: l}
		desc := Desc{Offset: off, Len: length, Cookie: uint64(off) << 32}
		buf, err := d.Buffer(desc)
		o, n, s := uint64(off), uint64(length), uint64(l.SlotSize)
		valid := o%s == 0 && o/s < uint64(l.Slots) && n <= s
		if valid != (err == nil) {
			t.Fatalf("layout %+v desc %+v: err %v, want valid=%v", l, desc, err, valid)
		}
		if !valid {
			if buf != nil || !errors.Is(err, ErrBadDesc) {
				t.Fatalf("invalid desc: buf len %d, err %v", len(buf), err)
			}
			return
		}
		if uint64(len(buf)) != n || cap(buf) != len(buf) {
			t.Fatalf("buf len %d cap %d, want %d", len(buf), cap(buf), n)
		}
		if n > 0 && &buf[0] != &d.data[o] {
			t.Fatalf("buf does not start at offset %d", o)
		}
	})
}
