package metaservice

import (
	"bufio"
	"context"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/lis-fs/lis/metaservice/kv"
)

// crashOp is the i-th operation (from 1) of the crash test's history.
// Every fifth one is followed by a Sync, which makes it and all before it
// durable.
func crashOp(ctx context.Context, s *Service, i int) error {
	lookup := func(p string) (Ino, error) {
		ino := RootIno
		for _, n := range strings.Split(strings.Trim(p, "/"), "/") {
			a, err := s.Lookup(ctx, Root, ino, n)
			if err != nil {
				return 0, err
			}
			ino = a.Ino
		}
		return ino, nil
	}
	switch i % 5 {
	case 1:
		_, err := s.Mkdir(ctx, Root, RootIno, fmt.Sprintf("d%d", i), NewNode{Mode: 0755})
		return err
	case 2:
		d, err := lookup(fmt.Sprintf("d%d", i-1))
		if err != nil {
			return err
		}
		_, err = s.Mknod(ctx, Root, d, fmt.Sprintf("f%d", i), NewNode{Mode: 0644})
		return err
	case 3:
		d, err := lookup(fmt.Sprintf("d%d", i-2))
		if err != nil {
			return err
		}
		return s.Rename(ctx, Root, d, fmt.Sprintf("f%d", i-1), RootIno, fmt.Sprintf("g%d", i), 0)
	case 4:
		_, err := s.Mknod(ctx, Root, RootIno, fmt.Sprintf("h%d", i), NewNode{Mode: 0644})
		return err
	default:
		if err := s.Unlink(ctx, Root, RootIno, fmt.Sprintf("h%d", i-1)); err != nil {
			return err
		}
		return s.Sync(ctx)
	}
}

// crashModel returns the set of paths after the first k operations.
func crashModel(k int) []string {
	paths := map[string]bool{}
	for i := 1; i <= k; i++ {
		switch i % 5 {
		case 1:
			paths[fmt.Sprintf("/d%d", i)] = true
		case 2:
			paths[fmt.Sprintf("/d%d/f%d", i-1, i)] = true
		case 3:
			delete(paths, fmt.Sprintf("/d%d/f%d", i-2, i-1))
			paths[fmt.Sprintf("/g%d", i)] = true
		case 4:
			paths[fmt.Sprintf("/h%d", i)] = true
		default:
			delete(paths, fmt.Sprintf("/h%d", i-1))
		}
	}
	return sortedKeys(paths)
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// TestCrashChild is the child process of TestCrashConsistency; it does
// nothing unless started by it.
func TestCrashChild(t *testing.T) {
	dir := os.Getenv("LIS_CRASH_DIR")
	if dir == "" {
		t.Skip("only runs as TestCrashConsistency's child")
	}
	start, _ := strconv.Atoi(os.Getenv("LIS_CRASH_START"))
	ctx := context.Background()
	eng, err := kv.Open(ctx, "embedded:"+dir)
	if err != nil {
		fmt.Println("error", err)
		os.Exit(2)
	}
	s, err := Open(ctx, eng, Options{})
	if err != nil {
		fmt.Println("error", err)
		os.Exit(2)
	}
	out := bufio.NewWriter(os.Stdout)
	fmt.Fprintln(out, "ready", start)
	out.Flush()
	for i := start; ; i++ {
		if err := crashOp(ctx, s, i); err != nil {
			fmt.Fprintln(out, "error", i, err)
			out.Flush()
			os.Exit(2)
		}
		kind := "done"
		if i%5 == 0 {
			kind = "durable"
		}
		fmt.Fprintln(out, kind, i)
		out.Flush()
	}
}

func TestCrashConsistency(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns processes")
	}
	dir := t.TempDir()
	rng := rand.New(rand.NewSource(time.Now().UnixNano()))
	next := 1
	for round := 0; round < 8; round++ {
		maxDone, maxDurable := runCrashChild(t, dir, next, time.Duration(50+rng.Intn(400))*time.Millisecond)
		k := checkCrashState(t, dir, maxDone, maxDurable)
		t.Logf("round %d: started at %d, acked %d (durable %d), recovered %d", round, next, maxDone, maxDurable, k)
		next = k + 1
	}
	require.Greater(t, next, 10, "the child made progress")
}

// runCrashChild runs the child from op start, SIGKILLs it d after it
// reported it is ready (a loaded machine may take longer than d to start
// a process), and returns the last op it reported done and the last
// reported durable.
func runCrashChild(t *testing.T, dir string, start int, d time.Duration) (maxDone, maxDurable int) {
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), "LIS_CRASH_DIR="+dir, "LIS_CRASH_START="+strconv.Itoa(start))
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	maxDone, maxDurable = start-1, start-1
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		var kind string
		var i int
		if _, err := fmt.Sscan(sc.Text(), &kind, &i); err != nil {
			continue
		}
		switch kind {
		case "ready":
			timer = time.AfterFunc(d, func() { cmd.Process.Signal(syscall.SIGKILL) })
		case "done":
			maxDone = i
		case "durable":
			maxDone, maxDurable = i, i
		case "error":
			t.Fatalf("child: %s", sc.Text())
		}
	}
	cmd.Wait()
	return maxDone, maxDurable
}

// checkCrashState reopens the volume and finds which prefix of the history
// it holds: it must include every op reported durable, and may include at
// most the one op in flight past the last reported.
func checkCrashState(t *testing.T, dir string, maxDone, maxDurable int) int {
	ctx := context.Background()
	eng, err := kv.Open(ctx, "embedded:"+dir)
	require.NoError(t, err)
	defer eng.Close()
	s, err := Open(ctx, eng, Options{})
	require.NoError(t, err)
	defer s.Close()
	var got []string
	var walk func(ino Ino, p string)
	walk = func(ino Ino, p string) {
		ents, err := s.ReadDir(ctx, Root, ino, 0, 100000, false)
		require.NoError(t, err)
		for _, e := range ents {
			if e.Name == "." || e.Name == ".." {
				continue
			}
			got = append(got, path.Join(p, e.Name))
			if e.Type == syscall.S_IFDIR {
				walk(e.Ino, path.Join(p, e.Name))
			}
		}
	}
	walk(RootIno, "/")
	sort.Strings(got)
	if got == nil {
		got = []string{}
	}
	for k := maxDurable; k <= maxDone+1; k++ {
		if strings.Join(crashModel(k), "\n") == strings.Join(got, "\n") {
			rep, err := s.Fsck(ctx)
			require.NoError(t, err)
			require.Empty(t, rep.Violations)
			return k
		}
	}
	t.Fatalf("state after crash is no prefix between %d and %d: %v", maxDurable, maxDone+1, got)
	return 0
}
