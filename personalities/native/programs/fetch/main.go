// Command fetch downloads a URL with net/http over the native personality,
// as many rounds as asked, and prints what a harness needs to follow it:
//
//	PROGRESS <round> <bytes> <total>          about every -every
//	RESULT <round> <bytes> <sha256> <seconds> <longest-stall-ms> <connections>
//	STALL <round> <from> <to>                 with -stalls D: a gap between reads longer
//	                                          than D (CLOCK_MONOTONIC nanoseconds)
//	ERROR <round> <message>
//	DONE
//
// Connections counts the TCP connections the round dialled (1 when one
// connection carried the whole download). The longest stall is the longest time between two reads that returned
// data (the first read counts from the request). `grail demo` and the
// system tests start it as a temporary task.
package main

import (
	"context"
	"crypto/sha256"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"sync/atomic"
	"time"

	"grailos/kernel/sys"
	"grailos/personalities/native"
)

func main() {
	t, err := sys.Start()
	if err != nil {
		fmt.Fprintf(os.Stderr, "fetch: %v\n", err)
		os.Exit(1)
	}
	fs := flag.NewFlagSet("fetch", flag.ContinueOnError)
	target := fs.String("url", "", "the URL to download")
	rounds := fs.Int("rounds", 1, "how many times to download it")
	every := fs.Duration("every", 100*time.Millisecond, "how often to print progress")
	pause := fs.Duration("pause", 0, "wait between rounds")
	stalls := fs.Duration("stalls", 0, "report every gap between reads longer than this (0: none)")
	wait := fs.Duration("wait", 0, "keep retrying a refused first connection this long (the server may start after us)")
	if err := fs.Parse(t.Args); err != nil || *target == "" {
		fmt.Fprintln(os.Stderr, "fetch: usage: fetch -url URL [-rounds N] [-every D] [-pause D] [-wait D]")
		os.Exit(2)
	}
	go t.Serve(context.Background())
	t.Ready()
	n, err := native.Open(t)
	if err != nil {
		fmt.Printf("ERROR 0 %v\n", err)
		os.Exit(1)
	}
	if *wait > 0 {
		if err := await(*target, *wait); err != nil {
			fmt.Printf("ERROR 0 %v\n", err)
		}
	}
	var dialled atomic.Int64
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		dialled.Add(1)
		return n.DialContext(ctx, network, addr)
	}
	cl := &http.Client{Transport: &http.Transport{DialContext: dial, DisableCompression: true}}
	for r := 1; r <= *rounds; r++ {
		if r > 1 {
			time.Sleep(*pause)
		}
		dialled.Store(0)
		if err := round(cl, r, *target, *every, *stalls, &dialled); err != nil {
			fmt.Printf("ERROR %d %v\n", r, err)
		}
		cl.CloseIdleConnections()
	}
	fmt.Println("DONE")
	select {}
}

// await connects to the URL's host until it accepts or wait has passed.
func await(rawURL string, wait time.Duration) error {
	u, err := url.Parse(rawURL)
	if err != nil {
		return err
	}
	host := u.Host
	if u.Port() == "" {
		host = net.JoinHostPort(u.Hostname(), "80")
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	for {
		c, err := native.Dial(ctx, "tcp", host)
		if err == nil {
			return c.Close()
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s did not accept within %v: %w", host, wait, err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// round downloads url once.
func round(cl *http.Client, r int, url string, every, stalls time.Duration, dialled *atomic.Int64) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
	if err != nil {
		return err
	}
	start := time.Now()
	resp, err := cl.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("status %s", resp.Status)
	}
	total := resp.ContentLength
	h := sha256.New()
	buf := make([]byte, 256<<10)
	var got int64
	last, lastPrint := start, start
	lastMono := sys.Monotonic()
	var stall time.Duration
	fmt.Printf("PROGRESS %d 0 %d\n", r, total)
	for {
		k, err := resp.Body.Read(buf)
		now := time.Now()
		if k > 0 {
			d := now.Sub(last)
			if d > stall {
				stall = d
			}
			mono := sys.Monotonic()
			if stalls > 0 && d > stalls {
				fmt.Printf("STALL %d %d %d\n", r, lastMono, mono)
			}
			last, lastMono = now, mono
			h.Write(buf[:k])
			got += int64(k)
			if now.Sub(lastPrint) >= every {
				fmt.Printf("PROGRESS %d %d %d\n", r, got, total)
				lastPrint = now
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("after %d bytes: %w", got, err)
		}
	}
	fmt.Printf("PROGRESS %d %d %d\n", r, got, total)
	fmt.Printf("RESULT %d %d %x %.3f %.1f %d\n", r, got, h.Sum(nil), time.Since(start).Seconds(), float64(stall)/1e6, dialled.Load())
	return nil
}
