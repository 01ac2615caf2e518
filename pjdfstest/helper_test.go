package pjdfstest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// helperEnv, when set, turns the test binary into the helper: it runs
// requests' lines under the credentials it was started with until its
// input closes.
//
// Switching users inside the test process is not an option: it serves the
// mount, and Go's setuid and the umask apply to every thread. Raw
// per-thread setfsuid/setgroups on a locked thread could cover the
// credentials but not the umask, and a thread left with foreign
// credentials by a failed case would go back to the runtime's pool.
const helperEnv = "LIS_PJDFSTEST_HELPER"

// helperRequest is what the test sends the helper on stdin.
type helperRequest struct {
	Dir   string   // case directory the paths are relative to
	Umask int      // -1: leave the inherited one
	Lines []string // each run as a separate line (caller options removed)
}

// helperMain serves requests from in until it closes, one JSON reply per
// request on out: an errno per line (0 for success). Its exit status is
// non-zero only when a request itself is broken.
func helperMain(in io.Reader, out io.Writer) int {
	dec, enc := json.NewDecoder(in), json.NewEncoder(out)
	for {
		var req helperRequest
		if err := dec.Decode(&req); err == io.EOF {
			return 0
		} else if err != nil {
			fmt.Fprintf(os.Stderr, "helper: request: %v\n", err)
			return 2
		}
		results, err := serveRequest(req)
		if err != nil {
			fmt.Fprintf(os.Stderr, "helper: %v\n", err)
			return 2
		}
		if err := enc.Encode(results); err != nil {
			return 2
		}
	}
}

func serveRequest(req helperRequest) ([]syscall.Errno, error) {
	if req.Umask >= 0 {
		unix.Umask(req.Umask)
	}
	dir, err := unix.Open(req.Dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", req.Dir, err)
	}
	defer unix.Close(dir)
	it := &interp{dir: dir}
	results := make([]syscall.Errno, len(req.Lines))
	for i, text := range req.Lines {
		l, err := parseLine(text)
		if err != nil {
			return nil, err
		}
		results[i] = it.runLine(l)
	}
	return results, nil
}

// helpers keeps one helper process per caller (user, groups, umask) for
// the whole run: starting the test binary costs far more than the lines
// it runs, above all under the race detector. A helper runs one request
// at a time; cases of the same caller take turns.
var helpers struct {
	mu    sync.Mutex // guards procs
	procs map[string]*helperProc
}

type helperProc struct {
	mu     sync.Mutex // one request at a time
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	dec    *json.Decoder
	stderr *bytes.Buffer
}

// runInHelper runs l in dir in the helper for l's caller and returns its
// errno.
func runInHelper(dir string, l *line) (syscall.Errno, error) {
	req := helperRequest{Dir: dir, Umask: l.umask, Lines: []string{l.opsText()}}
	uid, gid, groups := l.cred()
	key := fmt.Sprint(uid, gid, groups, l.umask)
	p, err := helperFor(key, uid, gid, groups)
	if err != nil {
		return 0, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	var results []syscall.Errno
	err = json.NewEncoder(p.stdin).Encode(req)
	if err == nil {
		err = p.dec.Decode(&results)
	}
	if err != nil || len(results) != 1 {
		dropHelper(key, p)
		return 0, fmt.Errorf("helper for %q: %v (%d results): %s", l.text, err, len(results), p.stderr.Bytes())
	}
	return results[0], nil
}

func helperFor(key string, uid, gid uint32, groups []uint32) (*helperProc, error) {
	helpers.mu.Lock()
	defer helpers.mu.Unlock()
	if p := helpers.procs[key]; p != nil {
		return p, nil
	}
	cmd := exec.Command(suite.helper)
	cmd.Env = []string{helperEnv + "=1"}
	cmd.Dir = "/"
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Credential: &syscall.Credential{Uid: uid, Gid: gid, Groups: groups},
	}
	p := &helperProc{cmd: cmd, stderr: &bytes.Buffer{}}
	cmd.Stderr = p.stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start helper as %d:%d: %w", uid, gid, err)
	}
	p.stdin, p.dec = stdin, json.NewDecoder(stdout)
	if helpers.procs == nil {
		helpers.procs = map[string]*helperProc{}
	}
	helpers.procs[key] = p
	return p, nil
}

// dropHelper forgets a helper that failed, so that the next case of its
// caller starts a new one.
func dropHelper(key string, p *helperProc) {
	helpers.mu.Lock()
	if helpers.procs[key] == p {
		delete(helpers.procs, key)
	}
	helpers.mu.Unlock()
	p.stdin.Close()
	p.cmd.Process.Kill()
	p.cmd.Wait()
}

// stopHelpers ends every helper: their input closes, they exit.
func stopHelpers() {
	helpers.mu.Lock()
	defer helpers.mu.Unlock()
	for key, p := range helpers.procs {
		p.stdin.Close()
		p.cmd.Wait()
		delete(helpers.procs, key)
	}
}
