package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// TestE2ETwoClients mounts one volume twice, the embedded mount and a
// cluster client joined through its sockets (`lis mount --meta
// --dataserver`), as two hosts would: close-to-open consistency both ways,
// and flock and fcntl locks that exclude each other across the mounts.
func TestE2ETwoClients(t *testing.T) {
	needE2E(t)
	a := mountEmbedded(t)
	b := joinClient(t, a)

	t.Run("CloseToOpen", func(t *testing.T) {
		name := "shared.txt"
		require.NoError(t, os.WriteFile(filepath.Join(a.mnt, name), []byte("first"), 0o644))
		mounts := [2]string{a.mnt, b.mnt}
		for round, size := range []int{100, 70000, 10, 3 << 20, 1, 5000} {
			w, r := mounts[round%2], mounts[1-round%2]
			// The reader has the old version cached (attributes, pages).
			_, err := os.ReadFile(filepath.Join(r, name))
			require.NoError(t, err)
			content := bytes.Repeat([]byte{byte('a' + round)}, size)
			require.NoError(t, os.WriteFile(filepath.Join(w, name), content, 0o644))
			got, err := os.ReadFile(filepath.Join(r, name))
			require.NoError(t, err)
			require.Equal(t, size, len(got), "round %d: %s wrote %d bytes and closed; %s opened and read %d",
				round, w, size, r, len(got))
			require.True(t, bytes.Equal(content, got), "round %d: content read on %s differs", round, r)
			st, err := os.Stat(filepath.Join(r, name))
			require.NoError(t, err)
			require.Equal(t, int64(size), st.Size(), "round %d: size seen on %s", round, r)
		}
	})

	t.Run("NewFileVisible", func(t *testing.T) {
		require.NoError(t, os.WriteFile(filepath.Join(b.mnt, "from-b"), []byte("made on b"), 0o600))
		got, err := os.ReadFile(filepath.Join(a.mnt, "from-b"))
		require.NoError(t, err)
		require.Equal(t, "made on b", string(got))
	})

	// Each mount caches names and attributes for ten minutes; the
	// metaservice's invalidations make the other's changes visible to the
	// very next stat and listing.
	t.Run("SeesChangesAtOnce", func(t *testing.T) {
		for round, pair := range [][2]string{{a.mnt, b.mnt}, {b.mnt, a.mnt}} {
			w, r := filepath.Join(pair[0], "cached"), filepath.Join(pair[1], "cached")
			require.NoError(t, os.RemoveAll(w))
			require.NoError(t, os.Mkdir(w, 0o755))
			for _, n := range []string{"f1", "f2", "f3"} {
				require.NoError(t, os.WriteFile(filepath.Join(w, n), nil, 0o644))
			}
			require.Equal(t, []string{"f1", "f2", "f3"}, dirNames(t, r))
			for _, n := range []string{"f1", "f2", "f3", "g1", "new"} {
				os.Lstat(filepath.Join(r, n)) // cached, present or absent
			}
			require.NoError(t, os.Rename(filepath.Join(w, "f1"), filepath.Join(w, "g1")))
			require.NoError(t, os.Remove(filepath.Join(w, "f2")))
			require.NoError(t, os.Chmod(filepath.Join(w, "f3"), 0o600))
			require.NoError(t, os.WriteFile(filepath.Join(w, "new"), nil, 0o644))

			_, err := os.Lstat(filepath.Join(r, "f1"))
			require.ErrorIs(t, err, os.ErrNotExist, "round %d: renamed away", round)
			st, err := os.Lstat(filepath.Join(r, "f3"))
			require.NoError(t, err)
			require.Equal(t, os.FileMode(0o600), st.Mode().Perm(), "round %d: chmod", round)
			_, err = os.Lstat(filepath.Join(r, "new"))
			require.NoError(t, err, "round %d: created", round)
			require.Equal(t, []string{"f3", "g1", "new"}, dirNames(t, r), "round %d: listing", round)
		}
	})

	t.Run("Flock", func(t *testing.T) {
		flockTool := needTool(t, "flock")
		fa, fb := lockFile(t, a, b, "flock")
		for _, pair := range [][2]string{{fa, fb}, {fb, fa}} {
			holder := startHelper(t, "flock-hold", pair[0])
			require.Error(t, exec.Command(flockTool, "-n", pair[1], "true").Run(), "exclusive flock on %s while %s holds one", pair[1], pair[0])
			require.Error(t, exec.Command(flockTool, "-n", "-s", pair[1], "true").Run(), "shared flock on %s while %s holds an exclusive one", pair[1], pair[0])
			// A blocking flock on the other mount waits for the release.
			waiter := exec.Command(flockTool, "-w", "60", pair[1], "echo", "got it")
			var out bytes.Buffer
			waiter.Stdout = &out
			require.NoError(t, waiter.Start())
			holder.release(t)
			require.NoError(t, waiter.Wait())
			require.Equal(t, "got it\n", out.String())
			require.NoError(t, exec.Command(flockTool, "-n", pair[1], "true").Run(), "flock after release")
		}
	})

	t.Run("Fcntl", func(t *testing.T) {
		fa, fb := lockFile(t, a, b, "fcntl")
		for _, pair := range [][2]string{{fa, fb}, {fb, fa}} {
			holder := startHelper(t, "fcntl-hold", pair[0], "0", "100")
			require.Equal(t, "busy write", tryHelper(t, pair[1], "50", "10"), "overlapping range on the other mount")
			require.Equal(t, "locked", tryHelper(t, pair[1], "100", "10"), "disjoint range on the other mount")
			waiter := startHelper(t, "fcntl-wait", pair[1], "0", "0")
			holder.release(t)
			waiter.waitLocked(t)
			require.Equal(t, "busy write", tryHelper(t, pair[0], "10", "1"), "the waiter now holds the whole file")
			waiter.release(t)
			require.Equal(t, "locked", tryHelper(t, pair[0], "0", "0"), "free again after the waiter let go")
		}
	})
}

