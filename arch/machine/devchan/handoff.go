package devchan

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"

	"golang.org/x/sys/unix"
)

// Description says what the machine hands over: one PCI function, its
// channel, its DMA pool and its interrupt line. It travels as JSON in the
// handoff message; the kernel turns it into Device and IRQ capabilities.
type Description struct {
	Name           string       `json:"name"`  // instance name, e.g. "e1000-0"
	Model          string       `json:"model"` // e.g. "82540EM"
	VendorID       uint16       `json:"vendor_id"`
	DeviceID       uint16       `json:"device_id"`
	SubsysVendorID uint16       `json:"subsys_vendor_id"`
	SubsystemID    uint16       `json:"subsystem_id"`
	Revision       uint8        `json:"revision"`
	Class          uint32       `json:"class"` // class<<16 | subclass<<8 | prog-if
	InterruptPin   uint8        `json:"interrupt_pin"`
	MAC            string       `json:"mac,omitempty"`
	BARs           [NumBARs]BAR `json:"bars"`
	ConfigSize     int          `json:"config_size"`
	QueueCap       int          `json:"queue_cap"`
	ChannelSize    int          `json:"channel_size"` // bytes of the channel memory object
	PoolSize       uint64       `json:"pool_size"`    // bytes of the DMA pool memory object
	BusBase        uint64       `json:"bus_base"`     // bus address of the pool's first byte
	Netns          string       `json:"netns,omitempty"`
	PeerAddrs      []string     `json:"peer_addrs,omitempty"`
}

// MaxDescription bounds the JSON of a handoff message.
const MaxDescription = 8 << 10

// Handoff is a received handoff: the description and the three
// descriptors, in the order they travel: channel memfd, pool memfd, IRQ
// eventfd.
type Handoff struct {
	Description
	Channel, Pool, IRQ *os.File
}

// Close closes the three descriptors.
func (h *Handoff) Close() {
	for _, f := range []*os.File{h.Channel, h.Pool, h.IRQ} {
		if f != nil {
			f.Close()
		}
	}
}

func (d *Description) check() error {
	switch {
	case d.Name == "":
		return errors.New("no name")
	case d.ConfigSize < 64 || d.ConfigSize > 4096:
		return fmt.Errorf("config size %d", d.ConfigSize)
	case checkQueueCap(d.QueueCap) != nil:
		return fmt.Errorf("queue capacity %d", d.QueueCap)
	case d.PoolSize == 0 || d.PoolSize > 1<<32:
		return fmt.Errorf("pool size %d", d.PoolSize)
	case d.BusBase+d.PoolSize < d.BusBase:
		return fmt.Errorf("pool at %#x+%#x wraps", d.BusBase, d.PoolSize)
	}
	if len(d.Name) > 64 || len(d.Model) > 64 || len(d.MAC) > 64 || d.Netns != "" && len(d.Netns) > 64 || len(d.PeerAddrs) > 16 {
		return errors.New("oversized names")
	}
	for i, b := range d.BARs {
		if b.Size&(b.Size-1) != 0 {
			return fmt.Errorf("BAR%d size %#x is not a power of two", i, b.Size)
		}
	}
	if need, _ := RegionBytes(d.QueueCap); d.ChannelSize < need {
		return fmt.Errorf("channel of %d bytes, queues need %d", d.ChannelSize, need)
	}
	return nil
}

// DecodeDescription parses and checks the JSON of a handoff message:
// no unknown fields, no trailing data, and values that make sense.
func DecodeDescription(b []byte) (Description, error) {
	var d Description
	if len(b) > MaxDescription {
		return d, fmt.Errorf("description of %d bytes", len(b))
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&d); err != nil {
		return Description{}, err
	}
	if dec.More() {
		return Description{}, errors.New("trailing data after the description")
	}
	if err := d.check(); err != nil {
		return Description{}, err
	}
	return d, nil
}

// SendHandoff sends d with the three descriptors as one message on a
// SOCK_SEQPACKET Unix socket (SCM_RIGHTS). The descriptors stay open in
// the sender.
func SendHandoff(conn *net.UnixConn, d *Description, channel, pool, irq *os.File) error {
	if err := d.check(); err != nil {
		return fmt.Errorf("devchan: handoff: %w", err)
	}
	b, err := json.Marshal(d)
	if err != nil {
		return err
	}
	if len(b) > MaxDescription {
		return fmt.Errorf("devchan: handoff: description of %d bytes", len(b))
	}
	fds := make([]int, 0, 3)
	defer func() {
		for _, fd := range fds {
			unix.Close(fd)
		}
	}()
	for i, f := range []*os.File{channel, pool, irq} {
		if f == nil {
			return fmt.Errorf("devchan: handoff: descriptor %d missing", i)
		}
		fd, err := dupFD(f)
		if err != nil {
			return fmt.Errorf("devchan: handoff: descriptor %d: %w", i, err)
		}
		fds = append(fds, fd)
	}
	_, _, err = conn.WriteMsgUnix(b, unix.UnixRights(fds...), nil)
	if err != nil {
		return fmt.Errorf("devchan: handoff: %w", err)
	}
	return nil
}

// ReceiveHandoff reads one handoff message. It checks the message before
// returning any descriptor: exactly three, a description that parses and
// makes sense; on failure every received descriptor is closed.
func ReceiveHandoff(conn *net.UnixConn) (*Handoff, error) {
	buf := make([]byte, MaxDescription+1)
	oob := make([]byte, unix.CmsgSpace(4*4))
	n, oobn, flags, _, err := conn.ReadMsgUnix(buf, oob)
	if err != nil {
		return nil, fmt.Errorf("devchan: handoff: %w", err)
	}
	fds, perr := parseRights(oob[:oobn])
	h := &Handoff{}
	files := make([]*os.File, len(fds))
	for i, fd := range fds {
		files[i] = os.NewFile(uintptr(fd), "handoff")
	}
	fail := func(err error) (*Handoff, error) {
		for _, f := range files {
			f.Close()
		}
		return nil, fmt.Errorf("devchan: handoff: %w", err)
	}
	switch {
	case perr != nil:
		return fail(perr)
	case flags&(unix.MSG_TRUNC|unix.MSG_CTRUNC) != 0 || n > MaxDescription:
		return fail(errors.New("message truncated"))
	case n == 0:
		return fail(errors.New("connection closed"))
	case len(files) != 3:
		return fail(fmt.Errorf("%d descriptors, want 3", len(files)))
	}
	if h.Description, err = DecodeDescription(buf[:n]); err != nil {
		return fail(err)
	}
	h.Channel, h.Pool, h.IRQ = files[0], files[1], files[2]
	return h, nil
}

func parseRights(oob []byte) ([]int, error) {
	if len(oob) == 0 {
		return nil, nil
	}
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return nil, err
	}
	var fds []int
	for i := range msgs {
		r, err := unix.ParseUnixRights(&msgs[i])
		if err != nil {
			continue
		}
		fds = append(fds, r...)
	}
	return fds, nil
}

// dupFD returns a close-on-exec duplicate of f's descriptor. Unlike
// File.Fd it leaves f's blocking mode alone (Fd would clear O_NONBLOCK on
// the open file description, which the eventfd shares with the driver).
func dupFD(f *os.File) (int, error) {
	sc, err := f.SyscallConn()
	if err != nil {
		return -1, err
	}
	nfd, dupErr := -1, error(nil)
	if err := sc.Control(func(fd uintptr) { nfd, dupErr = unix.FcntlInt(fd, unix.F_DUPFD_CLOEXEC, 0) }); err != nil {
		return -1, err
	}
	return nfd, dupErr
}
