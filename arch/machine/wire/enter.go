package wire

import (
	"fmt"
	"runtime"

	"github.com/vishvananda/netns"
)

// InNetns runs fn on a thread inside the named network namespace (the
// peer side of a wire, or any other named one): sockets
// fn creates live there (serving them can happen on any thread). The
// thread is moved back to our namespace before it is unlocked. It must not
// simply exit locked: Go would terminate it, and a task the kernel forked
// from that thread would get its parent-death signal.
func InNetns(name string, fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := netns.Get()
		if err != nil {
			runtime.UnlockOSThread()
			errc <- err
			return
		}
		defer orig.Close()
		ns, err := netns.GetFromName(name)
		if err != nil {
			runtime.UnlockOSThread()
			errc <- err
			return
		}
		defer ns.Close()
		if err := netns.Set(ns); err != nil {
			runtime.UnlockOSThread()
			errc <- err
			return
		}
		err = fn()
		if rerr := netns.Set(orig); rerr != nil {
			// The thread stays locked (and is discarded): better than
			// returning it to the scheduler in the wrong namespace.
			errc <- fmt.Errorf("back to our namespace: %v", rerr)
			return
		}
		runtime.UnlockOSThread()
		errc <- err
	}()
	return <-errc
}
