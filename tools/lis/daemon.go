package main

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// readyFDEnv names the descriptor a daemonized mount reports readiness on.
const readyFDEnv = "LIS_READY_FD"

// daemonize re-runs this mount in the background (with --foreground, in a
// new session, logging to a file) and returns once it reports the mount
// ready, or with the error it reports.
func daemonize(mc *mountConfig, mnt string) error {
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	r, w, err := os.Pipe()
	if err != nil {
		return err
	}
	defer r.Close()
	logPath := runFile(mnt, "log")
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("daemon log: %w", err)
	}
	defer logFile.Close()
	cmd := exec.Command(exe, append(append([]string{}, cliArgs...), "--foreground")...)
	cmd.Env = append(os.Environ(), readyFDEnv+"=3")
	cmd.ExtraFiles = []*os.File{w}
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		w.Close()
		return fmt.Errorf("start mount daemon: %w", err)
	}
	w.Close()
	go cmd.Wait() // reap it if it dies before reporting
	line, err := readLine(r, 2*time.Minute)
	switch {
	case err != nil:
		return fmt.Errorf("mount daemon did not report (see %s): %w", logPath, err)
	case line == "ok":
		return nil
	default:
		return errors.New(strings.TrimPrefix(line, "error: "))
	}
}

func readLine(r *os.File, timeout time.Duration) (string, error) {
	r.SetReadDeadline(time.Now().Add(timeout))
	line, err := bufio.NewReader(r).ReadString('\n')
	if err != nil && line == "" {
		return "", fmt.Errorf("exited without a word: %w", err)
	}
	return strings.TrimSpace(line), nil
}

// notifyReady tells the waiting parent (if any) how the mount went.
func notifyReady(err error) {
	fd, e := strconv.Atoi(os.Getenv(readyFDEnv))
	if e != nil {
		return
	}
	f := os.NewFile(uintptr(fd), "ready")
	if err != nil {
		fmt.Fprintf(f, "error: %s\n", strings.ReplaceAll(err.Error(), "\n", " "))
	} else {
		fmt.Fprintln(f, "ok")
	}
	f.Close()
	os.Unsetenv(readyFDEnv)
}

// runDir holds the daemons' pid and log files.
func runDir() string {
	dir := "/run/lis"
	if os.Geteuid() != 0 {
		dir = filepath.Join(os.TempDir(), fmt.Sprintf("lis-%d", os.Geteuid()))
	}
	os.MkdirAll(dir, 0o700)
	return dir
}

// runFile names a mount point's file of the given kind in runDir.
func runFile(mnt, kind string) string {
	name := strings.ReplaceAll(strings.Trim(mnt, "/"), "/", "_")
	if name == "" {
		name = "root"
	}
	return filepath.Join(runDir(), "mount-"+name+"."+kind)
}

// writePidFile records the serving process for `lis umount`.
func writePidFile(mnt string) (remove func()) {
	p := runFile(mnt, "pid")
	os.WriteFile(p, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o600)
	return func() { os.Remove(p) }
}

// mountDaemon returns the pid serving mnt, or 0.
func mountDaemon(mnt string) int {
	b, err := os.ReadFile(runFile(mnt, "pid"))
	if err != nil {
		return 0
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || !alive(pid) {
		return 0
	}
	return pid
}
