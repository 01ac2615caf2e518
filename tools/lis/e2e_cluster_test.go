package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/lis-fs/lis/dataserver"
	ms "github.com/lis-fs/lis/metaservice"
	"github.com/lis-fs/lis/metaservice/registry"
	"github.com/lis-fs/lis/metaservice/rpc"
)

// metaserviceProc is a `lis metaservice` process started by a test,
// serving on a unix socket.
type metaserviceProc struct {
	cmd  *exec.Cmd
	log  *syncBuffer
	sock string
}

// startMetaservice runs `lis metaservice` on an embedded store in dir and
// waits until its socket answers; it is killed at cleanup if the test
// did not stop it.
func startMetaservice(t testing.TB, dir string, args ...string) *metaserviceProc {
	t.Helper()
	p := &metaserviceProc{sock: filepath.Join(dir, "meta.sock")}
	args = append([]string{"metaservice", "--meta-url", "embedded:" + filepath.Join(dir, "meta"), "--unix", p.sock}, args...)
	p.cmd, p.log = startDaemon(t, args...)
	require.Eventually(t, func() bool {
		c, err := net.Dial("unix", p.sock)
		if err == nil {
			c.Close()
		}
		return err == nil
	}, 30*time.Second, 20*time.Millisecond, "lis metaservice never served:\n%s", p.log)
	return p
}

func (p *metaserviceProc) addr() string { return "unix:" + p.sock }

func (p *metaserviceProc) stop(t testing.TB) {
	t.Helper()
	require.NoError(t, p.cmd.Process.Signal(syscall.SIGTERM))
	require.NoError(t, p.cmd.Wait(), "lis metaservice exited badly:\n%s", p.log)
}

// listDataservers runs `lis dataservers --json`.
func listDataservers(t testing.TB, meta string) map[string]ms.DataserverStatus {
	t.Helper()
	out, err := exec.Command(lisBin, "dataservers", "--meta", meta, "--json").Output()
	require.NoError(t, err, "lis dataservers: %s", out)
	var ds []ms.DataserverStatus
	require.NoError(t, json.Unmarshal(out, &ds), "%s", out)
	byID := map[string]ms.DataserverStatus{}
	for _, d := range ds {
		byID[d.ID] = d
	}
	return byID
}

// TestE2ERegistry: `lis dataserver --meta` registers and heartbeats; the
// registry lists sites, regions, addresses and space, is kept across a
// metaservice restart, marks a silent dataserver suspect, and refuses a
// second dataserver that claims a live ID from another address.
func TestE2ERegistry(t *testing.T) {
	needE2E(t)
	metaDir := shortTempDir(t)
	meta := startMetaservice(t, metaDir, "--suspect-after", "3s", "--down-after", "1h")
	perth := startDataserver(t, shortTempDir(t), "perth-1", "--site", "perth", "--region", "au", "--meta", meta.addr())
	london := startDataserver(t, shortTempDir(t), "london-1", "--site", "london", "--region", "eu", "--meta", meta.addr())

	ds := listDataservers(t, meta.addr())
	require.Len(t, ds, 2)
	for _, c := range []struct {
		id, site, region string
		p                *dataserverProc
	}{{"perth-1", "perth", "au", perth}, {"london-1", "london", "eu", london}} {
		d := ds[c.id]
		require.Equal(t, c.site, d.Site)
		require.Equal(t, c.region, d.Region)
		require.Equal(t, c.p.tcp, d.Addr)
		require.Equal(t, registry.Up, d.Liveness)
		require.Positive(t, d.Capacity)
		require.Positive(t, d.Free)
		require.LessOrEqual(t, d.Free, d.Capacity)
	}
	out, err := exec.Command(lisBin, "dataservers", "--meta", meta.addr()).CombinedOutput()
	require.NoError(t, err, "%s", out)
	require.Contains(t, string(out), "perth-1")
	require.Contains(t, string(out), "up")

	// A second perth-1 elsewhere is refused at its start, saying why.
	dup := exec.Command(lisBin, "dataserver", "--dir", shortTempDir(t), "--id", "perth-1", "--listen", "127.0.0.1:0", "--meta", meta.addr())
	dupOut, err := dup.CombinedOutput()
	require.Error(t, err, "a second dataserver took the live ID perth-1:\n%s", dupOut)
	require.Contains(t, string(dupOut), "held by a live dataserver at "+perth.tcp)

	// The registry is in the store: it outlives the metaservice.
	london.stop(t)
	meta.stop(t)
	meta = startMetaservice(t, metaDir, "--suspect-after", "3s", "--down-after", "1h")
	ds = listDataservers(t, meta.addr())
	require.Contains(t, ds, "london-1", "registry lost in a metaservice restart")
	require.Eventually(t, func() bool {
		ds := listDataservers(t, meta.addr())
		return ds["london-1"].Liveness == registry.Suspect && ds["perth-1"].Liveness == registry.Up
	}, 30*time.Second, 200*time.Millisecond, "london-1 stopped and perth-1 heartbeats: %v", listDataservers(t, meta.addr()))
	perth.stop(t)
	require.False(t, strings.Contains(perth.log.String(), "level=ERROR"), "perth-1 logged errors:\n%s", perth.log)

	// A dataserver started before its metaservice registers once it is up.
	lateDir := shortTempDir(t)
	early := startDataserver(t, shortTempDir(t), "early-1", "--meta", "unix:"+filepath.Join(lateDir, "meta.sock"))
	late := startMetaservice(t, lateDir)
	require.Eventually(t, func() bool { return listDataservers(t, late.addr())["early-1"].Liveness == registry.Up },
		30*time.Second, 100*time.Millisecond, "early-1 never registered:\n%s", early.log)
	early.stop(t)
}

