package devchan

import (
	"encoding/binary"
	"fmt"

	"grailos/kernel/ring"
)

// Op is the kind of a request.
type Op uint8

// Requests. OpMMIOWrite is the only posted one (as on PCI, where memory
// writes are posted and configuration and I/O writes are not): the driver
// does not wait for it and the machine sends no reply. Every other op is
// answered, in request order.
const (
	OpConfigRead Op = iota + 1
	OpConfigWrite
	OpMMIORead
	OpMMIOWrite
	OpIORead
	OpIOWrite
	OpSync // performs nothing; its reply means every earlier request is done
	opEnd
)

var opNames = [...]string{"", "config-read", "config-write", "mmio-read", "mmio-write", "io-read", "io-write", "sync"}

func (op Op) String() string {
	if op > 0 && op < opEnd {
		return opNames[op]
	}
	return fmt.Sprintf("op(%d)", uint8(op))
}

// Posted reports whether the machine performs op without replying.
func (op Op) Posted() bool { return op == OpMMIOWrite }

// Request is one access from the driver to the machine, an entry of the
// request queue (24 bytes, plain data). Every field is untrusted on the
// machine side and validated before use (Validate).
type Request struct {
	Seq    uint64 // driver's sequence number, echoed in the reply
	Value  uint64 // value to write; must fit in Size bytes
	Offset uint32 // byte offset in the BAR or in configuration space
	Op     Op
	BAR    uint8 // BAR index for MMIO and I/O; 0 for the others
	Size   uint8 // access width in bytes: 1, 2, 4 (or 8 for MMIO)
	Flags  uint8 // reserved, must be 0
}

// Reply answers a non-posted request (24 bytes, plain data).
type Reply struct {
	Seq    uint64 // the request's Seq
	Value  uint64 // value read; all-ones when Status is not StatusOK
	Status Status
	Op     Op
	_      [3]uint8
}

// Status is the outcome of a request. It is an error; StatusOK is never
// returned as one.
type Status uint32

// Statuses. All but StatusOK refuse the request: nothing was performed,
// reads return all-ones (a PCI master abort).
const (
	StatusOK        Status = iota
	StatusBadOp            // unknown op
	StatusBadBAR           // BAR not implemented, or of the wrong kind for the op
	StatusBadSize          // width not allowed for the op
	StatusBadOffset        // misaligned, or outside the BAR or configuration space
	StatusBadValue         // written value wider than the access
	StatusMalformed        // reserved fields not zero
	StatusDisabled         // the decode enable bit for the BAR is off in the command register
	StatusRefused          // the device refused the access for another reason
	statusEnd
)

var statusNames = [...]string{"ok", "bad op", "bad BAR", "bad size", "bad offset", "bad value",
	"malformed request", "decode disabled", "refused"}

func (s Status) Error() string {
	if s < statusEnd {
		return "devchan: " + statusNames[s]
	}
	return fmt.Sprintf("devchan: status %d", uint32(s))
}

// BAR describes one base address register of the function behind the
// channel. Offsets are 32-bit, so a BAR is at most 4 GiB.
type BAR struct {
	Size uint32 `json:"size"` // bytes; 0 means not implemented
	IO   bool   `json:"io"`   // port I/O rather than memory
}

// NumBARs is the number of BARs of a type-0 PCI function.
const NumBARs = 6

// Region layout (native byte order, little-endian on amd64). Each group of
// words sits on its own cache line, written by one side only:
//
//	0x000 magic      u64  "GRAILDCH"                   machine, at creation
//	0x008 version    u32                                machine, at creation
//	0x00C queueCap   u32  entries per queue             machine, at creation
//	0x010 reqOff     u32  offset of the request queue   machine, at creation
//	0x014 replyOff   u32  offset of the reply queue     machine, at creation
//	0x018 cfgSize    u32  bytes of configuration space  machine, at creation
//	0x020 bars       [6]{size u32, kind u32}            machine, at creation
//	0x080 gen        u32  attach generation             machine
//	0x084 attachAck  u32  last attach nonce served      machine (futex word)
//	0x0C0 irqLevel   u32  INTA# level, 0 or 1           machine
//	0x0C4 irqEdges   u32  rising edges so far           machine
//	0x0C8 postedErrs u32  refused posted writes         machine
//	0x0CC lastStatus u32  status of the last one        machine
//	0x0D0 lastSeq    u64  its request Seq               machine
//	0x100 attachReq  u32  attach nonce                  driver
//	0x140 doorbell   u32  1 while the machine sleeps    machine sets, driver clears (futex word)
//	0x200 request queue   ring.Queue[Request]           driver produces, machine consumes
//	      reply queue     ring.Queue[Reply]             machine produces, driver consumes
const (
	offMagic      = 0x000
	offVersion    = 0x008
	offQueueCap   = 0x00C
	offReqQueue   = 0x010
	offReplyQueue = 0x014
	offCfgSize    = 0x018
	offBARs       = 0x020
	offGen        = 0x080
	offAttachAck  = 0x084
	offIRQLevel   = 0x0C0
	offIRQEdges   = 0x0C4
	offPostedErrs = 0x0C8
	offLastStatus = 0x0CC
	offLastSeq    = 0x0D0
	offAttachReq  = 0x100
	offDoorbell   = 0x140
	headerBytes   = 0x200

	magic   = 0x4843444c49415247 // "GRAILDCH" little-endian
	version = 1

	barNone = 0
	barMem  = 1
	barIO   = 2

	// MaxQueueCap bounds the queue capacity a client accepts from a header.
	MaxQueueCap = 4096
	// DefaultQueueCap is the capacity used when Config.QueueCap is 0: enough
	// for the longest run of posted writes in the e1000 driver's init (the
	// 128 VFTA and 128 MTA clears) without the driver waiting for space.
	DefaultQueueCap = 256
	// DefaultConfigSize is conventional PCI configuration space.
	DefaultConfigSize = 256
)

