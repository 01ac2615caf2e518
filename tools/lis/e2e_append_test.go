package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// recordLen is the size of one record the exerciser's writers append:
// a tag naming the writer and its sequence number, so that the final
// content shows every lost, torn or reordered write.
const recordLen = 16

func record(tag string, seq int) []byte {
	return []byte(fmt.Sprintf("%-4s%011d\n", tag, seq))
}

// TestE2EAppendUnderStat is the reproducer of a lost-append bug as a
// regression test: one process appends thousands of small records with
// open(O_APPEND), write, close while another thread stats the file
// without pause. Every append must land at the end, none over another.
func TestE2EAppendUnderStat(t *testing.T) {
	needE2E(t)
	m := mountEmbedded(t)
	p := filepath.Join(m.mnt, "log")
	require.NoError(t, os.WriteFile(p, nil, 0o644))
	var stop atomic.Bool
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for !stop.Load() {
			os.Stat(p)
		}
	}()
	const n = 3000
	for i := range n {
		f, err := os.OpenFile(p, os.O_WRONLY|os.O_APPEND, 0)
		require.NoError(t, err)
		_, err = f.Write(record("a", i))
		require.NoError(t, err)
		require.NoError(t, f.Close())
	}
	stop.Store(true)
	wg.Wait()
	requireRecords(t, p, map[string]int{"a": n})
}

// TestE2EAppendExerciser drives several writer processes (O_APPEND, and
// pwrite at the end after fstat, and one that truncates now and then)
// while other processes stat, `ls -l`, open, read and close the same
// files, and checks every file against the model of its acknowledged
// writes. It runs on one mount, and on two clients of one volume where
// each appends to its own files and both look at all of them.
func TestE2EAppendExerciser(t *testing.T) {
	needE2E(t)
	rounds := 600
	if testing.Short() {
		rounds = 300
	}
	t.Run("OneClient", func(t *testing.T) {
		a := mountEmbedded(t)
		exercise(t, rounds, map[string]string{"a": a.mnt}, []string{a.mnt})
	})
	t.Run("TwoClients", func(t *testing.T) {
		a := mountEmbedded(t)
		b := joinClient(t, a)
		exercise(t, rounds, map[string]string{"a": a.mnt, "b": b.mnt}, []string{a.mnt, b.mnt})
	})
}

// exercise runs the writers of each client (writers maps a client's name
// to its mount) and lookers on every mount, then checks the files.
func exercise(t *testing.T, rounds int, writers map[string]string, lookers []string) {
	var files []string // relative to a mount
	var procs []*workerProc
	for name, mnt := range writers {
		app, pw, tr := "app-"+name, "pw-"+name, "tr-"+name
		for _, f := range []string{app, pw, tr} {
			require.NoError(t, os.WriteFile(filepath.Join(mnt, f), nil, 0o644))
		}
		files = append(files, app, pw, tr)
		for i := range 3 {
			procs = append(procs, startWorker(t, "append", filepath.Join(mnt, app), name+strconv.Itoa(i), strconv.Itoa(rounds)))
		}
		procs = append(procs,
			startWorker(t, "pwrite-end", filepath.Join(mnt, pw), name+"p", strconv.Itoa(rounds)),
			startWorker(t, "truncating", filepath.Join(mnt, tr), name+"t", strconv.Itoa(rounds)))
	}
	var lookersStop []*workerProc
	for _, mnt := range lookers {
		paths := make([]string, len(files))
		for i, f := range files {
			paths[i] = filepath.Join(mnt, f)
		}
		lookersStop = append(lookersStop, startWorker(t, "look", paths...),
			startWorker(t, "read", append([]string{writerOf(writers, mnt)}, paths...)...))
	}
	results := map[string]string{}
	for _, p := range procs {
		results[p.args[0]] += p.wait(t)
	}
	for _, l := range lookersStop {
		l.stdin.Close()
	}
	for name, mnt := range writers {
		want := map[string]int{}
		for i := range 3 {
			want[name+strconv.Itoa(i)] = rounds
		}
		for _, m := range lookers {
			requireRecords(t, filepath.Join(m, "app-"+name), want)
			requireRecords(t, filepath.Join(m, "pw-"+name), map[string]int{name + "p": rounds})
			require.Equal(t, results[filepath.Join(mnt, "tr-"+name)], fileDigest(t, filepath.Join(m, "tr-"+name)),
				"truncated file on %s differs from its writer's model", m)
		}
	}
	for _, l := range lookersStop {
		require.Empty(t, l.wait(t), "%s found a broken file while the writers ran", l.mode)
	}
}

