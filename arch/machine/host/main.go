package host

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"grailos/arch/machine/wire"
)

// Main is the machine process (cmd/machine): it builds the machine from
// its flags, starts it, hands the description and the three descriptors
// to whoever started it over the control socket (a SOCK_SEQPACKET socket
// on -ctl-fd, stdin by default), serves device-fault requests on it
// (ServeControl), and runs until SIGTERM or SIGINT, or until the control
// socket is closed (stdin EOF). It then removes the
// wire (TAP and namespace), logs the counters and returns the exit code.
func Main(args []string, stderr io.Writer) int {
	lg := log.New(stderr, "machine: ", log.LstdFlags|log.Lmicroseconds)
	cfg, ctlFD, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "machine:", err)
		return 2
	}
	cfg.Log = lg
	ctl, err := controlSocket(ctlFD)
	if err != nil {
		lg.Print(err)
		return 2
	}
	defer ctl.Close()
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	m, err := New(cfg)
	if err != nil {
		lg.Print(err)
		return 1
	}
	m.Start()
	if err := m.Handoff(ctl); err != nil {
		lg.Print(err)
		m.Close()
		return 1
	}
	eof := make(chan struct{})
	go func() {
		// After the handoff the socket carries device-fault requests
		// (control.go); a zero-length read (the peer closed it) or an
		// error ends the machine.
		m.ServeControl(ctl)
		close(eof)
	}()
	select {
	case <-ctx.Done():
		lg.Print("signal: shutting down")
	case <-eof:
		lg.Print("control socket closed: shutting down")
	}
	if err := m.Close(); err != nil {
		lg.Print(err)
		return 1
	}
	return 0
}

func parseFlags(args []string, stderr io.Writer) (Config, int, error) {
	fs := flag.NewFlagSet("machine", flag.ContinueOnError)
	fs.SetOutput(stderr)
	model := fs.String("model", DefaultModel, "device model: "+strings.Join(ModelNames(), " or "))
	name := fs.String("name", "", "instance name (default <model>-0)")
	mac := fs.String("mac", net.HardwareAddr(DefaultMAC[:]).String(), "the NIC's MAC address (burned into its EEPROM)")
	pool := fs.Int("pool", DefaultPoolSize, "DMA pool size in bytes")
	base := fs.Uint64("bus-base", DefaultBusBase, "bus address of the DMA pool")
	queue := fs.Int("queue", 0, "device channel queue entries (0: default)")
	noWire := fs.Bool("no-wire", false, "no TAP and no peer namespace")
	netns := fs.String("netns", "", "name of the peer network namespace to create (default grail-<name>-<pid>)")
	tap := fs.String("tap", wire.DefaultTAP, "TAP interface name in the peer namespace")
	addrs := fs.String("addr", wire.DefaultAddr.String(), "the peer's addresses, comma-separated prefixes")
	ctlFD := fs.Int("ctl-fd", 0, "descriptor of the SOCK_SEQPACKET control socket")
	if err := fs.Parse(args); err != nil {
		return Config{}, 0, err
	}
	if fs.NArg() != 0 {
		return Config{}, 0, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if _, err := LookupModel(*model); err != nil {
		return Config{}, 0, fmt.Errorf("-model: %w", err)
	}
	if *name == "" {
		*name = *model + "-0"
	}
	cfg := Config{Model: *model, Name: *name, PoolSize: *pool, BusBase: *base, QueueCap: *queue}
	hw, err := net.ParseMAC(*mac)
	if err != nil || len(hw) != 6 {
		return Config{}, 0, fmt.Errorf("-mac %q: not a 48-bit MAC address", *mac)
	}
	if hw[0]&1 != 0 {
		return Config{}, 0, fmt.Errorf("-mac %v is a group address", hw)
	}
	copy(cfg.MAC[:], hw)
	if !*noWire {
		wc := &wire.Config{Netns: *netns, TAP: *tap}
		if wc.Netns == "" {
			wc.Netns = fmt.Sprintf("grail-%s-%d", *name, os.Getpid())
		}
		for _, s := range strings.Split(*addrs, ",") {
			p, err := netip.ParsePrefix(strings.TrimSpace(s))
			if err != nil {
				return Config{}, 0, fmt.Errorf("-addr: %w", err)
			}
			wc.Addrs = append(wc.Addrs, p)
		}
		cfg.Wire = wc
	}
	return cfg, *ctlFD, nil
}

// controlSocket wraps fd, which must be a SOCK_SEQPACKET Unix socket.
func controlSocket(fd int) (*net.UnixConn, error) {
	typ, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TYPE)
	if err != nil {
		return nil, fmt.Errorf("control socket fd %d: %w", fd, err)
	}
	if typ != unix.SOCK_SEQPACKET {
		return nil, fmt.Errorf("control socket fd %d: type %d, want SOCK_SEQPACKET", fd, typ)
	}
	f := os.NewFile(uintptr(fd), "control")
	c, err := net.FileConn(f)
	f.Close()
	if err != nil {
		return nil, fmt.Errorf("control socket fd %d: %w", fd, err)
	}
	uc, ok := c.(*net.UnixConn)
	if !ok {
		c.Close()
		return nil, fmt.Errorf("control socket fd %d is not a Unix socket", fd)
	}
	return uc, nil
}
