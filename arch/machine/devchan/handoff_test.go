package devchan

import (
	"encoding/json"
	"net"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func seqpacketPair(t *testing.T) (*net.UnixConn, *net.UnixConn) {
	t.Helper()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	var conns [2]*net.UnixConn
	for i, fd := range fds {
		f := os.NewFile(uintptr(fd), "seqpacket")
		c, err := net.FileConn(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		conns[i] = c.(*net.UnixConn)
		t.Cleanup(func() { conns[i].Close() })
	}
	return conns[0], conns[1]
}

func testDescription() Description {
	size, _ := RegionBytes(0)
	return Description{
		Name: "e1000-0", Model: "82540EM", VendorID: 0x8086, DeviceID: 0x100E, SubsysVendorID: 0x8086,
		SubsystemID: 0x001E, Revision: 2, Class: 0x020000, InterruptPin: 1, MAC: "52:54:00:12:34:56",
		BARs: testBARs, ConfigSize: 256, QueueCap: DefaultQueueCap, ChannelSize: size,
		PoolSize: 16 << 20, BusBase: 0x1000_0000, Netns: "grail-e1000-0-1", PeerAddrs: []string{"192.0.2.1/24"},
	}
}

func inode(t *testing.T, f *os.File) uint64 {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		t.Fatal(err)
	}
	return st.Ino
}

func TestHandoff(t *testing.T) {
	c := newChannel(t, 0)
	a, b := seqpacketPair(t)
	pool, err := os.CreateTemp(t.TempDir(), "pool")
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	d := testDescription()
	if err := SendHandoff(a, &d, c.file, pool, c.irq); err != nil {
		t.Fatal(err)
	}
	h, err := ReceiveHandoff(b)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	if !reflect.DeepEqual(h.Description, d) {
		t.Errorf("description\n%+v\nwant\n%+v", h.Description, d)
	}
	for _, p := range []struct {
		name     string
		got, src *os.File
	}{{"channel", h.Channel, c.file}, {"pool", h.Pool, pool}, {"irq", h.IRQ, c.irq}} {
		if inode(t, p.got) != inode(t, p.src) {
			t.Errorf("%s: received a different object", p.name)
		}
	}
	// The received eventfd works: an edge signalled by the server wakes
	// a waiter on the received descriptor.
	q, err := OpenIRQ(h.IRQ)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	c.srv.SetIRQ(true)
	if n, err := q.Wait(time.Time{}); err != nil || n != 1 {
		t.Errorf("irq through the handoff: %d, %v", n, err)
	}
}

func TestHandoffRejects(t *testing.T) {
	c := newChannel(t, 0)
	good := testDescription()
	tests := []struct {
		name string
		msg  string
		fds  []*os.File
		want string
	}{
		{"two descriptors", `{}`, []*os.File{c.file, c.irq}, "2 descriptors, want 3"},
		{"no descriptors", `{}`, nil, "0 descriptors, want 3"},
		{"bad json", `{"name":`, []*os.File{c.file, c.file, c.irq}, "unexpected EOF"},
		{"unknown field", `{"name":"x","frob":1}`, []*os.File{c.file, c.file, c.irq}, `unknown field "frob"`},
		{"trailing data", mustJSON(t, good) + `{}`, []*os.File{c.file, c.file, c.irq}, "trailing data"},
		{"bad queue", strings.Replace(mustJSON(t, good), `"queue_cap":256`, `"queue_cap":3`, 1), []*os.File{c.file, c.file, c.irq}, "queue capacity 3"},
		{"pool wraps", strings.Replace(mustJSON(t, good), `"bus_base":268435456`, `"bus_base":18446744073709551000`, 1), []*os.File{c.file, c.file, c.irq}, "wraps"},
		{"small channel", strings.Replace(mustJSON(t, good), `"channel_size":13184`, `"channel_size":100`, 1), []*os.File{c.file, c.file, c.irq}, "channel of 100 bytes"},
	}
	for _, tc := range tests {
		a, b := seqpacketPair(t)
		var fds []int
		for _, f := range tc.fds {
			fds = append(fds, int(f.Fd()))
		}
		var oob []byte
		if len(fds) > 0 {
			oob = unix.UnixRights(fds...)
		}
		if _, _, err := a.WriteMsgUnix([]byte(tc.msg), oob, nil); err != nil {
			t.Fatal(err)
		}
		if h, err := ReceiveHandoff(b); err == nil || !strings.Contains(err.Error(), tc.want) {
			if h != nil {
				h.Close()
			}
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
	// SendHandoff checks its own description too.
	a, _ := seqpacketPair(t)
	bad := good
	bad.Name = ""
	if err := SendHandoff(a, &bad, c.file, c.file, c.irq); err == nil {
		t.Error("SendHandoff sent a description without a name")
	}
}

func mustJSON(t *testing.T, d Description) string {
	t.Helper()
	b, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// FuzzDecodeDescription: whatever crosses the socket, decoding either
// fails or yields a description that passes its own checks.
func FuzzDecodeDescription(f *testing.F) {
	b, _ := json.Marshal(testDescription())
	f.Add(b)
	f.Add([]byte(`{"name":"x","queue_cap":1,"config_size":64,"pool_size":1,"channel_size":99999}`))
	f.Add([]byte(`{"bars":[{"size":3}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := DecodeDescription(b)
		if err != nil {
			return
		}
		if err := d.check(); err != nil {
			t.Fatalf("decoded an invalid description: %v", err)
		}
		if _, err := RegionBytes(d.QueueCap); err != nil {
			t.Fatal(err)
		}
	})
}
