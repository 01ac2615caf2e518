package main

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestE2EExtractGoSource extracts the Go toolchain's source tree (a real
// tree: ~13,000 entries, symlinks, executables, deep paths) with tar,
// remounts so nothing is served from a cache, and compares it with the
// original entry by entry: type, permission bits, size, content, link
// target. With -short it takes only src/net.
func TestE2EExtractGoSource(t *testing.T) {
	needE2E(t)
	needTool(t, "tar")
	goroot := strings.TrimSpace(run(t, "", nil, "go", "env", "GOROOT"))
	tree := "src"
	if testing.Short() {
		tree = "src/net"
	}
	tarball := filepath.Join(t.TempDir(), "src.tar")
	run(t, "", nil, "tar", "-C", goroot, "-cf", tarball, tree)
	m := mountEmbedded(t)
	run(t, "", nil, "tar", "-C", m.mnt, "-xf", tarball)
	m.remount(t)
	n := compareTrees(t, filepath.Join(goroot, tree), filepath.Join(m.mnt, tree))
	t.Logf("%d entries identical", n)
}

// compareTrees walks want and requires got to hold the same tree, and
// nothing more; it returns the number of entries compared.
func compareTrees(t *testing.T, want, got string) int {
	t.Helper()
	seen := 0
	err := filepath.WalkDir(want, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(want, p)
		q := filepath.Join(got, rel)
		wi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		gi, err := os.Lstat(q)
		if err != nil {
			return fmt.Errorf("extracted copy: %w", err)
		}
		if wi.Mode() != gi.Mode() {
			return fmt.Errorf("%s: mode %v, want %v", rel, gi.Mode(), wi.Mode())
		}
		switch {
		case wi.Mode().IsRegular():
			if wi.Size() != gi.Size() {
				return fmt.Errorf("%s: size %d, want %d", rel, gi.Size(), wi.Size())
			}
			if err := sameContent(p, q); err != nil {
				return fmt.Errorf("%s: %w", rel, err)
			}
		case wi.Mode()&fs.ModeSymlink != 0:
			wl, _ := os.Readlink(p)
			gl, err := os.Readlink(q)
			if err != nil || wl != gl {
				return fmt.Errorf("%s: link %q (%v), want %q", rel, gl, err, wl)
			}
		case wi.IsDir():
			if err := sameNames(p, q); err != nil {
				return fmt.Errorf("%s: %w", rel, err)
			}
		}
		seen++
		return nil
	})
	require.NoError(t, err)
	return seen
}

func sameContent(a, b string) error {
	x, err := os.ReadFile(a)
	if err != nil {
		return err
	}
	y, err := os.ReadFile(b)
	if err != nil {
		return fmt.Errorf("read extracted copy: %w", err)
	}
	if !bytes.Equal(x, y) {
		for i := range x {
			if i >= len(y) || x[i] != y[i] {
				return fmt.Errorf("content differs from byte %d", i)
			}
		}
	}
	return nil
}

// sameNames checks that the two directories list the same names (so the
// copy has nothing extra).
func sameNames(a, b string) error {
	x, err := os.ReadDir(a)
	if err != nil {
		return err
	}
	y, err := os.ReadDir(b)
	if err != nil {
		return fmt.Errorf("readdir extracted copy: %w", err)
	}
	names := func(es []os.DirEntry) string {
		var s []string
		for _, e := range es {
			s = append(s, e.Name())
		}
		return strings.Join(s, "\n")
	}
	if names(x) != names(y) {
		return fmt.Errorf("directory lists\n%s\nwant\n%s", names(y), names(x))
	}
	return nil
}