// site is one host of a cluster test: its dataserver and its mount.
type site struct {
	ds  *dataserverProc
	mnt string
}

// startSites starts a metaservice and, per name, a dataserver in that
// site (region r-NAME) with a mount of the volume on it.
func startSites(t testing.TB, names ...string) (*metaserviceProc, map[string]site) {
	t.Helper()
	return startSitesWith(t, nil, names...)
}

// startSitesWith is startSites with extra `lis mount` arguments.
func startSitesWith(t testing.TB, mountArgs []string, names ...string) (*metaserviceProc, map[string]site) {
	t.Helper()
	meta := startMetaservice(t, shortTempDir(t))
	base := publicTempDir(t)
	sites := map[string]site{}
	for _, n := range names {
		ds := startDataserver(t, shortTempDir(t), n+"-1", "--site", n, "--region", "r-"+n, "--meta", meta.addr())
		mnt := filepath.Join(base, n)
		require.NoError(t, os.Mkdir(mnt, 0o755))
		mountLis(t, append(append([]string{"--meta", meta.addr(), "--dataserver", "unix:" + ds.unix}, mountArgs...), mnt)...)
		sites[n] = site{ds: ds, mnt: mnt}
	}
	return meta, sites
}

// TestE2ETwoSitesOneContent: a file written at perth reads the same at
// london (from perth's dataserver: london's has no copy); a write from
// london moves the chunk's lease there only after london's dataserver
// caught up, so both mounts keep reading one content; and hosts writing
// random ranges of one file in turns (closing between turns) always read
// the model's content on both.
func TestE2ETwoSitesOneContent(t *testing.T) {
	needE2E(t)
	meta, sites := startSites(t, "perth", "london")
	perth, london := sites["perth"].mnt, sites["london"].mnt
	rng := rand.New(rand.NewPCG(1, 2))
	model := make([]byte, 3<<20+12345)
	for i := range model {
		model[i] = byte(rng.Uint32())
	}
	name := "vm.img"
	require.NoError(t, os.WriteFile(filepath.Join(perth, name), model, 0o644))
	requireContent(t, filepath.Join(london, name), model, "london reads what perth wrote")

	rounds := 8
	if testing.Short() {
		rounds = 4
	}
	for round := range rounds {
		w := []string{london, perth}[round%2]
		off := rng.IntN(len(model) + 4096)
		data := make([]byte, 1+rng.IntN(200_000))
		for i := range data {
			data[i] = byte(rng.Uint32())
		}
		f, err := os.OpenFile(filepath.Join(w, name), os.O_RDWR, 0)
		require.NoError(t, err)
		_, err = f.WriteAt(data, int64(off))
		require.NoError(t, err, "round %d: write on %s", round, w)
		require.NoError(t, f.Close())
		if end := off + len(data); end > len(model) {
			model = append(model, make([]byte, end-len(model))...)
		}
		copy(model[off:], data)
		for _, m := range []string{perth, london} {
			requireContent(t, filepath.Join(m, name), model, fmt.Sprintf("round %d: %s wrote %d bytes at %d; read on %s", round, w, len(data), off, m))
		}
	}
	// The old primary became the new one's replica: both dataservers end
	// up with the same chunk, block for block.
	st, err := os.Stat(filepath.Join(perth, name))
	require.NoError(t, err)
	mc, err := rpc.Dial(meta.addr(), nil)
	require.NoError(t, err)
	defer mc.Close()
	recs, err := mc.Chunks(context.Background(), ms.Ino(st.Sys().(*syscall.Stat_t).Ino), 0, 1)
	require.NoError(t, err)
	require.Len(t, recs, 1)
	chunk := uint64(recs[0].ID)
	requireSameCopies(t, chunk, sites["perth"].ds, sites["london"].ds)

	// Deleted: its chunk goes from every dataserver that held it.
	require.NoError(t, os.Remove(filepath.Join(london, name)))
	for _, d := range []*dataserverProc{sites["perth"].ds, sites["london"].ds} {
		c, err := dataserver.Dial(d.tcp)
		require.NoError(t, err)
		require.Eventually(t, func() bool {
			_, err := c.ChunkInfo(context.Background(), chunk)
			return errors.Is(err, syscall.ENOENT)
		}, 30*time.Second, 100*time.Millisecond, "chunk %x of a deleted file is still on %s", chunk, d.tcp)
		c.Close()
	}
}