func roundLine(n int) int { return (n + 63) &^ 63 }

// queueOffsets returns where the two queues start and the region bytes
// needed for queues of capacity qcap.
func queueOffsets(qcap int) (req, reply, total int) {
	req = headerBytes
	reply = req + roundLine(ring.QueueBytes[Request](qcap))
	total = reply + roundLine(ring.QueueBytes[Reply](qcap))
	return req, reply, total
}

// RegionBytes returns the size of the shared memory a channel with queues
// of capacity qcap (0 = DefaultQueueCap) needs.
func RegionBytes(qcap int) (int, error) {
	if qcap == 0 {
		qcap = DefaultQueueCap
	}
	if err := checkQueueCap(qcap); err != nil {
		return 0, err
	}
	_, _, total := queueOffsets(qcap)
	return total, nil
}

func checkQueueCap(qcap int) error {
	if qcap < 1 || qcap > MaxQueueCap || qcap&(qcap-1) != 0 {
		return fmt.Errorf("devchan: queue capacity %d not a power of two in [1, %d]", qcap, MaxQueueCap)
	}
	return nil
}

// EncodeRequest and DecodeRequest give a request's 24-byte wire form, the
// bytes a queue entry holds (for tests, fuzzing and tools; the queues
// copy typed entries).
func EncodeRequest(r Request) [24]byte {
	var b [24]byte
	binary.LittleEndian.PutUint64(b[0:], r.Seq)
	binary.LittleEndian.PutUint64(b[8:], r.Value)
	binary.LittleEndian.PutUint32(b[16:], r.Offset)
	b[20], b[21], b[22], b[23] = byte(r.Op), r.BAR, r.Size, r.Flags
	return b
}

// DecodeRequest reads a request from its wire form. It only fails on a
// short buffer; the fields are checked by Validate.
func DecodeRequest(b []byte) (Request, error) {
	if len(b) < 24 {
		return Request{}, fmt.Errorf("devchan: request of %d bytes, want 24", len(b))
	}
	return Request{
		Seq:    binary.LittleEndian.Uint64(b[0:]),
		Value:  binary.LittleEndian.Uint64(b[8:]),
		Offset: binary.LittleEndian.Uint32(b[16:]),
		Op:     Op(b[20]), BAR: b[21], Size: b[22], Flags: b[23],
	}, nil
}

// Validate checks a request against the function's BAR table and the size
// of its configuration space, as the machine does before performing it.
// It returns StatusOK or the reason for refusal.
func Validate(r Request, bars *[NumBARs]BAR, cfgSize uint32) Status {
	if r.Flags != 0 {
		return StatusMalformed
	}
	var limit uint64
	maxSize := uint8(4)
	switch r.Op {
	case OpSync:
		if r.BAR != 0 || r.Size != 0 || r.Offset != 0 || r.Value != 0 {
			return StatusMalformed
		}
		return StatusOK
	case OpConfigRead, OpConfigWrite:
		if r.BAR != 0 {
			return StatusBadBAR
		}
		limit = uint64(cfgSize)
	case OpMMIORead, OpMMIOWrite, OpIORead, OpIOWrite:
		io := r.Op == OpIORead || r.Op == OpIOWrite
		if r.BAR >= NumBARs || bars[r.BAR].Size == 0 || bars[r.BAR].IO != io {
			return StatusBadBAR
		}
		limit = uint64(bars[r.BAR].Size)
		if !io {
			maxSize = 8
		}
	default:
		return StatusBadOp
	}
	switch r.Size {
	case 1, 2, 4:
	case 8:
		if maxSize != 8 {
			return StatusBadSize
		}
	default:
		return StatusBadSize
	}
	if r.Offset%uint32(r.Size) != 0 || uint64(r.Offset)+uint64(r.Size) > limit {
		return StatusBadOffset
	}
	write := r.Op == OpConfigWrite || r.Op == OpMMIOWrite || r.Op == OpIOWrite
	switch {
	case !write && r.Value != 0:
		return StatusMalformed
	case r.Size < 8 && r.Value>>(8*r.Size) != 0:
		return StatusBadValue
	}
	return StatusOK
}
