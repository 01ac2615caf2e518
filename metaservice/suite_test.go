package metaservice

import (
	"context"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/lis-fs/lis/metaservice/dspool"
	"github.com/lis-fs/lis/metaservice/kv"
	"github.com/lis-fs/lis/metaservice/registry"
)

// engineFactory opens a fresh, empty engine for one test.
type engineFactory func(t *testing.T) kv.Engine

func memoryEngine(t *testing.T) kv.Engine {
	e, err := kv.Open(context.Background(), "memory:")
	require.NoError(t, err)
	t.Cleanup(func() { e.Close() })
	return e
}

// fixture is a Service on a fresh engine with a fake clock.
type fixture struct {
	t   *testing.T
	s   *Service
	ctx context.Context
	now time.Time
	ds  *dspool.Fake // the dataservers the service reaches
}

func newFixture(t *testing.T, open engineFactory) *fixture {
	f := &fixture{t: t, ctx: context.Background(), now: time.Unix(1_700_000_000, 0), ds: dspool.NewFake()}
	s, err := Open(f.ctx, open(t), Options{Now: func() time.Time { return f.now }, ReapInterval: time.Hour,
		ReclaimInterval: time.Hour, Dataservers: f.ds})
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	f.s = s
	// The tests' users work in a world-writable root.
	_, err = s.SetAttr(f.ctx, Root, RootIno, SetAttrIn{Valid: SetMode, Mode: 0777})
	require.NoError(t, err)
	return f
}

var (
	alice = &Cred{Uid: 1000, Gid: 1000}
	bob   = &Cred{Uid: 1001, Gid: 1001}
)

// register registers dataservers ids, each at address "fake:ID".
func (f *fixture) register(ids ...string) {
	f.t.Helper()
	for _, id := range ids {
		require.NoError(f.t, f.s.DataserverHeartbeat(f.ctx, registry.Heartbeat{ID: id, Addr: "fake:" + id}))
	}
}

func (f *fixture) mkdir(c *Cred, parent Ino, name string, mode uint32) *Attr {
	f.t.Helper()
	a, err := f.s.Mkdir(f.ctx, c, parent, name, NewNode{Mode: mode})
	require.NoError(f.t, err)
	return a
}

func (f *fixture) create(c *Cred, parent Ino, name string, mode uint32) *Attr {
	f.t.Helper()
	a, err := f.s.Mknod(f.ctx, c, parent, name, NewNode{Mode: syscall.S_IFREG | mode})
	require.NoError(f.t, err)
	return a
}

func (f *fixture) lookup(parent Ino, name string) *Attr {
	f.t.Helper()
	a, err := f.s.Lookup(f.ctx, Root, parent, name)
	require.NoError(f.t, err)
	return a
}

func (f *fixture) attr(ino Ino) *Attr {
	f.t.Helper()
	a, err := f.s.GetAttr(f.ctx, ino)
	require.NoError(f.t, err)
	return a
}

func (f *fixture) names(dir Ino) []string {
	f.t.Helper()
	var out []string
	for cookie := uint64(0); ; {
		ents, err := f.s.ReadDir(f.ctx, Root, dir, cookie, 100, false)
		require.NoError(f.t, err)
		if len(ents) == 0 {
			return out
		}
		for _, e := range ents {
			if e.Name != "." && e.Name != ".." {
				out = append(out, e.Name)
			}
		}
		cookie = ents[len(ents)-1].Cookie
	}
}

// fsckClean asserts the namespace has no violations.
func (f *fixture) fsckClean() {
	f.t.Helper()
	require.NoError(f.t, f.s.flushUsage(f.ctx))
	rep, err := f.s.Fsck(f.ctx)
	require.NoError(f.t, err)
	require.Empty(f.t, rep.Violations)
}

func requireErrno(t *testing.T, err error, errno syscall.Errno) {
	t.Helper()
	require.Error(t, err)
	require.ErrorIs(t, err, errno, "got %v", err)
}

// suite lists the namespace tests every engine must pass.
var suite = map[string]func(t *testing.T, f *fixture){
	"CreateLookup":        testCreateLookup,
	"Names":               testNames,
	"MkdirRmdir":          testMkdirRmdir,
	"LinkUnlink":          testLinkUnlink,
	"Rename":              testRename,
	"RenameExchange":      testRenameExchange,
	"ReadDirCookies":      testReadDirCookies,
	"SetAttrRules":        testSetAttrRules,
	"KillPriv":            testKillPriv,
	"StickyAndSetgid":     testStickyAndSetgid,
	"Xattrs":              testXattrs,
	"ACL":                 testACL,
	"OpenUnlinked":        testOpenUnlinked,
	"ReleaseOpens":        testReleaseOpens,
	"CreateFile":          testCreateFile,
	"OpenDirRemoved":      testOpenDirRemoved,
	"OpenRacesUnlink":     testOpenRacesUnlink,
	"SessionReap":         testSessionReap,
	"Flock":               testFlock,
	"PosixLocks":          testPosixLocks,
	"ChunksAndTruncate":   testChunksAndTruncate,
	"Policies":            testPolicies,
	"Shards":              testShards,
	"Registry":            testRegistry,
	"LeaseHandover":       testLeaseHandover,
	"ReclaimChunks":       testReclaimChunks,
	"Placement":           testPlacement,
	"PlacementReview":     testPlacementReview,
	"CopyVersions":        testCopyVersions,
	"FaultyGetsNoCopies":  testFaultyGetsNoCopies,
	"DataBlocks":          testDataBlocks,
	"ReconcileChunks":     testReconcileChunks,
	"ReviewUnqueues":      testReviewUnqueuesWantedCopy,
	"ShardRootRemoval":    testShardRootRemoval,
	"FsckFindsStaleShard": testFsckFindsStaleShard,
	"FsckFindsDamage":     testFsckFindsDamage,
	"StatFS":              testStatFS,
	"Rereplication":       testRereplication,
	"Failover":            testFailover,
	"FailoverStaleCopy":   testFailoverStaleCopy,
}

func runSuite(t *testing.T, open engineFactory) {
	for name, test := range suite {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			test(t, newFixture(t, open))
		})
	}
}

func TestNamespaceEmbedded(t *testing.T) { runSuite(t, memoryEngine) }
