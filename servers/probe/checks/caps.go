package checks

import (
	"errors"
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"

	"grailos/kernel/abi"
	"grailos/kernel/sys"
)

func status(err error) string {
	if err == nil {
		return "ok"
	}
	var se *abi.StatusError
	if errors.As(err, &se) {
		return se.Status.String()
	}
	return outcome(err)
}

// Caps exercises capability rules from inside a task. The task is expected
// to hold "echo" (call right only) and nothing called "secret".
func Caps(t *sys.Task, report Report) {
	_, err := t.Cap("secret")
	report("boot-cap-not-granted", fmt.Sprint(err != nil))

	echo, err := t.Cap("echo")
	if err != nil {
		report("echo-cap", err.Error())
		return
	}
	typ, rights, err := t.Inspect(echo)
	report("echo-inspect", fmt.Sprintf("%v %v %s", typ, rights, status(err)))
	_, err = t.Call(echo, []byte("e-hello"), nil, 0)
	report("call-granted", status(err))
	report("listen-without-receive", status(t.Listen(echo, func(r *sys.Request) {})))

	// Forged handles: an index never used, and a plausible index with a wrong generation.
	_, err = t.Call(abi.MakeHandle(999, 1), nil, nil, 0)
	report("call-forged-index", status(err))
	_, err = t.Call(abi.Handle(uint32(echo)+1<<16), nil, nil, 0)
	report("call-forged-generation", status(err))
	_, err = t.Call(0, nil, nil, 0)
	report("call-null-handle", status(err))

	// Minting only reduces rights.
	ep, err := t.NewEndpoint()
	report("new-endpoint", status(err))
	callOnly, err := t.Mint(ep, abi.RightCall, 0)
	_, r, _ := t.Inspect(callOnly)
	report("mint-call-only", fmt.Sprintf("%v %s", r, status(err)))
	again, err := t.Mint(callOnly, abi.RightsAll, 0)
	_, r, _ = t.Inspect(again)
	report("mint-cannot-add-rights", fmt.Sprintf("%v %s", r, status(err)))
	report("listen-call-only", status(t.Listen(callOnly, func(r *sys.Request) {})))
	_, err = t.Call(echo, []byte("e"), []abi.CapRef{{Handle: callOnly, Rights: abi.RightCall}}, 0)
	report("transfer-without-grant", status(err))
	_, err = t.Call(echo, []byte("e"), []abi.CapRef{{Handle: ep, Rights: abi.RightsAll}}, 0)
	report("transfer-more-than-held", status(err))

	// Wrong object type.
	report("signal-an-endpoint", status(t.Signal(ep)))

	// Stale handle after delete; revoke removes derived copies.
	report("delete", status(t.Delete(callOnly)))
	_, err = t.Call(callOnly, nil, nil, 0)
	report("call-deleted", status(err))
	d1, _ := t.Mint(ep, abi.RightCall|abi.RightGrant, 0)
	d2, _ := t.Mint(d1, abi.RightCall, 0)
	n, err := t.Revoke(ep)
	report("revoke", fmt.Sprintf("%d %s", n, status(err)))
	_, _, err = t.Inspect(d2)
	report("inspect-revoked-grandchild", status(err))
	_, _, err = t.Inspect(ep)
	report("revoke-keeps-original", status(err))

	// Memory: read-only copies cannot be mapped writable.
	mem, err := t.NewMemory(4096)
	report("new-memory", status(err))
	rw, err := t.MapMemory(mem)
	if err == nil {
		rw.Bytes()[0] = 42
		rw.Close()
	}
	report("map-rw", status(err))
	ro, _ := t.Mint(mem, abi.RightRead, 0)
	reg, err := t.MapMemory(ro)
	report("map-read-only", status(err))
	if err == nil {
		report("read-only-sees-write", fmt.Sprint(reg.Bytes()[0]))
		report("read-only-writable", fmt.Sprint(reg.Writable()))
		reg.Close()
	}
	_, err = t.NewMemory(1 << 40)
	report("memory-too-large", status(err))
	_, err = t.NewMemory(512 << 20)
	report("memory-over-quota", status(err))

	// Notifications.
	ntf, err := t.NewNotification()
	report("new-notification", status(err))
	f, err := t.NotificationFD(ntf)
	report("notification-fd", status(err))
	if err == nil {
		t.Signal(ntf)
		var b [8]byte
		_, rerr := unix.Read(int(f.Fd()), b[:])
		report("notification-signalled", fmt.Sprintf("%d %s", b[0], outcome(rerr)))
		f.Close()
	}
	sigOnly, _ := t.Mint(ntf, abi.RightSignal, 0)
	_, err = t.NotificationFD(sigOnly)
	report("notification-fd-without-wait", status(err))

	// Requests the kernel must refuse.
	_, err = t.Raw(&abi.Message{Header: abi.Header{Op: abi.OpBoot}}, 0)
	report("raw-kernel-only-op", status(err))
	_, err = t.Raw(&abi.Message{Header: abi.Header{Op: abi.OpSpawn, Cap: echo}, Payload: []byte{1, 2, 3}}, 0)
	report("spawn-without-spawner", status(err))
	_, err = t.Raw(&abi.Message{Header: abi.Header{Op: abi.OpKill, Cap: echo}}, 0)
	report("kill-with-endpoint", status(err))

	// Events about another task: only init may write them; ours are
	// recorded about ourselves (the test reads the event log).
	report("trace-other-subject", status(t.Trace("gave-up", "echo", "forged by probe")))
}

// Trigger makes the echo server misbehave: hang (its dispatcher blocks
// forever), crash (nil-pointer dereference) or exit. The call itself ends
// with whatever the kernel reports (peer died, or a timeout for a hang).
func Trigger(t *sys.Task, mode string, report Report) {
	echo, err := t.Cap("echo")
	if err != nil {
		report(mode, err.Error())
		return
	}
	op := map[string]byte{"echo-hang": 'h', "echo-crash": 'c', "echo-exit": 'x'}[mode]
	_, err = t.Call(echo, []byte{op}, nil, 100*time.Millisecond)
	report(mode, status(err))
}

// Device opens the device granted as "nic0" and its interrupt line.
func Device(t *sys.Task, report Report) {
	dev, err := t.Cap("nic0")
	if err != nil {
		report("device-cap", err.Error())
		return
	}
	info, files, err := t.DeviceOpen(dev)
	report("device-open", fmt.Sprintf("%q %d %s", info, len(files), status(err)))
	for _, f := range files {
		f.Close()
	}
	ro, _ := t.Mint(dev, abi.RightRead, 0)
	_, _, err = t.DeviceOpen(ro)
	report("device-open-read-only", status(err))
	irq, err := t.Cap("nic0.irq")
	if err == nil {
		var f *os.File
		if f, err = t.NotificationFD(irq); err == nil {
			f.Close()
		}
	}
	report("irq-fd", status(err))
	_, err = t.Call(dev, nil, nil, 0)
	report("call-a-device", status(err))
}