// requireSameCopies waits until every dataserver holds chunk at one
// version with the same block checksums.
func requireSameCopies(t testing.TB, chunk uint64, dss ...*dataserverProc) {
	t.Helper()
	var clients []*dataserver.Client
	for _, d := range dss {
		c, err := dataserver.Dial(d.tcp)
		require.NoError(t, err)
		defer c.Close()
		clients = append(clients, c)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		diff := copiesDiffer(clients, chunk)
		if diff == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("copies of chunk %x still differ after 30 s: %s", chunk, diff)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// copiesDiffer says how the copies of chunk differ, or "" if they do not.
func copiesDiffer(clients []*dataserver.Client, chunk uint64) string {
	var first *dataserver.Checksums
	for i, c := range clients {
		sum, err := c.Checksums(context.Background(), chunk)
		switch {
		case err != nil:
			return fmt.Sprintf("copy %d: %v", i, err)
		case first == nil:
			first = sum
		case sum.Version != first.Version || sum.Size != first.Size || !slices.Equal(sum.CRCs, first.CRCs):
			return fmt.Sprintf("copy %d at version %d, size %d; copy 0 at %d, size %d", i, sum.Version, sum.Size, first.Version, first.Size)
		}
	}
	return ""
}

// requireContent requires the file at p to hold want.
func requireContent(t *testing.T, p string, want []byte, msg string) {
	t.Helper()
	got, err := os.ReadFile(p)
	require.NoError(t, err, msg)
	require.Equal(t, len(want), len(got), "%s: size", msg)
	if !bytes.Equal(want, got) {
		i := 0
		for i < len(got) && got[i] == want[i] {
			i++
		}
		t.Fatalf("%s: content differs from byte %d on", msg, i)
	}
}

// TestE2EPlacementByPolicy: under `target_copies: 3` a file written at
// perth gets a copy in each of the three sites, block for block (and its
// record learns each copy's version from the heartbeats), and a
// file under the default policy two; with perth's dataserver killed, the
// file still reads back at london and nyc from their own copies.
func TestE2EPlacementByPolicy(t *testing.T) {
	needE2E(t)
	meta, sites := startSites(t, "perth", "london", "nyc")
	perth := sites["perth"].mnt
	dir := filepath.Join(perth, "vms")
	require.NoError(t, os.Mkdir(dir, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, ".lis-policy.yaml"), []byte("target_copies: 3\nwrite_ack: local_only\n"), 0o644))
	data := make([]byte, 5<<20+77)
	rng := rand.New(rand.NewPCG(3, 4))
	for i := range data {
		data[i] = byte(rng.Uint32())
	}
	require.NoError(t, os.WriteFile(filepath.Join(dir, "disk.img"), data, 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(perth, "notes"), []byte("two copies"), 0o644))

	mc, err := rpc.Dial(meta.addr(), nil)
	require.NoError(t, err)
	defer mc.Close()
	recs := chunkRecords(t, mc, filepath.Join(dir, "disk.img"))
	require.Len(t, recs, 1)
	require.Len(t, recs[0].Replicas, 3, "three copies placed: %+v", recs[0].Replicas)
	requireSameCopies(t, uint64(recs[0].ID), sites["perth"].ds, sites["london"].ds, sites["nyc"].ds)
	// The primary reports what its replicas hold, in its heartbeats: the
	// record learns every copy's durable version.
	require.Eventually(t, func() bool {
		rec := chunkRecords(t, mc, filepath.Join(dir, "disk.img"))[0]
		for _, r := range rec.Replicas {
			if r.Version < rec.Version {
				return false
			}
		}
		return rec.Version > 0
	}, 30*time.Second, 100*time.Millisecond, "replica versions never reached the chunk record")
	notes := chunkRecords(t, mc, filepath.Join(perth, "notes"))[0]
	require.Len(t, notes.Replicas, 2, "the default policy: two copies")
	second := strings.TrimSuffix(notes.Replicas[1].Dataserver, "-1")
	requireSameCopies(t, uint64(notes.ID), sites["perth"].ds, sites[second].ds)

	require.NoError(t, sites["perth"].ds.cmd.Process.Kill())
	sites["perth"].ds.cmd.Wait()
	for _, s := range []string{"london", "nyc"} {
		requireContent(t, filepath.Join(sites[s].mnt, "vms", "disk.img"), data, "read at "+s+" with perth's dataserver dead")
		// One of the two has no copy of notes: it reads the other's.
		requireContent(t, filepath.Join(sites[s].mnt, "notes"), []byte("two copies"), "notes read at "+s+" with perth's dataserver dead")
	}
}

// chunkRecords returns the chunk records of the file at path.
func chunkRecords(t testing.TB, mc *rpc.Client, path string) []ms.IndexedChunk {
	t.Helper()
	st, err := os.Stat(path)
	require.NoError(t, err)
	recs, err := mc.Chunks(context.Background(), ms.Ino(st.Sys().(*syscall.Stat_t).Ino), 0, 1<<20)
	require.NoError(t, err)
	return recs
}

// TestE2EWriteAckLocalPlusOne: under the default policy (local_plus_one,
// two copies) fsync returns only once another site holds the data
// durably: with the writer's dataserver killed right after, the file
// reads back byte for byte at the other site. With that site stopped,
// fsync (and close) fail with EIO after ack_timeout, naming it in the log, and the
// data is still there once it is back.
func TestE2EWriteAckLocalPlusOne(t *testing.T) {
	needE2E(t)
	_, sites := startSitesWith(t, []string{"-o", "ack_timeout=2"}, "perth", "london")
	perth, london := sites["perth"].mnt, sites["london"].mnt
	data := make([]byte, 3<<20+5)
	rng := rand.New(rand.NewPCG(5, 6))
	for i := range data {
		data[i] = byte(rng.Uint32())
	}

	// London away: fsync waits ack_timeout, then EIO.
	stopped := filepath.Join(perth, "while-london-stopped")
	require.NoError(t, sites["london"].ds.cmd.Process.Signal(syscall.SIGSTOP))
	f, err := os.Create(stopped)
	require.NoError(t, err)
	_, err = f.Write(data[:1000])
	require.NoError(t, err)
	start := time.Now()
	require.ErrorIs(t, f.Sync(), syscall.EIO)
	require.GreaterOrEqual(t, time.Since(start), 2*time.Second, "fsync waited ack_timeout")
	require.ErrorIs(t, f.Close(), syscall.EIO, "close honours write_ack too")
	require.Contains(t, daemonLog(perth), "london-1")
	require.NoError(t, sites["london"].ds.cmd.Process.Signal(syscall.SIGCONT))
	requireContent(t, filepath.Join(london, "while-london-stopped"), data[:1000], "written while london was stopped")

	// fsync, then perth's dataserver dies: london has it all.
	f, err = os.Create(filepath.Join(perth, "db"))
	require.NoError(t, err)
	_, err = f.Write(data)
	require.NoError(t, err)
	require.NoError(t, f.Sync())
	require.NoError(t, sites["perth"].ds.cmd.Process.Kill())
	sites["perth"].ds.cmd.Wait()
	requireContent(t, filepath.Join(london, "db"), data, "read at london after perth's dataserver died")
	f.Close()
}
