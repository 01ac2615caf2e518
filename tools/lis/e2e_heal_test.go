package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/lis-fs/lis/dataserver"
	"github.com/lis-fs/lis/metaservice/rpc"
)

// healCluster is a metaservice that takes a dataserver silent for 5 s as
// lost (suspect after 3 s: dataservers heartbeat every 2 s), and three
// sites, each a dataserver and a mount.
func healCluster(t *testing.T, dsArgs ...string) (*metaserviceProc, map[string]site, *rpc.Client) {
	meta, sites := startSitesWithDS(t, []string{"--suspect-after", "3s", "--down-after", "4s", "--rereplicate-after", "5s"},
		dsArgs, "perth", "london", "tokyo")
	mc, err := rpc.Dial(meta.addr(), nil)
	require.NoError(t, err)
	t.Cleanup(func() { mc.Close() })
	return meta, sites, mc
}

// kill9 kills a site's dataserver, and removes its disk if told to.
func kill9(t *testing.T, s site, removeDisk bool) {
	require.NoError(t, s.ds.cmd.Process.Kill())
	s.ds.cmd.Wait()
	if removeDisk {
		require.NoError(t, os.RemoveAll(s.ds.dir))
	}
}

func setPolicyFile(t *testing.T, dir, policy string) {
	require.NoError(t, os.MkdirAll(dir, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, ".lis-policy.yaml"), []byte(policy), 0o644))
}

// TestE2EReReplication: a replica's dataserver is killed and its disk
// removed; once it has been silent past --rereplicate-after, its copy is
// made again on the third dataserver (identical, block for block), the
// record no longer names it, and lis status said what it was doing.
func TestE2EReReplication(t *testing.T) {
	needE2E(t)
	meta, sites, mc := healCluster(t)
	dir := filepath.Join(sites["perth"].mnt, "two")
	setPolicyFile(t, dir, "target_copies: 2\nwrite_ack: local_plus_one\nreplication: async_priority\n")
	data := randomData(21, 9<<20+77)
	path := filepath.Join(dir, "f")
	require.NoError(t, os.WriteFile(path, data, 0o644))
	rec := chunkRecords(t, mc, path)[0]
	require.Equal(t, "perth-1", rec.Primary)
	replica := ""
	for _, r := range rec.Replicas {
		if r.Dataserver != "perth-1" {
			replica = r.Dataserver
		}
	}
	require.NotEmpty(t, replica)
	lostSite := replica[:len(replica)-2]
	third := map[string]string{"london": "tokyo", "tokyo": "london"}[lostSite]
	requireSameCopies(t, uint64(rec.ID), sites["perth"].ds, sites[lostSite].ds)

	killed := time.Now()
	kill9(t, sites[lostSite], true)
	var sawHealing bool
	defer func() {
		if t.Failed() {
			out, _ := runLis("status", "--meta", meta.addr())
			t.Logf("chunk records: %+v\nlis status:\n%s\nmetaservice log:\n%s", chunkRecords(t, mc, path), out, meta.log)
		}
	}()
	require.Eventually(t, func() bool {
		out, _ := runLis("status", "--meta", meta.addr())
		sawHealing = sawHealing || regexpMatch(`re-replicating the copies of lost `+replica, out)
		r := chunkRecords(t, mc, path)[0]
		return slices.Equal(copySites(r), []string{"perth", third})
	}, 60*time.Second, 200*time.Millisecond, "the lost copy on %s was never made again", replica)
	requireSameCopies(t, uint64(rec.ID), sites["perth"].ds, sites[third].ds)
	t.Logf("full redundancy again %s after %s was killed (lost after 5 s)", time.Since(killed).Round(100*time.Millisecond), replica)
	require.True(t, sawHealing, "lis status never said it was re-replicating the copies of %s", replica)
	requireContent(t, filepath.Join(sites[third].mnt, "two", "f"), data, "read at "+third)
}

