package fault

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"math/rand/v2"

	"golang.org/x/arch/x86/x86asm"
)

// Insn is one decoded instruction of a donor function.
type Insn struct {
	Off   int    // offset from the function's entry
	Bytes []byte // its encoding
	Inst  x86asm.Inst
}

// Region decodes a function's straight-line entry: the instructions from
// the entry up to and including the first that does not simply continue
// with the next one (a jump, conditional or not, a return, a trap).
// Calls continue: they return. Every instruction of the region runs each
// time the function is entered, so a fault placed there fires whenever
// the function runs — a fault placed anywhere in its text mostly never
// would (most of a driver's code is error handling and setup).
func Region(code []byte) []Insn {
	var out []Insn
	for off := 0; off < len(code); {
		if bytes.HasPrefix(code[off:], endbr64) { // x86asm does not know it
			out = append(out, Insn{Off: off, Bytes: code[off : off+len(endbr64)], Inst: x86asm.Inst{Op: x86asm.NOP, Len: len(endbr64)}})
			off += len(endbr64)
			continue
		}
		in, err := x86asm.Decode(code[off:], 64)
		if err != nil || in.Len == 0 || in.Op == 0 {
			break
		}
		out = append(out, Insn{Off: off, Bytes: code[off : off+in.Len], Inst: in})
		off += in.Len
		if ends(in.Op) {
			break
		}
	}
	return out
}

func ends(op x86asm.Op) bool {
	switch op {
	case x86asm.JMP, x86asm.RET, x86asm.LRET, x86asm.UD2, x86asm.UD1, x86asm.INT, x86asm.HLT, x86asm.IRET,
		x86asm.IRETD, x86asm.IRETQ, x86asm.SYSCALL, x86asm.LJMP:
		return true
	}
	return isJcc(op)
}

func isJcc(op x86asm.Op) bool {
	switch op {
	case x86asm.JA, x86asm.JAE, x86asm.JB, x86asm.JBE, x86asm.JE, x86asm.JG, x86asm.JGE, x86asm.JL, x86asm.JLE,
		x86asm.JNE, x86asm.JNO, x86asm.JNP, x86asm.JNS, x86asm.JO, x86asm.JP, x86asm.JS:
		return true
	}
	return false
}

// endbr64 is the IBT landing pad: a NOP outside the kernel. Faults there
// would change nothing, so it is never a candidate.
var endbr64 = []byte{0xf3, 0x0f, 0x1e, 0xfa}

// Candidates returns the instructions of region that mutation mut can
// change.
func Candidates(region []Insn, mut string) []Insn {
	var out []Insn
	for _, in := range region {
		if bytes.Equal(in.Bytes, endbr64) {
			continue
		}
		var ok bool
		switch mut {
		case MutFlip, MutNop:
			ok = true
		case MutBranch:
			ok = isJcc(in.Inst.Op) && branchByte(in) >= 0
		case MutCall:
			ok = in.Inst.Op == x86asm.CALL
		case MutReg:
			ok = modrmRegReg(in.Bytes) >= 0
		}
		if ok {
			out = append(out, in)
		}
	}
	return out
}

// Mutate returns the replacement of in under mut, choosing with rng where
// there is a choice (which bit; which register).
func Mutate(in Insn, mut string, rng *rand.Rand) ([]byte, error) {
	b := bytes.Clone(in.Bytes)
	switch mut {
	case MutFlip:
		i := rng.IntN(len(b) * 8)
		b[i/8] ^= 1 << (i % 8)
	case MutNop, MutCall:
		if mut == MutCall && in.Inst.Op != x86asm.CALL {
			return nil, fmt.Errorf("fault: %v is not a call", in.Inst)
		}
		for i := range b {
			b[i] = 0x90
		}
	case MutBranch:
		i := branchByte(in)
		if i < 0 || !isJcc(in.Inst.Op) {
			return nil, fmt.Errorf("fault: %v is not a conditional branch", in.Inst)
		}
		b[i] ^= 1 // the condition codes come in pairs: cc and not-cc differ in bit 0
	case MutReg:
		i := modrmRegReg(b)
		if i < 0 {
			return nil, fmt.Errorf("fault: %v has no register-to-register operands", in.Inst)
		}
		reg := (b[i] >> 3) & 7
		other := (reg + 1 + byte(rng.IntN(7))) & 7 // any of the other seven
		b[i] = b[i]&^0x38 | other<<3
	default:
		return nil, fmt.Errorf("fault: unknown mutation %q", mut)
	}
	return b, nil
}

// branchByte is the index of a Jcc's opcode byte (0x7X short, 0x0F 0x8X
// near; the rel8/rel32 displacement follows), or -1.
func branchByte(in Insn) int {
	i := in.Inst.PCRelOff - 1
	if in.Inst.PCRel == 0 || i < 0 || i >= len(in.Bytes) {
		return -1
	}
	switch c := in.Bytes[i]; {
	case c >= 0x70 && c <= 0x7f && in.Inst.PCRel == 1:
		return i
	case c >= 0x80 && c <= 0x8f && in.Inst.PCRel == 4 && i > 0 && in.Bytes[i-1] == 0x0f:
		return i
	}
	return -1
}

// regReg are one-byte opcodes whose ModRM names two general registers
// when mod is 3: add, or, and, sub, xor, cmp, test, mov (both directions).
var regReg = map[byte]bool{0x01: true, 0x03: true, 0x09: true, 0x0b: true, 0x21: true, 0x23: true, 0x29: true,
	0x2b: true, 0x31: true, 0x33: true, 0x39: true, 0x3b: true, 0x85: true, 0x89: true, 0x8b: true}

// modrmRegReg is the index of the ModRM byte of a register-to-register
// instruction of the regReg set (optionally REX-prefixed), or -1.
func modrmRegReg(b []byte) int {
	i := 0
	if len(b) > 0 && b[0]&0xf0 == 0x40 {
		i = 1
	}
	if len(b) != i+2 || !regReg[b[i]] || b[i+1]>>6 != 3 {
		return -1
	}
	return i + 1
}

// HangBytes are what a hang fault writes at a function's entry: jmp to
// itself.
var HangBytes = []byte{0xeb, 0xfe}

// CodeSpec builds a code fault: in, at addr (the function's entry plus
// in.Off), becomes repl.
func CodeSpec(id, mut string, addr uint64, in Insn, repl []byte) Spec {
	return Spec{ID: id, Class: ClassCode, Mut: mut, Addr: addr, Orig: hex.EncodeToString(in.Bytes), New: hex.EncodeToString(repl)}
}

// HangSpec builds a hang fault at a function entry whose first bytes are
// code (at least two).
func HangSpec(id string, entry uint64, code []byte) (Spec, error) {
	if len(code) < len(HangBytes) {
		return Spec{}, fmt.Errorf("fault: function at %#x shorter than %d bytes", entry, len(HangBytes))
	}
	return Spec{ID: id, Class: ClassHang, Addr: entry, Orig: hex.EncodeToString(code[:len(HangBytes)]),
		New: hex.EncodeToString(HangBytes)}, nil
}
