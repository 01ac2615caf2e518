package fs

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	ms "github.com/lis-fs/lis/metaservice"
	"github.com/lis-fs/lis/metaservice/callbacks"
	"github.com/lis-fs/lis/metaservice/kv"
)

// These tests mount two clients of one in-process metaservice through
// the kernel (root and /dev/fuse needed) and check what one sees of the
// other's namespace changes: at once while the invalidation stream is
// live, within the short timeouts while it is cut.

// metaCalls wraps the metaservice a client calls: it counts the calls a
// cached stat or listing should not make, and can cut the invalidation
// stream (a poll then hangs until its deadline, as over a partition).
type metaCalls struct {
	Meta
	cut   atomic.Bool
	calls atomic.Int64
}

func (m *metaCalls) AwaitInvalidations(ctx context.Context, session, epoch, seq uint64, rel []callbacks.Release, wait time.Duration) (callbacks.Batch, error) {
	if m.cut.Load() {
		<-ctx.Done()
		return callbacks.Batch{}, ctx.Err()
	}
	return m.Meta.AwaitInvalidations(ctx, session, epoch, seq, rel, wait)
}

func (m *metaCalls) Open(ctx context.Context, c *ms.Cred, ino ms.Ino, flags uint32, session uint64) (*ms.Attr, error) {
	m.calls.Add(1)
	return m.Meta.Open(ctx, c, ino, flags, session)
}

func (m *metaCalls) Release(ctx context.Context, ino ms.Ino, session uint64) error {
	m.calls.Add(1)
	return m.Meta.Release(ctx, ino, session)
}

func (m *metaCalls) Lookup(ctx context.Context, c *ms.Cred, parent ms.Ino, name string) (*ms.Attr, error) {
	m.calls.Add(1)
	return m.Meta.Lookup(ctx, c, parent, name)
}

func (m *metaCalls) GetAttr(ctx context.Context, ino ms.Ino) (*ms.Attr, error) {
	m.calls.Add(1)
	return m.Meta.GetAttr(ctx, ino)
}

func (m *metaCalls) ReadDir(ctx context.Context, c *ms.Cred, dir ms.Ino, cookie uint64, limit int, plus bool) ([]ms.DirEntry, error) {
	m.calls.Add(1)
	return m.Meta.ReadDir(ctx, c, dir, cookie, limit, plus)
}

// noData is a dataserver for tests that touch metadata only.
type noData struct{}

func (noData) ID() string { return "none" }
func (noData) Write(context.Context, uint64, int64, []byte, bool) (uint64, uint32, error) {
	return 0, 0, syscall.EIO
}
func (noData) Read(context.Context, uint64, int64, []byte) (uint64, error) { return 0, syscall.EIO }
func (noData) Truncate(context.Context, uint64, int64) (uint64, uint32, error) {
	return 0, 0, syscall.EIO
}
func (noData) Sync(context.Context, uint64) error                       { return nil }
func (noData) Acked(context.Context, uint64) (map[string]uint64, error) { return nil, nil }
func (noData) AwaitAcked(context.Context, uint64, map[string]uint64, time.Duration) (map[string]uint64, error) {
	return nil, nil
}
func (noData) ShipNow(context.Context, uint64) error { return nil }

type testClient struct {
	fs   *FS
	meta *metaCalls
	dir  string
}

func needMount(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("mounting needs root")
	}
	if _, err := os.Stat("/dev/fuse"); err != nil {
		t.Skip("no /dev/fuse")
	}
}

func newMetaservice(t *testing.T) *ms.Service {
	ctx := context.Background()
	e, err := kv.Open(ctx, "memory:")
	require.NoError(t, err)
	svc, err := ms.Open(ctx, e, ms.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { svc.Close(); e.Close() })
	return svc
}

// mountClient mounts a client of svc; it is unmounted when the test ends.
func mountClient(t *testing.T, svc *ms.Service, opts Options) *testClient {
	m := &metaCalls{Meta: svc}
	opts.Session = ms.SessionInfo{Host: "test", Pid: os.Getpid(), MountPoint: t.Name()}
	f, err := New(m, noData{}, opts)
	require.NoError(t, err)
	dir := t.TempDir()
	srv, err := f.Mount(dir)
	require.NoError(t, err)
	t.Cleanup(func() {
		require.NoError(t, srv.Unmount())
		require.NoError(t, f.Close(context.Background()))
	})
	c := &testClient{fs: f, meta: m, dir: dir}
	require.Eventually(t, c.streamUp, 10*time.Second, 10*time.Millisecond)
	return c
}

