package wire

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"

	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// NetnsDir is where named namespaces are bind-mounted, as iproute2 does.
const NetnsDir = "/run/netns"

// NetnsPath returns the bind-mount path of the named namespace.
func NetnsPath(name string) string { return filepath.Join(NetnsDir, name) }

type created struct {
	tap *os.File
	ns  netns.NsHandle
	err error
}

// createInNetns creates the named namespace and, inside it, the TAP. It
// returns the TAP and a handle on the namespace (the caller closes it).
// The work runs on a goroutine of its own, locked to its thread: only
// that thread ever enters the new namespace, and if it cannot return to
// the original one it is not unlocked, so the runtime discards it with
// the goroutine instead of reusing a thread in the wrong namespace.
func createInNetns(name, tapName string) (*os.File, netns.NsHandle, error) {
	ch := make(chan created, 1)
	go func() {
		runtime.LockOSThread()
		r, restored := createLocked(name, tapName)
		if restored {
			runtime.UnlockOSThread()
		}
		ch <- r
	}()
	r := <-ch
	return r.tap, r.ns, r.err
}

func createLocked(name, tapName string) (created, bool) {
	orig, err := netns.Get()
	if err != nil {
		return created{err: fmt.Errorf("wire: current namespace: %w", err)}, true
	}
	defer orig.Close()
	if err := os.MkdirAll(NetnsDir, 0o755); err != nil {
		return created{err: fmt.Errorf("wire: %w", err)}, true
	}
	path := NetnsPath(name)
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_RDONLY, 0o444)
	if err != nil {
		return created{err: fmt.Errorf("wire: namespace %s: %w", name, err)}, true
	}
	f.Close()
	fail := func(err error) (created, bool) {
		restored := netns.Set(orig) == nil
		unix.Unmount(path, unix.MNT_DETACH)
		os.Remove(path)
		return created{err: err}, restored
	}
	if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
		return fail(fmt.Errorf("wire: unshare(CLONE_NEWNET): %w", err))
	}
	if err := unix.Mount("/proc/thread-self/ns/net", path, "none", unix.MS_BIND, ""); err != nil {
		return fail(fmt.Errorf("wire: bind-mount namespace at %s: %w", path, err))
	}
	ns, err := netns.Get()
	if err != nil {
		return fail(fmt.Errorf("wire: new namespace: %w", err))
	}
	tap, err := openTAP(tapName)
	if err != nil {
		ns.Close()
		return fail(err)
	}
	if err := netns.Set(orig); err != nil {
		tap.Close()
		ns.Close()
		unix.Unmount(path, unix.MNT_DETACH)
		os.Remove(path)
		return created{err: fmt.Errorf("wire: return to the original namespace: %w", err)}, false
	}
	return created{tap: tap, ns: ns}, true
}

// openTAP creates a TAP device (IFF_TAP|IFF_NO_PI: whole Ethernet frames,
// no packet-information header) in the calling thread's namespace and
// returns its descriptor, non-blocking so that reads go through Go's
// poller. IFF_VNET_HDR (and with it checksum and segmentation offloads)
// is not used yet: every frame is at most one MTU.
func openTAP(name string) (*os.File, error) {
	fd, err := unix.Open("/dev/net/tun", unix.O_RDWR|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
	if err != nil {
		return nil, fmt.Errorf("wire: open /dev/net/tun: %w", err)
	}
	ifr, err := unix.NewIfreq(name)
	if err == nil {
		ifr.SetUint16(unix.IFF_TAP | unix.IFF_NO_PI)
		err = unix.IoctlIfreq(fd, unix.TUNSETIFF, ifr)
	}
	if err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("wire: TUNSETIFF %s: %w", name, err)
	}
	return os.NewFile(uintptr(fd), "tap:"+name), nil
}

// deleteNetns unmounts and removes the named namespace. The namespace
// itself goes away with its last reference.
func deleteNetns(name string) error {
	path := NetnsPath(name)
	err := unix.Unmount(path, unix.MNT_DETACH)
	if rerr := os.Remove(path); rerr != nil && !errors.Is(rerr, os.ErrNotExist) {
		err = errors.Join(err, rerr)
	}
	if err != nil {
		return fmt.Errorf("wire: remove namespace %s: %w", name, err)
	}
	return nil
}

// RemoveNetns removes a named namespace left behind (for example by a
// machine that was killed): the bind mount and its file. It is for
// cleanup code; a missing namespace is not an error.
func RemoveNetns(name string) error {
	if _, err := os.Stat(NetnsPath(name)); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	return deleteNetns(name)
}