// TestE2EFailoverLosesOnlyUnsynced: a file is fsynced under
// local_plus_one, then written on under local_only with lazy shipping (so
// nothing more leaves the primary); the primary's dataserver is killed.
// Once it is lost the chunk fails over to the replica: the writes only
// the primary had are reported lost, by file, range and versions; every
// fsynced byte is there; and a writer at the replica's site goes on. When
// the old primary comes back with its disk, its divergent copy is deleted,
// nothing of it reaches the other copies, and a copy it takes again is the
// new primary's.
func TestE2EFailoverLosesOnlyUnsynced(t *testing.T) {
	needE2E(t)
	meta, sites, mc := healCluster(t, "--lazy-window", "1h")
	dir := filepath.Join(sites["perth"].mnt, "db")
	setPolicyFile(t, dir, "target_copies: 2\nwrite_ack: local_plus_one\nreplication: async_lazy\n")
	path := filepath.Join(dir, "f")
	synced := randomData(31, 3<<20)
	f, err := os.Create(path)
	require.NoError(t, err)
	_, err = f.Write(synced)
	require.NoError(t, err)
	require.NoError(t, f.Sync())
	setPolicyFile(t, dir, "target_copies: 2\nwrite_ack: local_only\nreplication: async_lazy\n")
	_, err = f.WriteAt(randomData(32, 1<<20), 1<<20) // acknowledged on perth only
	require.NoError(t, err)
	require.NoError(t, f.Close())
	rec := chunkRecords(t, mc, path)[0]
	replica := ""
	for _, r := range rec.Replicas {
		if r.Dataserver != "perth-1" {
			replica = r.Dataserver
		}
	}
	other := sites[replica[:len(replica)-2]]

	kill9(t, sites["perth"], false)
	var out string
	require.Eventually(t, func() bool {
		out, _ = runLis("status", "--meta", meta.addr())
		return regexpMatch(`LOST: writes to /db/f, bytes \[0, 67108864\), versions \d+-\d+, with dataserver perth-1`, out)
	}, 60*time.Second, 250*time.Millisecond, "the loss was never reported:\n%s", out)
	t.Logf("lis status after perth-1 was lost:\n%s", out)
	require.Equal(t, replica, chunkRecords(t, mc, path)[0].Primary, "the chunk did not fail over")

	// Every fsynced byte is there; the replica's site writes on.
	otherPath := filepath.Join(other.mnt, "db", "f")
	requireContent(t, otherPath, synced, "read at the new primary after the failover")
	g, err := os.OpenFile(otherPath, os.O_WRONLY|os.O_APPEND, 0)
	require.NoError(t, err)
	_, err = g.Write([]byte("after the failover"))
	require.NoError(t, err)
	require.NoError(t, g.Close())
	want := append(slices.Clone(synced), "after the failover"...)
	requireContent(t, otherPath, want, "written at the new primary")

	// perth-1 returns: its copy, which had versions no other has, is
	// quarantined, the lost writes in it; it may take a copy again, the
	// new primary's, block for block.
	back := startDataserver(t, sites["perth"].ds.dir, "perth-1", "--site", "perth", "--region", "r-perth",
		"--meta", meta.addr(), "--lazy-window", "1h")
	sites["perth"] = site{ds: back, mnt: sites["perth"].mnt}
	q := awaitQuarantined(t, meta.addr(), "perth-1", uint64(rec.ID))
	kept, err := os.ReadFile(q.Path)
	require.NoError(t, err)
	require.Equal(t, randomData(32, 1<<20), kept[1<<20:2<<20], "the quarantined copy holds the lost writes")
	out, _ = runLis("status", "--meta", meta.addr())
	require.Contains(t, out, "Quarantined copies")
	t.Logf("lis status after perth-1 returned:\n%s", out)
	require.Eventually(t, func() bool {
		copies := copySites(chunkRecords(t, mc, path)[0])
		return slices.Contains(copies, "perth") || !holdsChunk(t, back, uint64(rec.ID))
	}, 30*time.Second, 200*time.Millisecond, "the returning old primary kept its divergent copy")
	var copies []*dataserverProc
	for _, n := range copySites(chunkRecords(t, mc, path)[0]) {
		copies = append(copies, sites[n].ds)
	}
	requireSameCopies(t, uint64(rec.ID), copies...)
	requireContent(t, otherPath, want, "read at the new primary after the old one returned")
}

// awaitQuarantined waits until lis status lists chunk's copy on ds as
// quarantined, and returns the entry.
func awaitQuarantined(t *testing.T, meta, ds string, chunk uint64) quarantined {
	t.Helper()
	var found quarantined
	require.Eventually(t, func() bool {
		for _, q := range statusAt(t, meta).Quarantined {
			if q.Dataserver == ds && q.Chunk == fmt.Sprintf("%x", chunk) {
				found = q
				return true
			}
		}
		return false
	}, 30*time.Second, 200*time.Millisecond, "the copy of chunk %x on %s was never quarantined", chunk, ds)
	return found
}

