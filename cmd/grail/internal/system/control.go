package system

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sort"
	"sync"

	"grailos/kernel"
)

// Request is one control-socket request (a JSON line).
type Request struct {
	Cmd  string `json:"cmd"` // ps, kill, logs, events
	Name string `json:"name,omitempty"`
}

// Response is the answer (a JSON line).
type Response struct {
	Error  string            `json:"error,omitempty"`
	Tasks  []kernel.TaskInfo `json:"tasks,omitempty"`
	Lines  []string          `json:"lines,omitempty"`
	Events []kernel.Event    `json:"events,omitempty"`
	System string            `json:"system,omitempty"`
}

type controlServer struct {
	l    net.Listener
	k    *kernel.Kernel
	wg   sync.WaitGroup
	path string
}

func serveControl(path string, k *kernel.Kernel) (*controlServer, error) {
	os.Remove(path)
	l, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("control socket: %w", err)
	}
	os.Chmod(path, 0o600)
	cs := &controlServer{l: l, k: k, path: path}
	cs.wg.Add(1)
	go cs.accept()
	return cs, nil
}

func (cs *controlServer) accept() {
	defer cs.wg.Done()
	for {
		c, err := cs.l.Accept()
		if err != nil {
			return
		}
		go cs.handle(c)
	}
}

func (cs *controlServer) handle(c net.Conn) {
	defer c.Close()
	sc := bufio.NewScanner(c)
	enc := json.NewEncoder(c)
	for sc.Scan() {
		var req Request
		var resp Response
		if err := json.Unmarshal(sc.Bytes(), &req); err != nil {
			resp.Error = "bad request: " + err.Error()
		} else {
			switch req.Cmd {
			case "ps":
				resp.Tasks = cs.k.Tasks()
			case "kill":
				if err := cs.k.Kill(req.Name); err != nil {
					resp.Error = err.Error()
				}
			case "logs":
				resp.Lines = cs.k.Logs(req.Name)
			case "events":
				resp.Events = cs.k.Events().Snapshot()
			case "hello":
			default:
				resp.Error = fmt.Sprintf("unknown command %q", req.Cmd)
			}
		}
		if enc.Encode(&resp) != nil {
			return
		}
	}
}

func (cs *controlServer) Close() {
	cs.l.Close()
	cs.wg.Wait()
	os.Remove(cs.path)
}

// Client talks to a running system's control socket.
type Client struct {
	c  net.Conn
	sc *bufio.Scanner
}

// Dial connects to a control socket and checks it answers.
func Dial(path string) (*Client, error) {
	c, err := net.Dial("unix", path)
	if err != nil {
		return nil, err
	}
	cl := &Client{c: c, sc: bufio.NewScanner(c)}
	cl.sc.Buffer(make([]byte, 64<<10), 64<<20)
	if _, err := cl.Do(Request{Cmd: "hello"}); err != nil {
		c.Close()
		return nil, err
	}
	return cl, nil
}

// Find locates the control socket of a running system: the one named, or
// the only one under runRoot.
func Find(runRoot, name string) (string, error) {
	if runRoot == "" {
		runRoot = "/run/grail"
	}
	if name != "" {
		return filepath.Join(runRoot, name, "control.sock"), nil
	}
	socks, _ := filepath.Glob(filepath.Join(runRoot, "*", "control.sock"))
	sort.Strings(socks)
	var live []string
	for _, s := range socks {
		if c, err := Dial(s); err == nil {
			c.Close()
			live = append(live, s)
		}
	}
	switch len(live) {
	case 0:
		return "", fmt.Errorf("no GrailOS system is running (start one with `grail up`)")
	case 1:
		return live[0], nil
	}
	return "", fmt.Errorf("%d systems are running; name one with --system", len(live))
}

// Do sends one request and reads the answer.
func (cl *Client) Do(req Request) (*Response, error) {
	b, _ := json.Marshal(req)
	if _, err := cl.c.Write(append(b, '\n')); err != nil {
		return nil, err
	}
	if !cl.sc.Scan() {
		if err := cl.sc.Err(); err != nil {
			return nil, err
		}
		return nil, fmt.Errorf("control socket closed")
	}
	var resp Response
	if err := json.Unmarshal(cl.sc.Bytes(), &resp); err != nil {
		return nil, err
	}
	if resp.Error != "" {
		return &resp, fmt.Errorf("%s", resp.Error)
	}
	return &resp, nil
}

// Close closes the connection.
func (cl *Client) Close() error { return cl.c.Close() }
