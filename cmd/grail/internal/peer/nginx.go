// Package peer runs real servers on the Linux side of a GrailOS machine's
// wire, in the peer namespace: Debian's nginx, serving files grail writes.
package peer

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"grailos/arch/machine/wire"
	"grailos/kernel/sandbox"
)

// Nginx is an nginx serving a folder in a network namespace.
type Nginx struct {
	Dir  string // its folder: nginx.conf, logs, www/
	Addr string // where it listens
	cmd  *exec.Cmd
	done chan struct{} // closed when nginx has exited
	stop sync.Once
}

// NginxBinary finds nginx (Debian installs it in /usr/sbin, often not on
// PATH).
func NginxBinary() (string, error) {
	if p, err := exec.LookPath("nginx"); err == nil {
		return p, nil
	}
	if _, err := os.Stat("/usr/sbin/nginx"); err == nil {
		return "/usr/sbin/nginx", nil
	}
	return "", errors.New("nginx not found (Debian package nginx; `make demo` installs it)")
}

// StartNginx starts nginx in netns listening on addr ("192.0.2.1:80"),
// serving dir/www. It dies with us (parent-death signal) and is stopped by
// Stop.
func StartNginx(netns, addr, dir string) (*Nginx, error) {
	bin, err := NginxBinary()
	if err != nil {
		return nil, err
	}
	conf := fmt.Sprintf(`# written by grail: nginx in the peer namespace %s
worker_processes 1;
pid %[2]s/nginx.pid;
error_log %[2]s/error.log warn;
events { worker_connections 64; }
http {
	access_log off;
	client_body_temp_path %[2]s/tmp/body;
	proxy_temp_path %[2]s/tmp/proxy;
	fastcgi_temp_path %[2]s/tmp/fastcgi;
	uwsgi_temp_path %[2]s/tmp/uwsgi;
	scgi_temp_path %[2]s/tmp/scgi;
	default_type application/octet-stream;
	sendfile on;
	server {
		listen %[3]s;
		root %[2]s/www;
	}
}
`, netns, dir, addr)
	for _, d := range []string{"www", "tmp"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return nil, err
		}
	}
	// nginx's workers run as nobody: they must be able to read www.
	if err := os.Chmod(dir, 0o755); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "nginx.conf"), []byte(conf), 0o644); err != nil {
		return nil, err
	}
	n := &Nginx{Dir: dir, Addr: addr, done: make(chan struct{})}
	n.cmd = exec.Command("ip", "netns", "exec", netns, bin, "-c", filepath.Join(dir, "nginx.conf"), "-g", "daemon off;")
	var stderr strings.Builder
	n.cmd.Stderr = &stderr
	n.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	if err := sandbox.StartCmd(n.cmd); err != nil {
		return nil, fmt.Errorf("starting nginx: %w", err)
	}
	var waitErr error
	go func() {
		waitErr = n.cmd.Wait()
		close(n.done)
	}()
	// Ready when it accepts, from inside the namespace.
	deadline := time.Now().Add(10 * time.Second)
	for {
		if wire.InNetns(netns, func() error {
			c, err := net.DialTimeout("tcp", addr, time.Second)
			if err == nil {
				c.Close()
			}
			return err
		}) == nil {
			return n, nil
		}
		select {
		case <-n.done:
			return nil, fmt.Errorf("nginx exited: %v: %s", waitErr, strings.TrimSpace(stderr.String()))
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			n.Stop()
			return nil, fmt.Errorf("nginx did not accept on %s within 10s", addr)
		}
	}
}

// Stop stops nginx and its worker; repeated calls wait for the first.
func (n *Nginx) Stop() {
	n.stop.Do(func() {
		syscall.Kill(-n.cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-n.done:
		case <-time.After(3 * time.Second):
			syscall.Kill(-n.cmd.Process.Pid, syscall.SIGKILL)
			<-n.done
		}
	})
}

// WriteBlob writes size bytes of the ChaCha8 stream keyed by seed to
// dir/www/name and returns their SHA-256.
func WriteBlob(dir, name, seed string, size int64) ([32]byte, error) {
	var key [32]byte
	copy(key[:], seed)
	if err := os.MkdirAll(filepath.Join(dir, "www"), 0o755); err != nil {
		return [32]byte{}, err
	}
	f, err := os.OpenFile(filepath.Join(dir, "www", name), os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o644)
	if err != nil {
		return [32]byte{}, err
	}
	h := sha256.New()
	_, err = io.CopyN(io.MultiWriter(f, h), rand.NewChaCha8(key), size)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	var sum [32]byte
	copy(sum[:], h.Sum(nil))
	return sum, err
}