func (c *testClient) streamUp() bool {
	c.fs.coh.mu.Lock()
	defer c.fs.coh.mu.Unlock()
	return c.fs.coh.up
}

func (c *testClient) path(name string) string { return filepath.Join(c.dir, name) }

// names lists dir (a path under the mount), sorted.
func names(t *testing.T, dir string) []string {
	ents, err := os.ReadDir(dir)
	require.NoError(t, err)
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	sort.Strings(out)
	return out
}

func mode(t *testing.T, path string) os.FileMode {
	st, err := os.Lstat(path)
	require.NoError(t, err)
	return st.Mode().Perm()
}

// change makes, on one client, a rename, an unlink, a chmod and a create
// in d, which holds f1, f2 and f3.
func change(t *testing.T, c *testClient) {
	d := c.path("d")
	require.NoError(t, os.Rename(filepath.Join(d, "f1"), filepath.Join(d, "g1")))
	require.NoError(t, os.Remove(filepath.Join(d, "f2")))
	require.NoError(t, os.Chmod(filepath.Join(d, "f3"), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(d, "new"), nil, 0o644))
}

// sees checks, with one look each, that a client sees change's result.
func sees(t *testing.T, c *testClient, what string) {
	d := c.path("d")
	_, err := os.Lstat(filepath.Join(d, "f1"))
	require.ErrorIs(t, err, os.ErrNotExist, "%s: the renamed name", what)
	_, err = os.Lstat(filepath.Join(d, "f2"))
	require.ErrorIs(t, err, os.ErrNotExist, "%s: the unlinked name", what)
	require.Equal(t, os.FileMode(0o600), mode(t, filepath.Join(d, "f3")), "%s: the chmod", what)
	_, err = os.Lstat(filepath.Join(d, "new"))
	require.NoError(t, err, "%s: the created name", what)
	require.Equal(t, []string{"f3", "g1", "new"}, names(t, d), "%s: the listing", what)
}

// setUp makes d with f1, f2, f3 on a and has b cache it all: a listing
// and a stat of each name, and a look at the names to come.
func setUp(t *testing.T, a, b *testClient) {
	d := a.path("d")
	require.NoError(t, os.RemoveAll(d))
	require.NoError(t, os.Mkdir(d, 0o755))
	for _, n := range []string{"f1", "f2", "f3"} {
		require.NoError(t, os.WriteFile(filepath.Join(d, n), nil, 0o644))
	}
	require.Equal(t, []string{"f1", "f2", "f3"}, names(t, b.path("d")))
	for _, n := range []string{"f1", "f2", "f3", "g1", "new"} {
		os.Lstat(filepath.Join(b.path("d"), n))
	}
	require.Equal(t, os.FileMode(0o644), mode(t, filepath.Join(b.path("d"), "f3")))
}

// TestTwoClientsSeeChangesAtOnce: with the stream live, a rename, unlink,
// chmod or create on one client is seen by the other's very next stat and
// listing, both ways, although each caches for ten minutes; and a second
// stat and listing of what it cached make no metaservice call.
func TestTwoClientsSeeChangesAtOnce(t *testing.T) {
	needMount(t)
	svc := newMetaservice(t)
	a := mountClient(t, svc, Options{})
	b := mountClient(t, svc, Options{})
	for i, pair := range [][2]*testClient{{a, b}, {b, a}} {
		w, r := pair[0], pair[1]
		setUp(t, w, r)
		before := r.meta.calls.Load()
		for range 3 {
			require.Equal(t, []string{"f1", "f2", "f3"}, names(t, r.path("d")))
			require.Equal(t, os.FileMode(0o644), mode(t, filepath.Join(r.path("d"), "f3")))
		}
		require.Equal(t, before, r.meta.calls.Load(), "round %d: cached listings and stats called the metaservice", i)
		change(t, w)
		sees(t, r, "with the stream live")
	}
}