// lockFile makes a file on a and returns its path on both mounts.
func lockFile(t *testing.T, a, b mounted, name string) (string, string) {
	require.NoError(t, os.WriteFile(filepath.Join(a.mnt, name), make([]byte, 1000), 0o666))
	return filepath.Join(a.mnt, name), filepath.Join(b.mnt, name)
}

// helperEnv makes the test binary a lock helper process (see runHelper).
const helperEnv = "LIS_E2E_HELPER"

// helperProc is a running lock helper: it reports "locked" once it holds
// its lock and lets go when its stdin closes.
type helperProc struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	lines *bufio.Reader
}

func startHelper(t *testing.T, mode string, args ...string) *helperProc {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), helperEnv+"="+mode)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	h := &helperProc{cmd: cmd, stdin: stdin, lines: bufio.NewReader(stdout)}
	t.Cleanup(func() { h.stdin.Close(); h.cmd.Process.Kill(); h.cmd.Wait() })
	if mode != "fcntl-wait" {
		h.waitLocked(t)
	}
	return h
}

func (h *helperProc) waitLocked(t *testing.T) {
	t.Helper()
	line, err := h.lines.ReadString('\n')
	require.NoError(t, err, "lock helper %v", h.cmd.Args)
	require.Equal(t, "locked\n", line)
}

// release makes the helper let go of its lock and exit.
func (h *helperProc) release(t *testing.T) {
	t.Helper()
	h.stdin.Close()
	require.NoError(t, h.cmd.Wait())
}

// tryHelper runs a helper that tries F_SETLK on [start, start+len) and
// says "locked" or, after F_GETLK, "busy read|write".
func tryHelper(t *testing.T, path, start, length string) string {
	t.Helper()
	cmd := exec.Command(os.Args[0], path, start, length)
	cmd.Env = append(os.Environ(), helperEnv+"=fcntl-try")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "fcntl-try: %s", out)
	return strings.TrimSpace(string(out))
}

// runHelper is a helper process: the lock helper (modes flock-hold PATH,
// fcntl-hold|fcntl-wait PATH START LEN: F_SETLK / F_SETLKW of a write
// lock, held until stdin closes; fcntl-try PATH START LEN) or one of the
// append exerciser's processes (exerciserModes).
func runHelper(mode string, args []string) int {
	run := helper
	if w, ok := exerciserModes[mode]; ok {
		run = func(_ string, args []string) error { return w(args) }
	}
	if err := run(mode, args); err != nil {
		fmt.Fprintln(os.Stderr, "lock helper:", err)
		return 1
	}
	return 0
}

func helper(mode string, args []string) error {
	if len(args) < 1 {
		return fmt.Errorf("%s: no path", mode)
	}
	f, err := os.OpenFile(args[0], os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	lk := unix.Flock_t{Type: unix.F_WRLCK, Whence: io.SeekStart}
	if len(args) == 3 {
		lk.Start, _ = strconv.ParseInt(args[1], 10, 64)
		lk.Len, _ = strconv.ParseInt(args[2], 10, 64)
	}
	switch mode {
	case "flock-hold":
		err = unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
	case "fcntl-hold":
		err = unix.FcntlFlock(f.Fd(), unix.F_SETLK, &lk)
	case "fcntl-wait":
		err = unix.FcntlFlock(f.Fd(), unix.F_SETLKW, &lk)
	case "fcntl-try":
		return tryLock(f, lk)
	default:
		return fmt.Errorf("unknown helper mode %q", mode)
	}
	if err != nil {
		return fmt.Errorf("%s %v: %w", mode, args, err)
	}
	fmt.Println("locked")
	io.Copy(io.Discard, os.Stdin)
	return nil
}

func tryLock(f *os.File, lk unix.Flock_t) error {
	probe := lk
	if err := unix.FcntlFlock(f.Fd(), unix.F_GETLK, &probe); err != nil {
		return fmt.Errorf("F_GETLK: %w", err)
	}
	err := unix.FcntlFlock(f.Fd(), unix.F_SETLK, &lk)
	switch {
	case err == nil && probe.Type == unix.F_UNLCK:
		fmt.Println("locked")
	case err == unix.EAGAIN || err == unix.EACCES:
		kind := map[int16]string{unix.F_RDLCK: "read", unix.F_WRLCK: "write"}[probe.Type]
		if kind == "" {
			return fmt.Errorf("F_SETLK says busy but F_GETLK says %d", probe.Type)
		}
		fmt.Println("busy " + kind)
	case err == nil:
		return fmt.Errorf("F_SETLK granted but F_GETLK reported a conflicting lock (%d)", probe.Type)
	default:
		return fmt.Errorf("F_SETLK: %w", err)
	}
	return nil
}

// dirNames lists dir, sorted.
func dirNames(t *testing.T, dir string) []string {
	ents, err := os.ReadDir(dir)
	require.NoError(t, err)
	out := make([]string, len(ents))
	for i, e := range ents {
		out[i] = e.Name()
	}
	return out
}
