package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"
)

// perfRecording is perf(1) sampling one process (with call graphs: kernel
// and Go frames alike, as Go keeps frame pointers) during one measured
// phase.
type perfRecording struct {
	cmd  *exec.Cmd
	data string
}

// startPerf starts sampling pid into dir/name.perf.data.
func startPerf(dir, name string, pid int) (*perfRecording, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	data := filepath.Join(dir, name+".perf.data")
	cmd := exec.Command("perf", "record", "-q", "-F", "999", "-g", "-p", fmt.Sprint(pid), "-o", data)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("perf record (is perf installed?): %w", err)
	}
	time.Sleep(300 * time.Millisecond) // let it attach before the phase starts
	return &perfRecording{cmd: cmd, data: data}, nil
}

// stop ends the recording and writes two text reports next to it: the
// hottest functions by their own samples, and by inclusive samples (where
// the time goes, callers included).
func (r *perfRecording) stop() error {
	r.cmd.Process.Signal(syscall.SIGINT)
	r.cmd.Wait()
	for _, rep := range []struct {
		suffix string
		args   []string
	}{
		{".self.txt", []string{"--no-children", "--sort", "dso,sym", "-g", "none", "--percent-limit", "0.5"}},
		{".inclusive.txt", []string{"--children", "--sort", "sym", "-g", "none", "--percent-limit", "2"}},
	} {
		out, err := os.Create(r.data[:len(r.data)-len(".perf.data")] + rep.suffix)
		if err != nil {
			return err
		}
		cmd := exec.Command("perf", append([]string{"report", "--stdio", "-i", r.data}, rep.args...)...)
		cmd.Stdout = out
		err = cmd.Run()
		out.Close()
		if err != nil {
			return fmt.Errorf("perf report %s: %w", r.data, err)
		}
	}
	return nil
}
