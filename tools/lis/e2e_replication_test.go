package main

import (
	"context"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/lis-fs/lis/dataserver"
	ms "github.com/lis-fs/lis/metaservice"
	"github.com/lis-fs/lis/metaservice/rpc"
)

// randomData returns n reproducible random bytes.
func randomData(seed uint64, n int) []byte {
	rng := rand.New(rand.NewPCG(seed, seed))
	out := make([]byte, n)
	for i := range out {
		out[i] = byte(rng.Uint32())
	}
	return out
}

// holders returns the dataservers of sites that hold chunk.
func holders(t *testing.T, sites map[string]site, chunk uint64) []string {
	t.Helper()
	var out []string
	for name, s := range sites {
		c, err := dataserver.Dial(s.ds.tcp)
		require.NoError(t, err)
		_, err = c.ChunkInfo(context.Background(), chunk)
		c.Close()
		if !errors.Is(err, syscall.ENOENT) {
			require.NoError(t, err)
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

// copySites returns the sites of a chunk record's copies, sorted.
func copySites(rec ms.IndexedChunk) []string {
	var out []string
	for _, r := range rec.Replicas {
		out = append(out, strings.TrimSuffix(r.Dataserver, "-1"))
	}
	slices.Sort(out)
	return out
}

// awaitCopies waits until the record of the only chunk of path has n
// copies, every one of them holds it block for block, and no other
// dataserver holds it.
func awaitCopies(t *testing.T, mc *rpc.Client, sites map[string]site, path string, n int) {
	t.Helper()
	var recs []ms.IndexedChunk
	require.Eventually(t, func() bool {
		recs = chunkRecords(t, mc, path)
		return len(recs) == 1 && len(recs[0].Replicas) == n
	}, time.Minute, 100*time.Millisecond, "the chunk of %s never had %d copies: %+v", path, n, recs)
	chunk, want := uint64(recs[0].ID), copySites(recs[0])
	var dss []*dataserverProc
	for _, s := range want {
		dss = append(dss, sites[s].ds)
	}
	requireSameCopies(t, chunk, dss...)
	require.Eventually(t, func() bool { return slices.Equal(holders(t, sites, chunk), want) },
		time.Minute, 100*time.Millisecond, "chunk %x is held by %v, placed on %v", chunk, holders(t, sites, chunk), want)
}

// TestE2EPolicyChangeReplaces: changing a directory's policy file through
// the mount re-places the chunks already written below it (3 copies → 2
// → 3, surplus copies deleted from their dataservers), and moving a
// subtree to a directory under another policy re-places it too.
func TestE2EPolicyChangeReplaces(t *testing.T) {
	needE2E(t)
	meta, sites := startSites(t, "perth", "london", "nyc")
	perth := sites["perth"].mnt
	mc, err := rpc.Dial(meta.addr(), nil)
	require.NoError(t, err)
	defer mc.Close()
	vms := filepath.Join(perth, "vms")
	require.NoError(t, os.MkdirAll(filepath.Join(vms, "a"), 0o755))
	setPolicy := func(dir, text string) {
		require.NoError(t, os.WriteFile(filepath.Join(dir, ".lis-policy.yaml"), []byte(text), 0o644))
	}
	setPolicy(vms, "target_copies: 3\nwrite_ack: local_only\n")
	disk := filepath.Join(vms, "a", "disk.img")
	data := randomData(7, 2<<20+99)
	require.NoError(t, os.WriteFile(disk, data, 0o644))
	awaitCopies(t, mc, sites, disk, 3)

	setPolicy(vms, "target_copies: 2\nwrite_ack: local_only\n")
	awaitCopies(t, mc, sites, disk, 2)
	setPolicy(vms, "target_copies: 3\nwrite_ack: local_only\n")
	awaitCopies(t, mc, sites, disk, 3)

	// A subtree moved under another policy is re-placed.
	single := filepath.Join(perth, "scratch")
	require.NoError(t, os.Mkdir(single, 0o755))
	setPolicy(single, "target_copies: 1\n")
	require.NoError(t, os.Rename(filepath.Join(vms, "a"), filepath.Join(single, "a")))
	moved := filepath.Join(single, "a", "disk.img")
	awaitCopies(t, mc, sites, moved, 1)
	for _, s := range []string{"london", "nyc"} {
		requireContent(t, filepath.Join(sites[s].mnt, "scratch", "a", "disk.img"), data, "read at "+s+" after re-placement")
	}
}

// TestE2ELazyReplication: under async_lazy a file written at perth reads
// correctly at london before any copy reached london; the batch goes when
// the dataserver's lazy window closes; and under write_ack local_plus_one
// fsync does not wait for the window: it ships at once.
func TestE2ELazyReplication(t *testing.T) {
	needE2E(t)
	meta := startMetaservice(t, shortTempDir(t))
	base := publicTempDir(t)
	sites := map[string]site{}
	for _, n := range []string{"perth", "london"} {
		ds := startDataserver(t, shortTempDir(t), n+"-1", "--site", n, "--region", "r-"+n, "--meta", meta.addr(),
			"--lazy-window", "4s")
		mnt := filepath.Join(base, n)
		require.NoError(t, os.Mkdir(mnt, 0o755))
		mountLis(t, "--meta", meta.addr(), "--dataserver", "unix:"+ds.unix, mnt)
		sites[n] = site{ds: ds, mnt: mnt}
	}
	mc, err := rpc.Dial(meta.addr(), nil)
	require.NoError(t, err)
	defer mc.Close()
	perth, london := sites["perth"].mnt, sites["london"].mnt
	lazy := filepath.Join(perth, "lazy")
	require.NoError(t, os.Mkdir(lazy, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(lazy, ".lis-policy.yaml"),
		[]byte("replication: async_lazy\nwrite_ack: local_only\ntarget_copies: 2\n"), 0o644))

	data := randomData(8, 1<<20+3)
	start := time.Now()
	require.NoError(t, os.WriteFile(filepath.Join(lazy, "log"), data, 0o644))
	rec := chunkRecords(t, mc, filepath.Join(lazy, "log"))[0]
	require.Equal(t, []string{"london", "perth"}, copySites(rec))
	requireContent(t, filepath.Join(london, "lazy", "log"), data, "read at london before the batch")
	if time.Since(start) < 3*time.Second {
		require.Equal(t, []string{"perth"}, holders(t, sites, uint64(rec.ID)), "nothing shipped before the window")
	}
	requireSameCopies(t, uint64(rec.ID), sites["perth"].ds, sites["london"].ds)

	// 1,000 overwrites of one 4 KiB range within a batch cross the wire
	// about once.
	hot := filepath.Join(lazy, "hot")
	require.NoError(t, os.WriteFile(hot, data, 0o644))
	requireSameCopies(t, uint64(chunkRecords(t, mc, hot)[0].ID), sites["perth"].ds, sites["london"].ds)
	before := shippedBytes(t, sites["perth"].ds)
	f, err := os.OpenFile(hot, os.O_WRONLY, 0)
	require.NoError(t, err)
	for i := range 1000 {
		_, err := f.WriteAt(randomData(uint64(i), 4096), 70_000)
		require.NoError(t, err)
	}
	require.NoError(t, f.Close())
	requireSameCopies(t, uint64(chunkRecords(t, mc, hot)[0].ID), sites["perth"].ds, sites["london"].ds)
	shipped := shippedBytes(t, sites["perth"].ds) - before
	require.Less(t, shipped, int64(3*64<<10), "1,000 overwrites of 4 KiB shipped as %d bytes", shipped)

	// write_ack local_plus_one: fsync ships the batch at once.
	require.NoError(t, os.WriteFile(filepath.Join(lazy, ".lis-policy.yaml"),
		[]byte("replication: async_lazy\nwrite_ack: local_plus_one\ntarget_copies: 2\n"), 0o644))
	f, err = os.Create(filepath.Join(lazy, "db"))
	require.NoError(t, err)
	_, err = f.Write(data)
	require.NoError(t, err)
	start = time.Now()
	require.NoError(t, f.Sync())
	require.Less(t, time.Since(start), 3*time.Second, "fsync did not wait for the lazy window")
	require.NoError(t, f.Close())
	db := chunkRecords(t, mc, filepath.Join(lazy, "db"))[0]
	require.Equal(t, []string{"london", "perth"}, holders(t, sites, uint64(db.ID)))
	require.NoError(t, sites["perth"].ds.cmd.Process.Kill())
	sites["perth"].ds.cmd.Wait()
	requireContent(t, filepath.Join(london, "lazy", "db"), data, "read at london after perth's dataserver died")
}

// TestE2ESyncReplication: under replication: sync, write() returns only
// once every copy holds what it wrote.
func TestE2ESyncReplication(t *testing.T) {
	needE2E(t)
	meta, sites := startSites(t, "perth", "london", "nyc")
	mc, err := rpc.Dial(meta.addr(), nil)
	require.NoError(t, err)
	defer mc.Close()
	dir := filepath.Join(sites["perth"].mnt, "sync")
	require.NoError(t, os.Mkdir(dir, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, ".lis-policy.yaml"), []byte("replication: sync\ntarget_copies: 3\n"), 0o644))
	f, err := os.Create(filepath.Join(dir, "journal"))
	require.NoError(t, err)
	defer f.Close()
	var clients []*dataserver.Client
	for _, s := range []string{"perth", "london", "nyc"} {
		c, err := dataserver.Dial(sites[s].ds.tcp)
		require.NoError(t, err)
		defer c.Close()
		clients = append(clients, c)
	}
	for i := range 20 {
		_, err := f.Write(randomData(uint64(i), 64<<10+i))
		require.NoError(t, err)
		recs := chunkRecords(t, mc, f.Name())
		require.Len(t, recs, 1)
		var versions []uint64
		for _, c := range clients {
			info, err := c.ChunkInfo(context.Background(), uint64(recs[0].ID))
			require.NoError(t, err, "write %d", i)
			versions = append(versions, info.Version)
		}
		require.Equal(t, versions[0], versions[1], "write %d: london holds perth's version when write() returns", i)
		require.Equal(t, versions[0], versions[2], "write %d: nyc holds perth's version when write() returns", i)
	}
}

// TestE2EAdminCallsOnlyFromMetaservice: a client that reaches a dataserver
// cannot make it accept a lease, a replica list or a deletion the
// metaservice did not make (EPERM), while the metaservice's own calls
// work; and the token never shows in what clients see of the registry.
func TestE2EAdminCallsOnlyFromMetaservice(t *testing.T) {
	needE2E(t)
	meta, sites := startSites(t, "perth", "london")
	perth := sites["perth"]
	require.NoError(t, os.WriteFile(filepath.Join(perth.mnt, "f"), []byte("granted by the metaservice"), 0o644))
	mc, err := rpc.Dial(meta.addr(), nil)
	require.NoError(t, err)
	defer mc.Close()
	rec := chunkRecords(t, mc, filepath.Join(perth.mnt, "f"))[0]
	chunk := uint64(rec.ID)

	ctx := context.Background()
	for _, addr := range []string{perth.ds.tcp, "unix:" + perth.ds.unix} {
		c, err := dataserver.Dial(addr)
		require.NoError(t, err)
		defer c.Close()
		err = c.GrantLease(ctx, dataserver.Lease{Chunk: chunk, Holder: "perth-1", Epoch: 99, Expiry: time.Now().Add(time.Hour).UnixNano()})
		require.ErrorIs(t, err, syscall.EPERM, "a lease from a client, over %s", addr)
		err = c.SetReplicas(ctx, dataserver.SetReplicasReq{Chunk: chunk, Replicas: []dataserver.Peer{{ID: "evil", Addr: "127.0.0.1:1"}}})
		require.ErrorIs(t, err, syscall.EPERM, "a replica list from a client, over %s", addr)
		require.ErrorIs(t, c.Delete(ctx, chunk), syscall.EPERM, "a deletion from a client, over %s", addr)
		err = c.RevokeLease(ctx, chunk, 99)
		require.ErrorIs(t, err, syscall.EPERM, "a revoke from a client, over %s", addr)
	}
	token, err := os.ReadFile(filepath.Join(perth.ds.dir, dataserver.AdminTokenFile))
	require.NoError(t, err)
	out, err := runLis("dataservers", "--meta", meta.addr())
	require.NoError(t, err, out)
	require.NotContains(t, out, strings.TrimSpace(string(token)))
	list, err := mc.ListDataservers(ctx)
	require.NoError(t, err)
	for _, d := range list {
		require.Empty(t, d.AdminToken, "%s's token shown to a client", d.ID)
	}

	// The metaservice's calls still work: a write from london moves the
	// lease, and the content is one.
	require.NoError(t, os.WriteFile(filepath.Join(sites["london"].mnt, "f"), []byte("moved by the metaservice"), 0o644))
	requireContent(t, filepath.Join(perth.mnt, "f"), []byte("moved by the metaservice"), "read at perth")
}

// TestE2ERemoteReadCache: data read from another site's dataserver is
// kept by the reading client: read again (with the kernel's page cache
// dropped) it comes back even while that dataserver does not answer.
func TestE2ERemoteReadCache(t *testing.T) {
	needE2E(t)
	if os.Geteuid() != 0 {
		t.Skip("dropping the kernel's page cache needs root")
	}
	_, sites := startSites(t, "perth", "london")
	dir := filepath.Join(sites["perth"].mnt, "one")
	require.NoError(t, os.Mkdir(dir, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, ".lis-policy.yaml"), []byte("target_copies: 1\n"), 0o644))
	data := randomData(9, 3<<20+11)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "img"), data, 0o644))
	at := filepath.Join(sites["london"].mnt, "one", "img")
	requireContent(t, at, data, "first read at london, from perth")

	perth := sites["perth"].ds.cmd.Process
	require.NoError(t, perth.Signal(syscall.SIGSTOP))
	defer perth.Signal(syscall.SIGCONT)
	require.NoError(t, os.WriteFile("/proc/sys/vm/drop_caches", []byte("3\n"), 0))
	done := make(chan struct{})
	go func() {
		defer close(done)
		requireContent(t, at, data, "second read at london, perth's dataserver stopped")
	}()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		perth.Signal(syscall.SIGCONT)
		<-done
		t.Fatal("the second read went to perth's dataserver instead of the cache")
	}
}