// TestE2EGit: a repository created, committed to, repacked and checked
// entirely on the mount (git's lock files, renames, fsync, mmap of packs).
func TestE2EGit(t *testing.T) {
	needE2E(t)
	needTool(t, "git")
	m := mountEmbedded(t)
	repo := filepath.Join(m.mnt, "repo")
	require.NoError(t, os.Mkdir(repo, 0o755))
	env := []string{"HOME=" + t.TempDir(), "GIT_CONFIG_NOSYSTEM=1", "GIT_AUTHOR_NAME=Lis", "GIT_AUTHOR_EMAIL=lis@example.com",
		"GIT_COMMITTER_NAME=Lis", "GIT_COMMITTER_EMAIL=lis@example.com"}
	git := func(args ...string) string { return run(t, repo, env, "git", args...) }
	git("init", "-q", "-b", "main")
	git("config", "core.fsync", "all")
	for i := 0; i < 3; i++ {
		for j := 0; j < 50; j++ {
			dir := filepath.Join(repo, fmt.Sprintf("d%d", j%5))
			require.NoError(t, os.MkdirAll(dir, 0o755))
			body := strings.Repeat(fmt.Sprintf("commit %d file %d\n", i, j), 10+j*20)
			require.NoError(t, os.WriteFile(filepath.Join(dir, fmt.Sprintf("f%d.txt", j)), []byte(body), 0o644))
		}
		require.NoError(t, os.WriteFile(filepath.Join(repo, "run.sh"), []byte("#!/bin/sh\necho "+strconv.Itoa(i)+"\n"), 0o755))
		git("add", "-A")
		git("commit", "-q", "-m", fmt.Sprintf("commit %d", i))
	}
	git("mv", "d0", "moved")
	git("commit", "-q", "-m", "rename a directory")
	git("gc", "-q")
	git("fsck", "--full", "--strict")
	require.Equal(t, "4\n", git("rev-list", "--count", "HEAD"))
	require.Empty(t, git("status", "--porcelain"))
	m.remount(t)
	git("fsck", "--full", "--strict")
	clone := filepath.Join(m.mnt, "clone")
	run(t, m.mnt, env, "git", "clone", "-q", repo, clone)
	run(t, clone, env, "git", "fsck", "--full")
	require.Equal(t, git("rev-parse", "HEAD"), run(t, clone, env, "git", "rev-parse", "HEAD"))
	st, err := os.Stat(filepath.Join(clone, "run.sh"))
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o755), st.Mode().Perm(), "git keeps the executable bit")
}

// TestE2ESqlite runs Debian's sqlite3 with a write-heavy script in both
// journal modes, then two sqlite3 processes inserting into one database
// at once: their fcntl locks must serialise them, with no row lost and
// the database intact.
func TestE2ESqlite(t *testing.T) {
	needE2E(t)
	needTool(t, "sqlite3")
	m := mountEmbedded(t)
	for _, mode := range []string{"delete", "wal"} {
		t.Run(mode, func(t *testing.T) {
			db := filepath.Join(m.mnt, mode+".db")
			sql := func(script string) string { return sqlite(t, db, script) }
			sql("PRAGMA journal_mode=" + mode + "; PRAGMA synchronous=FULL;" +
				"CREATE TABLE t (id INTEGER PRIMARY KEY, who TEXT, n INTEGER, pad BLOB);" +
				"CREATE INDEX t_who ON t(who, n);")
			var b strings.Builder
			for tx := 0; tx < 20; tx++ {
				b.WriteString("BEGIN;")
				for i := 0; i < 100; i++ {
					fmt.Fprintf(&b, "INSERT INTO t(who, n, pad) VALUES ('bulk', %d, randomblob(%d));", tx*100+i, 100+(i*37)%900)
				}
				b.WriteString("COMMIT;")
			}
			b.WriteString("UPDATE t SET pad = randomblob(2000) WHERE n % 7 = 0; DELETE FROM t WHERE n % 10 = 9;")
			sql(b.String())
			require.Equal(t, "1800\n", sql("SELECT count(*) FROM t;"))

			concurrentInserts(t, db, 2, 300)
			require.Equal(t, "ok\n", sql("PRAGMA integrity_check;"))
			require.Equal(t, "1800\n300\n300\n", sql("SELECT count(*) FROM t GROUP BY who ORDER BY who;"))
			require.Equal(t, "300\n", sql("SELECT count(DISTINCT n) FROM t WHERE who = 'w0';"))
		})
	}
}

// sqlite runs a script (on stdin: it may be long) with sqlite3 and
// returns its output.
func sqlite(t *testing.T, db, script string) string {
	t.Helper()
	cmd := exec.Command("sqlite3", "-bail", "-batch", db)
	cmd.Stdin = strings.NewReader(script)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "sqlite3 %s: %s", db, out)
	return string(out)
}

// concurrentInserts runs writers sqlite3 processes at once, each
// inserting rows rows in its own small transactions.
func concurrentInserts(t *testing.T, db string, writers, rows int) {
	var wg sync.WaitGroup
	errs := make([]error, writers)
	outs := make([][]byte, writers)
	for w := 0; w < writers; w++ {
		var b strings.Builder
		b.WriteString(".timeout 60000\n")
		for i := 0; i < rows; i++ {
			if i%10 == 0 {
				b.WriteString("BEGIN IMMEDIATE;\n")
			}
			fmt.Fprintf(&b, "INSERT INTO t(who, n, pad) VALUES ('w%d', %d, randomblob(300));\n", w, i)
			if i%10 == 9 {
				b.WriteString("COMMIT;\n")
			}
		}
		wg.Add(1)
		go func(w int, script string) {
			defer wg.Done()
			cmd := exec.Command("sqlite3", "-bail", "-batch", db)
			cmd.Stdin = strings.NewReader(script)
			outs[w], errs[w] = cmd.CombinedOutput()
		}(w, b.String())
	}
	wg.Wait()
	for w := range errs {
		require.NoError(t, errs[w], "sqlite3 writer %d: %s", w, outs[w])
	}
}