// TestCutStreamFallsBackToShortTimeouts: with the stream cut (its polls
// hang), the client stops caching long and drops what it had cached, so
// a change on the other client is seen once the short timeouts pass; when
// the stream is back, changes are seen at once again.
func TestCutStreamFallsBackToShortTimeouts(t *testing.T) {
	needMount(t)
	svc := newMetaservice(t)
	short := Options{EntryTimeout: 500 * time.Millisecond, AttrTimeout: 500 * time.Millisecond,
		NegativeTimeout: 500 * time.Millisecond, InvalidationPoll: 200 * time.Millisecond}
	a := mountClient(t, svc, Options{})
	b := mountClient(t, svc, short)
	setUp(t, a, b)

	b.meta.cut.Store(true)
	require.Eventually(t, func() bool { return !b.streamUp() }, 30*time.Second, 10*time.Millisecond,
		"a cut stream is noticed")
	change(t, a)
	time.Sleep(short.AttrTimeout + 100*time.Millisecond)
	sees(t, b, "with the stream cut, after the short timeouts")

	b.meta.cut.Store(false)
	require.Eventually(t, b.streamUp, 30*time.Second, 10*time.Millisecond)
	setUp(t, a, b)
	change(t, a)
	sees(t, b, "with the stream back")
}

// dropKernelCaches makes the kernel forget every dentry and inode it can
// (the client then answers from its own cache).
func dropKernelCaches(t *testing.T) {
	require.NoError(t, os.WriteFile("/proc/sys/vm/drop_caches", []byte("2\n"), 0))
}

func nlink(t *testing.T, path string) uint64 {
	st, err := os.Lstat(path)
	require.NoError(t, err)
	return st.Sys().(*syscall.Stat_t).Nlink
}

// TestClientCacheAnswersAfterTheKernelForgets: once the kernel dropped
// its dentries and inodes, the client answers stats, and lookups of names
// absent from a directory it knows whole, from its own cache; its own
// changes and another client's are seen all the same.
func TestClientCacheAnswersAfterTheKernelForgets(t *testing.T) {
	needMount(t)
	svc := newMetaservice(t)
	a := mountClient(t, svc, Options{})
	b := mountClient(t, svc, Options{})
	d := a.path("d")
	require.NoError(t, os.Mkdir(d, 0o755))
	for _, n := range []string{"f1", "f2", "f3"} {
		require.NoError(t, os.WriteFile(filepath.Join(d, n), nil, 0o644))
	}
	dropKernelCaches(t)
	// The directory's own attributes changed with each create: they are
	// asked for again, once.
	_, err := os.Lstat(d)
	require.NoError(t, err)
	before := a.meta.calls.Load()
	for _, n := range []string{"f1", "f2", "f3"} {
		require.Equal(t, os.FileMode(0o644), mode(t, filepath.Join(d, n)))
	}
	_, err = os.Lstat(filepath.Join(d, "never-made"))
	require.ErrorIs(t, err, os.ErrNotExist)
	require.Equal(t, before, a.meta.calls.Load(), "stats and a lookup of an absent name called the metaservice")

	// Its own changes: a second name comes and goes; the link count follows.
	require.NoError(t, os.Link(filepath.Join(d, "f1"), filepath.Join(d, "l1")))
	require.Equal(t, uint64(2), nlink(t, filepath.Join(d, "f1")))
	require.NoError(t, os.Remove(filepath.Join(d, "l1")))
	dropKernelCaches(t)
	require.Equal(t, uint64(1), nlink(t, filepath.Join(d, "f1")), "after its own unlink")
	_, err = os.Lstat(filepath.Join(d, "l1"))
	require.ErrorIs(t, err, os.ErrNotExist)

	// Another client's.
	require.NoError(t, os.Chmod(filepath.Join(b.path("d"), "f2"), 0o600))
	require.NoError(t, os.Rename(filepath.Join(b.path("d"), "f3"), filepath.Join(b.path("d"), "never-made")))
	dropKernelCaches(t)
	require.Equal(t, os.FileMode(0o600), mode(t, filepath.Join(d, "f2")), "another client's chmod")
	_, err = os.Lstat(filepath.Join(d, "never-made"))
	require.NoError(t, err, "another client's rename onto a name known absent")
	_, err = os.Lstat(filepath.Join(d, "f3"))
	require.ErrorIs(t, err, os.ErrNotExist)
}