// TestE2EPerRegion: under "target_copies: 2_per_region" a chunk gets two
// copies in every region that has live dataservers (distinct sites first),
// one where the region has only one, which `lis policy show` warns about.
func TestE2EPerRegion(t *testing.T) {
	needE2E(t)
	meta := startMetaservice(t, shortTempDir(t))
	type host struct{ id, site, region string }
	hosts := []host{{"perth-1", "perth", "au"}, {"perth-2", "perth", "au"}, {"sydney-1", "sydney", "au"},
		{"london-1", "london", "eu"}, {"london-2", "london", "eu"}, {"nyc-1", "nyc", "us"}}
	dss := map[string]*dataserverProc{}
	for _, h := range hosts {
		dss[h.id] = startDataserver(t, shortTempDir(t), h.id, "--site", h.site, "--region", h.region, "--meta", meta.addr())
	}
	mnt := filepath.Join(publicTempDir(t), "perth")
	require.NoError(t, os.Mkdir(mnt, 0o755))
	mountLis(t, "--meta", meta.addr(), "--dataserver", "unix:"+dss["perth-1"].unix, mnt)
	require.Eventually(t, func() bool { return len(listDataservers(t, meta.addr())) == len(hosts) }, 30*time.Second, 50*time.Millisecond)

	dir := filepath.Join(mnt, "db")
	require.NoError(t, os.Mkdir(dir, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, ".lis-policy.yaml"), []byte("target_copies: 2_per_region\n"), 0o644))
	file := filepath.Join(dir, "data")
	require.NoError(t, os.WriteFile(file, randomData(10, 1<<20), 0o644))
	mc, err := rpc.Dial(meta.addr(), nil)
	require.NoError(t, err)
	defer mc.Close()
	rec := chunkRecords(t, mc, file)[0]
	var ids []string
	var copies []*dataserverProc
	for _, r := range rec.Replicas {
		ids = append(ids, r.Dataserver)
		copies = append(copies, dss[r.Dataserver])
	}
	require.Equal(t, []string{"perth-1", "sydney-1", "london-1", "london-2", "nyc-1"}, ids,
		"two per region, a new site before a second host in one; one in us, which has one")
	requireSameCopies(t, uint64(rec.ID), copies...)
	out, err := runLis("policy", "show", file)
	require.NoError(t, err, out)
	require.Contains(t, out, `warning: region "us" has 1 live dataserver(s) with free space, fewer than the 2 copies per region asked for`)
}

