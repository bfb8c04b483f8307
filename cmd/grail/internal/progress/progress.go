// Package progress draws a progress bar for long work: redrawn in place on
// a terminal, one line per tenth of the work otherwise (logs, pipes).
package progress

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Bar is one bar. Set Total (0 = unknown) and Unit, then call Set.
type Bar struct {
	W     io.Writer
	Label string
	Total int64
	// Unit formats an amount ("MiB" bytes by default; see Count).
	Unit func(int64) string
	// Rate, when set, formats the rate (amount per second; default: Unit).
	Rate func(float64) string

	tty       bool
	start     time.Time
	lastDraw  time.Time
	lastTenth int64
	done      int64
	finished  bool
}

// New returns a bar writing to w.
func New(w io.Writer, label string, total int64) *Bar {
	b := &Bar{W: w, Label: label, Total: total, Unit: MiB, start: time.Now(), lastTenth: -1}
	if f, ok := w.(*os.File); ok {
		_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
		b.tty = err == nil
	}
	return b
}

// MiB formats bytes.
func MiB(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

// Count formats plain counts.
func Count(n int64) string { return fmt.Sprint(n) }

// Set records progress and redraws when due.
func (b *Bar) Set(done int64) {
	if b.finished {
		return
	}
	b.done = done
	now := time.Now()
	if b.tty {
		if now.Sub(b.lastDraw) >= 100*time.Millisecond {
			b.lastDraw = now
			fmt.Fprintf(b.W, "\r%s", b.line(now))
		}
		return
	}
	if b.Total > 0 {
		if tenth := done * 10 / b.Total; tenth > b.lastTenth && tenth < 10 {
			b.lastTenth = tenth
			fmt.Fprintln(b.W, b.line(now))
		}
	}
}

// Note prints a line of its own without ending the bar.
func (b *Bar) Note(msg string) {
	if b.tty {
		fmt.Fprintf(b.W, "\r%s\n%s", msg+strings.Repeat(" ", max(0, 100-len(msg))), b.line(time.Now()))
		return
	}
	fmt.Fprintln(b.W, msg)
}

// Finish draws the final state and ends the line.
func (b *Bar) Finish() {
	if b.finished {
		return
	}
	b.finished = true
	line := b.line(time.Now())
	if b.tty {
		fmt.Fprintf(b.W, "\r%s\n", line)
		return
	}
	fmt.Fprintln(b.W, line)
}

func (b *Bar) line(now time.Time) string {
	el := now.Sub(b.start).Seconds()
	rate := ""
	if el > 0 {
		r := float64(b.done) / el
		if b.Rate != nil {
			rate = b.Rate(r) + "/s"
		} else {
			rate = b.Unit(int64(r)) + "/s"
		}
	}
	if b.Total <= 0 {
		return fmt.Sprintf("  %s %s  %s", b.Label, b.Unit(b.done), rate)
	}
	const width = 30
	frac := float64(b.done) / float64(b.Total)
	frac = min(max(frac, 0), 1)
	fill := int(frac * width)
	bar := strings.Repeat("=", fill)
	if fill < width {
		bar += ">" + strings.Repeat(" ", width-fill-1)
	}
	eta := ""
	if b.done > 0 && b.done < b.Total && el > 0 {
		left := time.Duration(float64(b.Total-b.done) / (float64(b.done) / el) * float64(time.Second))
		eta = " ETA " + left.Round(time.Second).String()
	}
	return fmt.Sprintf("  %s [%s] %5.1f%%  %s / %s  %s%s   ", b.Label, bar, 100*frac, b.Unit(b.done), b.Unit(b.Total), rate, eta)
}
