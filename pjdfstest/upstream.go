package pjdfstest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/lis-fs/lis/fs"
	"github.com/lis-fs/lis/fs/volume"
)

// UpstreamEnv names the environment variable that points at a built
// checkout of upstream pjdfstest (github.com/pjd/pjdfstest, after
// `autoreconf -ifs && ./configure && make`).
const UpstreamEnv = "LIS_PJDFSTEST_DIR"

// UpstreamConfig describes one run of upstream pjdfstest on a fresh Lis
// volume.
type UpstreamConfig struct {
	// Dir is the built checkout: Dir/pjdfstest is the helper program,
	// Dir/tests the .t files.
	Dir string
	// Tests narrows the run to these paths under Dir/tests (such as
	// "chmod" or "rename/00.t"); empty runs them all.
	Tests []string
	// WorkDir holds the volume's data and mount point; empty means a
	// temporary directory, removed afterwards.
	WorkDir string
	// Out receives prove's verbose output as it runs; nil discards it.
	Out io.Writer
	// FS tunes the client. AllowOther is forced on: the tests switch to
	// unprivileged users.
	FS fs.Options
}

// UpstreamSummary is prove's verdict on a run.
type UpstreamSummary struct {
	Passed bool
	// Report is prove's closing summary: the "Test Summary Report" with
	// each failed file and test numbers when there were failures, then
	// the "Files=..., Tests=..." totals and the "Result:" line.
	Report string
}

// RunUpstream mounts a fresh embedded Lis volume, runs `prove -rv` on the
// upstream tests with the working directory inside the mount (pjdfstest
// works in its current directory), unmounts, and returns prove's summary.
// A run whose tests fail is not an error: Passed says so. It needs root,
// as upstream pjdfstest does, and can take many minutes (the tests sleep
// to see timestamps move).
func RunUpstream(ctx context.Context, cfg UpstreamConfig) (_ *UpstreamSummary, err error) {
	if err := checkUpstream(cfg.Dir); err != nil {
		return nil, err
	}
	prove, err := exec.LookPath("prove")
	if err != nil {
		return nil, fmt.Errorf("upstream pjdfstest needs prove(1) (Debian: perl): %w", err)
	}
	work := cfg.WorkDir
	if work == "" {
		if work, err = os.MkdirTemp("", "lis-upstream-pjdfstest-"); err != nil {
			return nil, err
		}
		defer os.RemoveAll(work)
	}
	mnt := filepath.Join(work, "mnt")
	if err := os.MkdirAll(mnt, 0o755); err != nil {
		return nil, err
	}
	opts := cfg.FS
	opts.AllowOther = true
	v, err := volume.MountEmbedded(ctx, volume.Config{DataDir: filepath.Join(work, "data"), MountPoint: mnt, FS: opts})
	if err != nil {
		return nil, fmt.Errorf("mount a fresh volume: %w", err)
	}
	defer func() {
		if uerr := v.Unmount(context.Background()); uerr != nil && err == nil {
			err = fmt.Errorf("unmount %s: %w", mnt, uerr)
		}
	}()
	return runProve(ctx, prove, cfg, mnt)
}

// checkUpstream makes sure dir is a built pjdfstest checkout.
func checkUpstream(dir string) error {
	if dir == "" {
		return fmt.Errorf("no upstream pjdfstest: set %s to a built checkout", UpstreamEnv)
	}
	if st, err := os.Stat(filepath.Join(dir, "tests")); err != nil || !st.IsDir() {
		return fmt.Errorf("%s is not a pjdfstest checkout: no tests directory", dir)
	}
	if st, err := os.Stat(filepath.Join(dir, "pjdfstest")); err != nil || st.Mode()&0o111 == 0 {
		return fmt.Errorf("%s is not built: no pjdfstest program (run autoreconf -ifs && ./configure && make there)", dir)
	}
	return nil
}

// runProve runs prove in dir and collects its summary while passing its
// output on.
func runProve(ctx context.Context, prove string, cfg UpstreamConfig, dir string) (*UpstreamSummary, error) {
	tests, err := filepath.Abs(filepath.Join(cfg.Dir, "tests"))
	if err != nil {
		return nil, err
	}
	args := []string{"-rv"}
	if len(cfg.Tests) == 0 {
		args = append(args, tests)
	}
	for _, t := range cfg.Tests {
		args = append(args, filepath.Join(tests, t))
	}
	cmd := exec.CommandContext(ctx, prove, args...)
	cmd.Dir = dir
	// prove, its test scripts and their children are one process group,
	// ended together if ctx ends; a straggler holding the output pipe
	// may delay the end of the run only briefly.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 10 * time.Second
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	summary := make(chan string, 1)
	go func() { summary <- collectSummary(pr, cfg.Out) }()
	runErr := cmd.Run()
	pw.Close()
	report := <-summary
	var exit *exec.ExitError
	if runErr != nil && !errors.As(runErr, &exit) {
		return nil, fmt.Errorf("run prove: %w", runErr)
	}
	if !strings.Contains(report, "Result:") {
		return nil, fmt.Errorf("prove ended without a summary (%v)", runErr)
	}
	return &UpstreamSummary{Passed: runErr == nil && strings.Contains(report, "Result: PASS"), Report: report}, nil
}

// collectSummary copies prove's output to out and returns its closing
// summary: everything from "Test Summary Report" on, or the totals and
// result lines when every test passed.
func collectSummary(r io.Reader, out io.Writer) string {
	if out == nil {
		out = io.Discard
	}
	var b strings.Builder
	inReport := false
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		fmt.Fprintln(out, line)
		if strings.HasPrefix(line, "Test Summary Report") {
			inReport = true
		}
		if inReport || strings.HasPrefix(line, "Files=") || strings.HasPrefix(line, "Result:") {
			b.WriteString(line)
			b.WriteByte('\n')
		}
	}
	io.Copy(io.Discard, r) // a line too long for the scanner must not block prove
	return b.String()
}
