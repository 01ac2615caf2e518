package geosim

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	ms "github.com/lis-fs/lis/metaservice"
)

// failoverLocalOnly is scenario 10: scenario 9 under write_ack
// local_only, where an fsync waits for perth's journal alone, beside two
// files written and fully replicated before, and with perth's site cut
// off for good at the kill (a crash: a killed process's sockets would
// still deliver what it had sent, and nothing would be lost). After the failover, lis
// status reports lost writes for the tail perth wrote that no other copy
// had yet, by file and range, and for nothing else: the other files are
// whole, every acknowledged byte outside a reported range is there, and
// inside one the file is a state perth's writer went through.
func failoverLocalOnly(ctx context.Context, env Env, r *Report) error {
	// perth ships slower than it writes, so that a tail is unreplicated
	// at the kill whatever the machine's speed.
	fo, err := startFailover(ctx, env, policyLocalOnly, true, "--replication-limit", "256KB/s")
	if err != nil {
		return err
	}
	defer fo.g.Close()
	settled, err := writeSettled(ctx, fo.g, env.Scale.FaultBytes/32) // small: perth ships slowly
	if err != nil {
		return err
	}
	if err := fo.run(ctx); err != nil {
		return err
	}
	if err := fo.verdictLocalOnly(ctx, r); err != nil {
		return err
	}
	return settledVerdict(fo.g, settled)
}

// writeSettled writes two files of size bytes in perth's db directory
// and waits until all three copies of each are current: they hold
// nothing a failover may lose. It returns their content by path in
// london's mount.
func writeSettled(ctx context.Context, g *geo, size int64) (map[string][]byte, error) {
	out := map[string][]byte{}
	for i := range 2 {
		name := fmt.Sprintf("settled-%d", i)
		path := filepath.Join(g.Mnt["perth-1"], "db", name)
		data := seededBytes(uint64(1000+i), size)
		if err := writeWhole(path, data); err != nil {
			return nil, g.fail("%v", err)
		}
		if _, err := g.waitCurrent(ctx, path, 3, 5*time.Minute); err != nil {
			return nil, g.fail("before the kill: %v", err)
		}
		out[filepath.Join(g.Mnt["london-1"], "db", name)] = data
	}
	return out, nil
}

// verdictLocalOnly checks scenario 10's losses: only the written file's
// chunks are reported, those of its chunks not reported hold every
// acknowledged record, and the reported ones a state the writer went
// through.
func (fo *failover) verdictLocalOnly(ctx context.Context, r *Report) error {
	g := fo.g
	if err := fo.waitFailedOver(ctx); err != nil {
		return err
	}
	st, err := g.status(ctx)
	if err != nil {
		return g.fail("%v", err)
	}
	data, err := readDirect(fo.london.path)
	if err != nil {
		return g.fail("read in london: %v", err)
	}
	lost := map[uint64]bool{} // chunk index of the log
	want := g.volumePath("london-1", fo.london.path)
	if len(st.LostWrites) == 0 {
		return g.fail("perth shipped at 256 KB/s and wrote faster, yet no lost writes were reported")
	}
	for _, l := range st.LostWrites {
		if l.Path != want || l.Dataserver != fo.victim || l.NoLiveCopy {
			return g.fail("lost writes reported beyond the log's unreplicated tail: %+v", l)
		}
		r.Add("reported lost", "%s bytes [%d, %d), versions %d-%d, with %s", l.Path, l.RangeStart, l.RangeEnd, l.FromVersion, l.ToVersion, l.Dataserver)
		lost[l.RangeStart/ms.ChunkSize] = true
	}
	kept, err := fo.perth.tornAt(data, fo.perthRecords)
	if err != nil {
		return g.fail("perth's records read in london: %v", err)
	}
	r.Add("perth's records kept", "%d of %d bytes acknowledged by fsync (%d written)",
		kept, int64(len(fo.perth.ackedRecords()))*failoverRecord, fo.perthRecords*failoverRecord)
	fo.excused = func(i int64) bool { return lost[uint64(i*failoverRecord)/ms.ChunkSize] }
	_, err = fo.verdict(ctx, r)
	return err
}

// waitFailedOver waits until no chunk of the log has the killed primary.
func (fo *failover) waitFailedOver(ctx context.Context) error {
	err := waitFor(ctx, faultLostAfter+3*time.Minute, "the log failed over", func() bool {
		recs, err := fo.g.Meta.Chunks(ctx, fo.london.path) // perth's mount may be cut off
		if err != nil {
			return false
		}
		for _, rec := range recs {
			if rec.Primary == fo.victim {
				return false
			}
		}
		return true
	})
	if err != nil {
		return fo.g.fail("%v", err)
	}
	return nil
}

// settledVerdict checks that the files replicated before the kill read
// whole in london.
func settledVerdict(g *geo, settled map[string][]byte) error {
	for path, want := range settled {
		got, err := readDirect(path)
		if err != nil {
			return g.fail("a file replicated before the kill: %v", err)
		}
		if d := firstDifference(got, want); d != "" {
			return g.fail("%s, replicated before the kill, changed: %s", path, d)
		}
	}
	return nil
}
