package proctrace

import (
	"bytes"
	"encoding/binary"
	"fmt"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
)

// The record the programs write to the ring, in host byte order:
//
//	offset 0  u32 kind (kindExec, kindExit)
//	offset 4  u32 tgid
//	offset 8  u64 bpf_ktime_get_ns()
//	offset 16 char comm[16] (NUL-padded)
//
// It is built on the BPF stack at [r10-recordSize, r10).
const (
	kindExec   = 1
	kindExit   = 2
	recordSize = 32
	commSize   = 16
)

// kindName maps a record's kind to Event.Kind.
var kindName = map[uint32]string{kindExec: "exec", kindExit: "exit"}

// decode parses one ring-buffer record.
func decode(b []byte) (Event, error) {
	if len(b) != recordSize {
		return Event{}, fmt.Errorf("proctrace: record of %d bytes, want %d", len(b), recordSize)
	}
	kind, ok := kindName[binary.NativeEndian.Uint32(b[0:])]
	if !ok {
		return Event{}, fmt.Errorf("proctrace: record of unknown kind %d", binary.NativeEndian.Uint32(b[0:]))
	}
	comm := b[16:recordSize]
	if i := bytes.IndexByte(comm, 0); i >= 0 {
		comm = comm[:i]
	}
	return Event{
		Kind: kind,
		Pid:  int(binary.NativeEndian.Uint32(b[4:])),
		Comm: string(comm),
		Mono: int64(binary.NativeEndian.Uint64(b[8:])),
	}, nil
}

// program returns the instructions of the program for one tracepoint. It
// reads nothing from its context (r1), so it is the same for any kernel.
func program(kind uint32, ring, lost *ebpf.Map) asm.Instructions {
	const (
		rec  = -recordSize // the record
		key  = rec - 4     // the lost counter's key, u32 0
		done = "done"
	)
	insns := asm.Instructions{
		asm.FnGetCurrentPidTgid.Call(), // r0 = tgid<<32 | pid
		asm.Mov.Reg(asm.R6, asm.R0),
		asm.RSh.Imm(asm.R6, 32), // r6 = tgid
	}
	if kind == kindExit {
		insns = append(insns,
			asm.Mov.Reg32(asm.R1, asm.R0), // r1 = pid (zero-extended)
			asm.JNE.Reg(asm.R1, asm.R6, done),
		)
	}
	return append(insns,
		asm.StoreImm(asm.RFP, rec+0, int64(kind), asm.Word),
		asm.StoreMem(asm.RFP, rec+4, asm.R6, asm.Word),
		asm.FnKtimeGetNs.Call(),
		asm.StoreMem(asm.RFP, rec+8, asm.R0, asm.DWord),
		asm.Mov.Reg(asm.R1, asm.RFP),
		asm.Add.Imm(asm.R1, rec+16),
		asm.Mov.Imm(asm.R2, commSize),
		asm.FnGetCurrentComm.Call(),

		asm.LoadMapPtr(asm.R1, ring.FD()),
		asm.Mov.Reg(asm.R2, asm.RFP),
		asm.Add.Imm(asm.R2, rec),
		asm.Mov.Imm(asm.R3, recordSize),
		asm.Mov.Imm(asm.R4, 0), // flags: let the kernel decide when to wake the reader
		asm.FnRingbufOutput.Call(),
		asm.JEq.Imm(asm.R0, 0, done),

		// No room in the ring: count the loss.
		asm.StoreImm(asm.RFP, key, 0, asm.Word),
		asm.LoadMapPtr(asm.R1, lost.FD()),
		asm.Mov.Reg(asm.R2, asm.RFP),
		asm.Add.Imm(asm.R2, key),
		asm.FnMapLookupElem.Call(),
		asm.JEq.Imm(asm.R0, 0, done),
		asm.Mov.Imm(asm.R1, 1),
		asm.StoreXAdd(asm.R0, asm.R1, asm.DWord),

		asm.Mov.Imm(asm.R0, 0).WithSymbol(done),
		asm.Return(),
	)
}