// shippedBytes is what the dataserver ds has sent its replication peers,
// before compression.
func shippedBytes(t *testing.T, ds *dataserverProc) int64 {
	t.Helper()
	c, err := dataserver.Dial(ds.tcp)
	require.NoError(t, err)
	defer c.Close()
	st, err := c.Stat(context.Background())
	require.NoError(t, err)
	var n int64
	for _, p := range st.Peers {
		n += p.RawBytes
	}
	return n
}

// TestE2EAdvertise: a dataserver registers the address it is told to
// advertise (here a proxy 10 ms away), and peers and remote readers reach
// it there.
func TestE2EAdvertise(t *testing.T) {
	needE2E(t)
	meta := startMetaservice(t, shortTempDir(t))
	listen := freePort(t)
	proxy := startDelayProxy(t, listen, 5*time.Millisecond)
	perth := startDataserver(t, shortTempDir(t), "perth-1", "--site", "perth", "--region", "au", "--meta", meta.addr(),
		"--listen", listen, "--advertise", proxy.addr())
	london := startDataserver(t, shortTempDir(t), "london-1", "--site", "london", "--region", "eu", "--meta", meta.addr())
	require.Eventually(t, func() bool { return listDataservers(t, meta.addr())["perth-1"].Addr == proxy.addr() },
		30*time.Second, 50*time.Millisecond, "perth-1 registered its advertised address")
	base := publicTempDir(t)
	mnts := map[string]string{}
	for name, ds := range map[string]*dataserverProc{"perth": perth, "london": london} {
		mnts[name] = filepath.Join(base, name)
		require.NoError(t, os.Mkdir(mnts[name], 0o755))
		mountLis(t, "--meta", meta.addr(), "--dataserver", "unix:"+ds.unix, mnts[name])
	}
	dir := filepath.Join(mnts["perth"], "one")
	require.NoError(t, os.Mkdir(dir, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, ".lis-policy.yaml"), []byte("target_copies: 1\n"), 0o644))
	data := randomData(11, 1<<20)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "f"), data, 0o644))
	requireContent(t, filepath.Join(mnts["london"], "one", "f"), data, "read at london through perth's advertised address")
}