// writerOf names the client that writes through mnt ("" if none).
func writerOf(writers map[string]string, mnt string) string {
	for name, m := range writers {
		if m == mnt {
			return name
		}
	}
	return ""
}

// requireRecords requires p to hold exactly want[tag] records of each
// writer, intact, each writer's in the order it wrote them.
func requireRecords(t *testing.T, p string, want map[string]int) {
	t.Helper()
	b, err := os.ReadFile(p)
	require.NoError(t, err)
	total := 0
	for _, n := range want {
		total += n
	}
	require.Equal(t, total*recordLen, len(b), "%s: size", p)
	next := map[string]int{}
	for off := 0; off < len(b); off += recordLen {
		tag, seq, ok := parseRecord(b[off : off+recordLen])
		require.True(t, ok, "%s: torn or overwritten record at %d: %q", p, off, b[off:off+recordLen])
		require.Equal(t, next[tag], seq, "%s: writer %s's record at %d is out of order (a lost append)", p, tag, off)
		next[tag]++
	}
	require.Equal(t, want, next, "%s: records per writer", p)
}

func parseRecord(r []byte) (string, int, bool) {
	if len(r) != recordLen || r[recordLen-1] != '\n' {
		return "", 0, false
	}
	seq, err := strconv.Atoi(string(r[4 : recordLen-1]))
	return strings.TrimSpace(string(r[:4])), seq, err == nil
}

func fileDigest(t *testing.T, p string) string {
	b, err := os.ReadFile(p)
	require.NoError(t, err)
	return digest(b)
}

func digest(b []byte) string {
	s := sha256.Sum256(b)
	return fmt.Sprintf("%d:%s", len(b), hex.EncodeToString(s[:8]))
}

// workerProc is an exerciser process (the test binary in a helper mode).
type workerProc struct {
	mode  string
	args  []string
	cmd   *exec.Cmd
	stdin io.WriteCloser
	out   bytes.Buffer
}

func startWorker(t *testing.T, mode string, args ...string) *workerProc {
	t.Helper()
	w := &workerProc{mode: mode, args: args, cmd: exec.Command(os.Args[0], args...)}
	w.cmd.Env = append(os.Environ(), helperEnv+"="+mode)
	w.cmd.Stdout, w.cmd.Stderr = &w.out, os.Stderr
	var err error
	w.stdin, err = w.cmd.StdinPipe()
	require.NoError(t, err)
	require.NoError(t, w.cmd.Start())
	t.Cleanup(func() { w.stdin.Close(); w.cmd.Process.Kill(); w.cmd.Wait() })
	return w
}

// wait waits for the worker to finish and returns what it printed.
func (w *workerProc) wait(t *testing.T) string {
	t.Helper()
	require.NoError(t, w.cmd.Wait(), "%s %v: %s", w.mode, w.args, w.out.String())
	return w.out.String()
}

// exerciserModes are the helper modes of the exerciser's processes.
var exerciserModes = map[string]func(args []string) error{
	"append":     appendWorker,
	"pwrite-end": pwriteEndWorker,
	"truncating": truncatingWorker,
	"look":       lookWorker,
	"read":       readWorker,
}