func regexpMatch(pattern, s string) bool { return regexp.MustCompile(pattern).MatchString(s) }

// holdsChunk says whether the dataserver has a copy of chunk.
func holdsChunk(t *testing.T, ds *dataserverProc, chunk uint64) bool {
	c, err := dataserver.Dial("unix:" + ds.unix)
	require.NoError(t, err)
	defer c.Close()
	_, err = c.ChunkInfo(context.Background(), chunk)
	if errors.Is(err, syscall.ENOENT) {
		return false
	}
	require.NoError(t, err)
	return true
}

// TestE2EJournalOverflowOutage: a replica stopped for "an hour" (its
// dataserver SIGSTOPped while far more is written than the primary's
// journal may hold) never blocks the writer: the primary drops the
// stalled peer from its journal and brings its journal back within the
// limit;
// once the replica is back, it is resynced and holds what the primary
// holds, block for block.
func TestE2EJournalOverflowOutage(t *testing.T) {
	needE2E(t)
	meta, sites := startSitesWithDS(t, nil, []string{"--journal-limit", fmt.Sprint(64 << 20)}, "perth", "london")
	mc, err := rpc.Dial(meta.addr(), nil)
	require.NoError(t, err)
	defer mc.Close()
	dir := filepath.Join(sites["perth"].mnt, "vm")
	setPolicyFile(t, dir, "target_copies: 2\nwrite_ack: local_only\nreplication: async_priority\n")
	path := filepath.Join(dir, "disk.img")
	require.NoError(t, os.WriteFile(path, randomData(51, 1<<20), 0o644))
	rec := chunkRecords(t, mc, path)[0]
	requireSameCopies(t, uint64(rec.ID), sites["perth"].ds, sites["london"].ds)

	london := sites["london"].ds
	require.NoError(t, london.cmd.Process.Signal(syscall.SIGSTOP))
	defer london.cmd.Process.Signal(syscall.SIGCONT)
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	require.NoError(t, err)
	chunk := randomData(100, 1<<20)
	for i := range 320 { // 320 MiB of overwrites, five times the journal limit
		chunk[0] = byte(i)
		_, err := f.WriteAt(chunk, int64(i%16)<<20)
		require.NoError(t, err)
	}
	require.NoError(t, f.Close())
	// The journal frees whole segments (64 MiB), and the limit is enforced
	// at appends and after each checkpoint: it ends within a segment of
	// the limit.
	require.Eventually(t, func() bool { return dataserverStat(t, sites["perth"].ds).JournalBytes <= 128<<20 },
		30*time.Second, 100*time.Millisecond, "the primary's journal stays past its limit for a stalled peer")

	require.NoError(t, london.cmd.Process.Signal(syscall.SIGCONT))
	requireSameCopies(t, uint64(rec.ID), sites["perth"].ds, london)
	require.Positive(t, peerResyncs(t, sites["perth"].ds, "london-1"), "the peer was never dropped and resynced")
}

// startSitesWithDS is startSites with extra metaservice and dataserver
// flags.
func startSitesWithDS(t *testing.T, metaArgs, dsArgs []string, names ...string) (*metaserviceProc, map[string]site) {
	meta := startMetaservice(t, shortTempDir(t), metaArgs...)
	base := publicTempDir(t)
	sites := map[string]site{}
	for _, n := range names {
		ds := startDataserver(t, shortTempDir(t), n+"-1", append([]string{"--site", n, "--region", "r-" + n,
			"--meta", meta.addr()}, dsArgs...)...)
		mnt := filepath.Join(base, n)
		require.NoError(t, os.Mkdir(mnt, 0o755))
		mountLis(t, "--meta", meta.addr(), "--dataserver", "unix:"+ds.unix, mnt)
		sites[n] = site{ds: ds, mnt: mnt}
	}
	return meta, sites
}

func dataserverStat(t *testing.T, ds *dataserverProc) *dataserver.Stat {
	c, err := dataserver.Dial("unix:" + ds.unix)
	require.NoError(t, err)
	defer c.Close()
	st, err := c.Stat(context.Background())
	require.NoError(t, err)
	return st
}

func peerResyncs(t *testing.T, ds *dataserverProc, peer string) uint64 {
	for _, p := range dataserverStat(t, ds).Peers {
		if p.Peer.ID == peer {
			return p.Resyncs
		}
	}
	return 0
}
