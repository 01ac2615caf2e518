package geosim

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// Proc is a process a World started inside one of its hosts.
type Proc struct {
	Name string
	Host *Host
	Log  string // path of its combined output
	cmd  *exec.Cmd
	done chan struct{}
	err  error // Wait's, once done is closed
}

// Start runs the World's lis binary with args inside host h, its output in
// Dir/logs/NAME.log. It enters only h's network namespace (nsenter --net),
// so a FUSE mount it makes is visible to this process as any other.
func (w *World) Start(h *Host, name string, args ...string) (*Proc, error) {
	logDir := filepath.Join(w.Dir, "logs")
	if err := os.MkdirAll(logDir, 0o755); err != nil {
		return nil, err
	}
	p := &Proc{Name: name, Host: h, Log: filepath.Join(logDir, name+".log"), done: make(chan struct{})}
	out, err := os.OpenFile(p.Log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	defer out.Close()
	argv := append([]string{"nsenter", "--net=" + netnsPath(h.NS), "--", w.Spec.Lis}, args...)
	if w.away(h) {
		argv = append([]string{"nice", "-n", "19"}, argv...)
	}
	p.cmd = exec.Command(argv[0], argv[1:]...)
	p.cmd.Stdout, p.cmd.Stderr = out, out
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s on %s: %w", name, h.Name, err)
	}
	go func() { p.err = p.cmd.Wait(); close(p.done) }()
	w.mu.Lock()
	w.procs = append(w.procs, p)
	w.mu.Unlock()
	return p, nil
}

// Running reports whether the process has not exited.
func (p *Proc) Running() bool {
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// Signal sends sig to the process (SIGSTOP and SIGCONT pause and resume it).
func (p *Proc) Signal(sig syscall.Signal) error {
	if !p.Running() {
		return fmt.Errorf("%s: not running", p.Name)
	}
	return syscall.Kill(-p.cmd.Process.Pid, sig)
}

// Stop sends SIGTERM and waits up to grace, then kills. It returns the
// exit error of a process that had to be killed or exited badly.
func (p *Proc) Stop(grace time.Duration) error {
	if !p.Running() {
		return p.err
	}
	syscall.Kill(-p.cmd.Process.Pid, syscall.SIGCONT) // a stopped process cannot handle SIGTERM
	syscall.Kill(-p.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-p.done:
		return p.err
	case <-time.After(grace):
	}
	syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	<-p.done
	return fmt.Errorf("%s: killed after %v without exiting on SIGTERM", p.Name, grace)
}

// Kill ends the process at once (kill -9).
func (p *Proc) Kill() {
	if p.Running() {
		syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.done
	}
}

// Tail returns the last n bytes of the process's log.
func (p *Proc) Tail(n int) string {
	b, _ := os.ReadFile(p.Log)
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}

// waitFor polls cond every 50 ms until it holds, ctx ends or timeout
// passes; what describes what was awaited, for the error.
func waitFor(ctx context.Context, timeout time.Duration, what string, cond func() bool) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for !cond() {
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: not within %v", what, timeout)
		case <-time.After(50 * time.Millisecond):
		}
	}
	return nil
}

// run runs the lis binary inside host h and returns its output.
func (w *World) run(ctx context.Context, h *Host, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "nsenter", append([]string{"--net=" + netnsPath(h.NS), "--", w.Spec.Lis}, args...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("lis %s on %s: %w: %s", strings.Join(args, " "), h.Name, err, strings.TrimSpace(string(out)))
	}
	return string(out), nil
}
