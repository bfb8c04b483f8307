package socket

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"sync/atomic"
	"time"

	"grailos/kernel/ring"
	"grailos/kernel/shm"
)

// OpOpen is the request code on the net endpoint (first payload byte).
const OpOpen = 'o'

// Ops of the session messages.
const (
	OpSocket uint8 = 1 + iota
	OpBind
	OpListen
	OpAccept
	OpConnect
	OpSend
	OpSendTo
	OpRecv
	OpShutdown
	OpClose
	OpSetOpt
	OpAddr
	OpCancel
	opEnd
)

// Socket kinds and families (OpSocket's arg = kind | family<<8).
const (
	Stream   = 1
	Datagram = 2
	IPv4     = 4
	IPv6     = 6
)

// Shutdown directions (OpShutdown's arg).
const (
	ShutRead  = 1
	ShutWrite = 2
)

// Options (OpSetOpt's arg = opt<<32 | value).
const (
	OptNoDelay   = 1 // value 0/1
	OptSendBuf   = 2 // bytes
	OptRecvBuf   = 3 // bytes
	OptKeepAlive = 4 // value 0/1
	OptReuseAddr = 5 // value 0/1
)

// Limits.
const (
	HeaderSize   = 24
	AddrSize     = 20
	MaxBacklog   = 4096
	MaxSockets   = 1024
	ReplyTimeout = 10 * time.Second
)

// Layout is the ring layout of a socket session: 128 slots of 16 KiB each
// way (4 MiB of rings per session).
var Layout = ring.Layout{Slots: 128, SlotSize: 16 << 10}

// MaxPayload is the most payload one message carries.
const MaxPayload = 16<<10 - HeaderSize

const (
	statusBytes = 64
	magic       = 0x31434f53 // "SOC1"
)

// Bytes is the size of the Memory object a socket session needs.
func Bytes() int {
	n, err := ring.SessionBytes(Layout)
	if err != nil {
		panic(err)
	}
	return shm.PageRound(statusBytes + n)
}

// Header is a message header (see the package documentation).
type Header struct {
	Op     uint8
	Flags  uint8
	Status uint16
	Handle uint32
	Tag    uint32
	Len    uint32
	Arg    uint64
}

// Put writes h into b[:HeaderSize].
func (h Header) Put(b []byte) {
	_ = b[HeaderSize-1]
	b[0], b[1] = h.Op, h.Flags
	binary.LittleEndian.PutUint16(b[2:], h.Status)
	binary.LittleEndian.PutUint32(b[4:], h.Handle)
	binary.LittleEndian.PutUint32(b[8:], h.Tag)
	binary.LittleEndian.PutUint32(b[12:], h.Len)
	binary.LittleEndian.PutUint64(b[16:], h.Arg)
}

// Errors of the decoders.
var (
	ErrShort   = errors.New("socket session: message shorter than its header")
	ErrLength  = errors.New("socket session: length disagrees with the message")
	ErrAddress = errors.New("socket session: bad address")
)

// DecodeHeader reads the header of a message of exactly len(msg) bytes and
// checks its len field against it. On ErrLength the header is still
// returned, so the tag can be answered.
func DecodeHeader(msg []byte) (Header, error) {
	if len(msg) < HeaderSize {
		return Header{}, ErrShort
	}
	h := Header{
		Op:     msg[0],
		Flags:  msg[1],
		Status: binary.LittleEndian.Uint16(msg[2:]),
		Handle: binary.LittleEndian.Uint32(msg[4:]),
		Tag:    binary.LittleEndian.Uint32(msg[8:]),
		Len:    binary.LittleEndian.Uint32(msg[12:]),
		Arg:    binary.LittleEndian.Uint64(msg[16:]),
	}
	if uint64(h.Len)+HeaderSize != uint64(len(msg)) {
		return h, fmt.Errorf("%w: len %d, message %d bytes", ErrLength, h.Len, len(msg))
	}
	return h, nil
}

// PutAddr writes a into b[:AddrSize].
func PutAddr(b []byte, a netip.AddrPort) {
	_ = b[AddrSize-1]
	clear(b[:AddrSize])
	ip := a.Addr().Unmap()
	if ip.Is4() {
		b[0] = IPv4
		v := ip.As4()
		copy(b[4:], v[:])
	} else if ip.Is6() {
		b[0] = IPv6
		v := ip.As16()
		copy(b[4:], v[:])
	}
	binary.LittleEndian.PutUint16(b[2:], a.Port())
}

// DecodeAddr reads an address. The family must be 4 or 6 and every unused
// byte zero, so one address has one encoding.
func DecodeAddr(b []byte) (netip.AddrPort, error) {
	if len(b) < AddrSize {
		return netip.AddrPort{}, ErrAddress
	}
	if b[1] != 0 {
		return netip.AddrPort{}, ErrAddress
	}
	port := binary.LittleEndian.Uint16(b[2:])
	switch b[0] {
	case IPv4:
		for _, c := range b[8:AddrSize] {
			if c != 0 {
				return netip.AddrPort{}, ErrAddress
			}
		}
		return netip.AddrPortFrom(netip.AddrFrom4([4]byte(b[4:8])), port), nil
	case IPv6:
		ip := netip.AddrFrom16([16]byte(b[4:AddrSize]))
		if ip.Is4In6() {
			return netip.AddrPort{}, ErrAddress // sent as IPv4: one encoding per address
		}
		return netip.AddrPortFrom(ip, port), nil
	}
	return netip.AddrPort{}, ErrAddress
}

// DecodeSocketArg splits OpSocket's arg into kind and family.
func DecodeSocketArg(arg uint64) (kind, family int, err error) {
	kind, family = int(arg&0xff), int(arg>>8)
	if (kind != Stream && kind != Datagram) || (family != IPv4 && family != IPv6) {
		return 0, 0, fmt.Errorf("socket session: bad socket kind/family %#x", arg)
	}
	return kind, family, nil
}

// DecodeOptArg splits OpSetOpt's arg into option and value.
func DecodeOptArg(arg uint64) (opt int, value uint32) { return int(arg >> 32), uint32(arg) }

// Status is the status block.
type Status struct {
	Refused uint32
	Sockets uint32
}

type status struct{ b []byte }

func (s status) read() (Status, error) {
	if atomic.LoadUint32(s.word(0)) != magic {
		return Status{}, errors.New("socket session: bad status block")
	}
	return Status{Refused: atomic.LoadUint32(s.word(4)), Sockets: atomic.LoadUint32(s.word(8))}, nil
}

// ServerMem is the server's view of a session's memory.
type ServerMem struct {
	st   status
	Sess *ring.Session
}

// NewServerMem lays out a session in mem (a Memory object of Bytes()).
func NewServerMem(mem []byte) (*ServerMem, error) {
	if len(mem) < Bytes() {
		return nil, fmt.Errorf("socket session: %d bytes of memory, need %d", len(mem), Bytes())
	}
	sess, err := ring.NewSession(mem[statusBytes:], Layout, ring.SideA, true)
	if err != nil {
		return nil, err
	}
	s := &ServerMem{st: status{mem[:statusBytes]}, Sess: sess}
	atomic.StoreUint32(s.st.word(0), magic)
	return s, nil
}

// Refused counts a refused request.
func (s *ServerMem) Refused() { atomic.AddUint32(s.st.word(4), 1) }

// SetSockets publishes the number of open sockets.
func (s *ServerMem) SetSockets(n int) { atomic.StoreUint32(s.st.word(8), uint32(n)) }
