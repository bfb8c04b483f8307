package cli

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"grailos/bench/inject"
	"grailos/cmd/grail/internal/progress"
)

// injectParallel runs a campaign as p shards at once on this host: one
// `grail inject --shard I/P` process each (each boots its own system, with
// its own machine, peer namespace and client), then merges their files.
// fs holds the parsed flags; the shards get them all but the ones that
// name outputs, which are per shard (FILE-I) or the parent's (--plot).
func injectParallel(fs *flag.FlagSet, p, faults int, jsonFile, plotFile, name, logFile string, stdout, stderr io.Writer) error {
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	if jsonFile == "" {
		return usageError{fmt.Errorf("--parallel needs --json FILE: the shards write FILE-0, FILE-1 ... and the merged records go to FILE")}
	}
	if name == "" {
		name = "inject"
	}
	var common []string
	fs.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "parallel", "json", "plot", "shard", "name", "log":
		default:
			common = append(common, "-"+f.Name+"="+f.Value.String())
		}
	})
	files := make([]string, p)
	cmds := make([]*exec.Cmd, p)
	outs := make([]*bytes.Buffer, p)
	for i := range p {
		files[i] = fmt.Sprintf("%s-%d", jsonFile, i)
		args := append([]string{"inject", fmt.Sprintf("-shard=%d/%d", i, p), "-json=" + files[i], fmt.Sprintf("-name=%s-%d", name, i)}, common...)
		if logFile != "" {
			args = append(args, fmt.Sprintf("-log=%s-%d", logFile, i))
		}
		cmd := exec.Command(exe, args...)
		outs[i] = &bytes.Buffer{}
		cmd.Stdout, cmd.Stderr = outs[i], outs[i] // the shard's bar is drawn over by ours; its last lines say why it failed
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
		cmds[i] = cmd
	}
	fmt.Fprintf(stderr, "injecting %d faults as %d shards on this host (%s-0 ... %s-%d), records in %s-I\n",
		faults, p, name, name, p-1, jsonFile)
	var wg sync.WaitGroup
	errs := make([]error, p)
	for i, cmd := range cmds {
		if err := cmd.Start(); err != nil {
			for _, c := range cmds[:i] {
				c.Process.Signal(syscall.SIGTERM)
			}
			return fmt.Errorf("shard %d: %w", i, err)
		}
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = cmd.Wait() }()
	}
	cleanupMu.Lock()
	cleanups = append(cleanups, func() error {
		for _, c := range cmds {
			c.Process.Signal(syscall.SIGTERM)
		}
		wg.Wait()
		return nil
	})
	cleanupMu.Unlock()
	start := time.Now()
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	bar := progress.New(stderr, "faults", int64(faults))
	bar.Unit = progress.Count
	bar.Rate = func(r float64) string { return fmt.Sprintf("%.2f faults", r) }
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	for running := true; running; {
		select {
		case <-done:
			running = false
		case <-tick.C:
		}
		n := 0
		for _, f := range files {
			n += countLines(f)
		}
		bar.Set(int64(n))
	}
	bar.Finish()
	wall := time.Since(start)
	var failed []string
	for i, err := range errs {
		if err != nil {
			failed = append(failed, fmt.Sprintf("shard %d: %v: %s", i, err, lastLines(outs[i].String(), 3)))
		}
	}
	recs, err := inject.Merge(files)
	if err != nil {
		return err
	}
	if err := writeRecords(jsonFile, recs); err != nil {
		return err
	}
	s := inject.Summarize(recs, jsonFile)
	s.Seconds = wall.Seconds()
	s.Print(stdout)
	if plotFile != "" && len(recs) > 0 {
		if err := s.Plot(plotFile, fmt.Sprintf("%s: outcomes of %d faults (seed %d, %d shards)", recs[0].Driver, len(recs), recs[0].Seed, p)); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "wrote %s\n", plotFile)
	}
	for _, f := range files {
		os.Remove(f)
	}
	if len(failed) > 0 {
		return fmt.Errorf("%d of %d shards failed (their records are merged above):\n  %s", len(failed), p, strings.Join(failed, "\n  "))
	}
	return nil
}

func countLines(file string) int {
	f, err := os.Open(file)
	if err != nil {
		return 0
	}
	defer f.Close()
	n := 0
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		n++
	}
	return n
}

func lastLines(s string, n int) string {
	var l []string
	for _, x := range strings.FieldsFunc(s, func(r rune) bool { return r == '\n' || r == '\r' }) {
		if x = strings.TrimSpace(x); x != "" && !strings.HasPrefix(x, "faults [") { // the shard's progress bar
			l = append(l, x)
		}
	}
	if len(l) > n {
		l = l[len(l)-n:]
	}
	return strings.Join(l, " / ")
}
