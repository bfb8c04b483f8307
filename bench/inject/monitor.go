package inject

import (
	"bytes"
	"io"
	"strconv"
	"strings"
	"sync"

	"grailos/kernel"
)

// monitor follows the system's output as it is written (the kernel's
// Output: "name    | line"): the client's download (fetch's PROGRESS,
// RESULT and ERROR lines), checked round by round against the expected
// SHA-256, and the machine's IOMMU refusals. Lines are stamped with
// CLOCK_MONOTONIC, the clock of the kernel's event log.
type monitor struct {
	client  string // the client task's name
	want    string // SHA-256 of a round
	size    int64  // bytes of a round
	tee     io.Writer
	mu      sync.Mutex
	partial []byte

	round    int
	got      int64 // bytes of the round in progress
	base     int64 // bytes of the rounds before it
	lastMono int64 // when the byte count last grew
	rounds   int   // rounds completed and checked
	bad      []stamped
	errs     []stamped
	iommu    []stamped
}

type stamped struct {
	at   int64
	line string
}

func (m *monitor) Write(p []byte) (int, error) {
	if m.tee != nil {
		m.tee.Write(p)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.partial = append(m.partial, p...)
	for {
		i := bytes.IndexByte(m.partial, '\n')
		if i < 0 {
			break
		}
		m.line(string(m.partial[:i]))
		m.partial = m.partial[i+1:]
	}
	if len(m.partial) == 0 {
		m.partial = nil // let a large buffer go
	}
	return len(p), nil
}

// line takes one output line (mu held).
func (m *monitor) line(l string) {
	who, text, ok := strings.Cut(l, "| ")
	if !ok {
		return
	}
	now := kernel.Monotonic()
	switch strings.TrimSpace(who) {
	case "machine":
		if strings.Contains(text, "dma-refused") {
			m.iommu = append(m.iommu, stamped{now, text})
		}
	case m.client:
		f := strings.Fields(text)
		if len(f) < 2 {
			return
		}
		r, _ := strconv.Atoi(f[1])
		switch {
		case f[0] == "PROGRESS" && len(f) == 4:
			n, _ := strconv.ParseInt(f[2], 10, 64)
			if r != m.round {
				m.base += m.got
				m.round, m.got = r, 0
			}
			if n > m.got {
				m.got = n
				m.lastMono = now
			}
		case f[0] == "RESULT" && len(f) >= 7:
			n, _ := strconv.ParseInt(f[2], 10, 64)
			m.rounds++
			if r == m.round && n > m.got { // the bytes after the last PROGRESS line
				m.got, m.lastMono = n, now
			}
			switch {
			case f[3] != m.want || n != m.size:
				m.bad = append(m.bad, stamped{now, "round " + f[1] + ": " + f[2] + " bytes with SHA-256 " + f[3] + ", want " +
					strconv.FormatInt(m.size, 10) + " bytes with " + m.want})
			case f[6] != "1":
				m.errs = append(m.errs, stamped{now, "round " + f[1] + " took " + f[6] + " connections"})
			}
		case f[0] == "ERROR":
			m.errs = append(m.errs, stamped{now, text})
		}
	}
}

// progress is the bytes downloaded so far and when they last grew.
func (m *monitor) progress() (int64, int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.base + m.got, m.lastMono
}

// since returns the client errors, checksum mismatches and IOMMU
// refusals stamped at or after t.
func (m *monitor) since(t int64) (errs, bad, iommu []string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	pick := func(s []stamped) (out []string) {
		for _, x := range s {
			if x.at >= t {
				out = append(out, x.line)
			}
		}
		return out
	}
	return pick(m.errs), pick(m.bad), pick(m.iommu)
}

// forget drops what was stamped before t (a long campaign stays small).
func (m *monitor) forget(t int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	drop := func(s []stamped) []stamped {
		i := 0
		for i < len(s) && s[i].at < t {
			i++
		}
		return append(s[:0:0], s[i:]...)
	}
	m.errs, m.bad, m.iommu = drop(m.errs), drop(m.bad), drop(m.iommu)
}