// appendWorker PATH TAG N appends N records with O_APPEND, reopening the
// file for every other record and writing through one descriptor
// otherwise.
func appendWorker(args []string) error {
	p, tag, n := args[0], args[1], atoiArg(args[2])
	var f *os.File
	for i := range n {
		if f == nil || i%2 == 0 {
			if f != nil {
				if err := f.Close(); err != nil {
					return err
				}
			}
			var err error
			if f, err = os.OpenFile(p, os.O_WRONLY|os.O_APPEND, 0); err != nil {
				return err
			}
		}
		if _, err := f.Write(record(tag, i)); err != nil {
			return err
		}
	}
	return f.Close()
}

// pwriteEndWorker PATH TAG N writes N records, each with pwrite at the
// size fstat gives right after open.
func pwriteEndWorker(args []string) error {
	p, tag, n := args[0], args[1], atoiArg(args[2])
	for i := range n {
		f, err := os.OpenFile(p, os.O_RDWR, 0)
		if err != nil {
			return err
		}
		st, err := f.Stat()
		if err == nil {
			_, err = f.WriteAt(record(tag, i), st.Size())
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// truncatingWorker PATH TAG N appends N records and, every 40th, cuts
// the file to half its records (every 120th to nothing), then prints the
// digest of the content its writes must have left.
func truncatingWorker(args []string) error {
	p, tag, n := args[0], args[1], atoiArg(args[2])
	var model []byte
	for i := range n {
		f, err := os.OpenFile(p, os.O_WRONLY|os.O_APPEND, 0)
		if err != nil {
			return err
		}
		r := record(tag, i)
		if _, err := f.Write(r); err != nil {
			return err
		}
		model = append(model, r...)
		if i%40 == 39 {
			keep := len(model) / recordLen / 2 * recordLen
			if i%120 == 119 {
				keep = 0
			}
			if err := f.Truncate(int64(keep)); err != nil {
				return err
			}
			model = model[:keep]
		}
		if err := f.Close(); err != nil {
			return err
		}
	}
	fmt.Print(digest(model))
	return nil
}

// lookWorker PATH... stats every file, lists their directories with
// `ls -l` and opens and closes them, until stdin closes.
func lookWorker(paths []string) error {
	done := stdinClosed()
	dirs := map[string]bool{}
	for _, p := range paths {
		dirs[filepath.Dir(p)] = true
	}
	for !done.Load() {
		for _, p := range paths {
			var st unix.Stat_t
			if err := unix.Stat(p, &st); err != nil {
				return err
			}
			f, err := os.Open(p)
			if err != nil {
				return err
			}
			f.Close()
		}
		for d := range dirs {
			if out, err := exec.Command("ls", "-l", d).CombinedOutput(); err != nil {
				return fmt.Errorf("ls -l %s: %v: %s", d, err, out)
			}
		}
	}
	return nil
}

// readWorker CLIENT PATH... reads the files whole until stdin closes,
// and prints what it finds broken in the append-only files (app-*, pw-*)
// that CLIENT writes through the same mount: any read of them must be a
// run of intact records. Another client's appends are read but not
// checked: while a file grows elsewhere, the kernel may pair a page it
// read at the old size with the new size it learns during the read (the
// tail reads as zeros until the next read), as NFS clients do; only a
// client that is told of every change can close that window.
func readWorker(args []string) error {
	own, paths := args[0], args[1:]
	done := stdinClosed()
	for !done.Load() {
		for _, p := range paths {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			name := filepath.Base(p)
			if own == "" || name != "app-"+own && name != "pw-"+own {
				continue
			}
			for off := 0; off+recordLen <= len(b); off += recordLen {
				if _, _, ok := parseRecord(b[off : off+recordLen]); !ok {
					fmt.Printf("%s: broken record at %d of %d read: %q\n", p, off, len(b), b[off:off+recordLen])
					return nil
				}
			}
		}
	}
	return nil
}

// stdinClosed reports, once set, that the parent closed the helper's
// stdin: the signal to stop.
func stdinClosed() *atomic.Bool {
	var done atomic.Bool
	go func() {
		io.Copy(io.Discard, os.Stdin)
		done.Store(true)
	}()
	return &done
}

func atoiArg(s string) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		panic(fmt.Sprintf("helper argument %q: %v", s, err))
	}
	return n
}
