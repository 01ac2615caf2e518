package geosim

import (
	"cmp"
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"time"
)

// failoverRecord is the size of one fsynced record of scenarios 9 and 10.
const failoverRecord = 256 << 10

// failoverRecordsAfter is how many records london writes after the kill.
const failoverRecordsAfter = 8

// failover is a run of scenarios 9 and 10: perth writes records of one
// file, fsyncing each, and its own dataserver (the file's primary) is
// killed halfway; london then writes on after perth's records.
type failover struct {
	g             *geo
	perth, london *syncedRecords
	perthRecords  int64 // perth writes [0, perthRecords), london after
	londonErr     error
	perthDone     chan struct{}
	killedCh      chan struct{} // closed once the primary is killed
	// crash cuts perth's site off for good just before the kill, as a
	// machine's crash would: what the killed dataserver had handed its
	// kernel but the network had not carried never arrives.
	crash bool

	// excused says which of perth's records a reported loss covers.
	excused func(record int64) bool

	mu       sync.Mutex // guards the fields below, set by perth's writer
	victim   string
	killed   time.Time
	perthErr error // what stopped perth's writer
}

// startFailover starts the World of scenarios 9 and 10 and makes dir
// carry policy. With crash, the metaservice runs in london, outside the
// site that crashes. perthArgs are extra flags of perth's dataserver.
func startFailover(ctx context.Context, env Env, policy string, crash bool, perthArgs ...string) (*failover, error) {
	sites := DefaultSites(1)
	if crash {
		sites[0], sites[1] = sites[1], sites[0]
	}
	dsArgs := func(h *Host) []string {
		if h.Name == "perth-1" {
			return perthArgs
		}
		return nil
	}
	g, err := startGeo(ctx, env, geoSpec{sites: sites, mountOn: []string{"perth-1", "london-1"}, metaArgs: faultMetaArgs, dsArgs: dsArgs})
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(g.Mnt["perth-1"], "db")
	if err := setPolicy(dir, policy); err != nil {
		g.Close()
		return nil, err
	}
	n := max(env.Scale.FaultBytes/failoverRecord, 4)
	return &failover{g: g, perthRecords: n, crash: crash, perthDone: make(chan struct{}), killedCh: make(chan struct{}),
		perth:  newSyncedRecords(filepath.Join(dir, "log"), failoverRecord, 90),
		london: newSyncedRecords(filepath.Join(g.Mnt["london-1"], "db", "log"), failoverRecord, 90)}, nil
}

// run writes in perth, kills the primary once half of perth's records
// are acknowledged, and has london write on, trying each record again
// until the metaservice has failed the chunk over.
func (fo *failover) run(ctx context.Context) error {
	fo.perth.onAck = func(acked int) {
		switch int64(acked) {
		case 1:
			fo.findPrimary(ctx)
		case fo.perthRecords / 2:
			fo.kill()
		}
	}
	wctx, stop := context.WithCancel(ctx)
	defer func() {
		// perth's writer is this function's: it ends with it. A write
		// stuck in a mount cut off from its dataserver is let go after a
		// while; the World's Close ends it.
		stop()
		select {
		case <-fo.perthDone:
		case <-time.After(time.Minute):
		}
	}()
	go func() {
		defer close(fo.perthDone)
		err := fo.perth.write(wctx, 0, fo.perthRecords, 0)
		fo.mu.Lock()
		fo.perthErr = cmp.Or(fo.perthErr, err)
		fo.mu.Unlock()
	}()
	select {
	case <-fo.killedCh:
	case <-fo.perthDone:
		return fo.g.fail("perth's writer stopped before the kill: %v", fo.perthError())
	case <-time.After(5 * time.Minute):
		return fo.g.fail("perth's writer did not reach the kill within 5 minutes")
	}
	retry := faultLostAfter + 3*time.Minute
	fo.londonErr = fo.london.write(ctx, fo.perthRecords, fo.perthRecords+failoverRecordsAfter, retry)
	return nil
}

// findPrimary notes the primary of the file's chunk, the dataserver of
// perth's writer, once the writer has made the chunk.
func (fo *failover) findPrimary(ctx context.Context) {
	recs, err := fo.g.Meta.Chunks(ctx, fo.perth.path)
	fo.mu.Lock()
	defer fo.mu.Unlock()
	if err != nil || len(recs) == 0 {
		fo.perthErr = fmt.Errorf("chunks of %s: %v", fo.perth.path, err)
		return
	}
	fo.victim = recs[0].Primary
}

// kill kills the primary at once, between two of perth's records, with
// whatever its copies have not acknowledged yet unreplicated.
func (fo *failover) kill() {
	fo.mu.Lock()
	defer fo.mu.Unlock()
	if d := fo.g.DS[fo.victim]; d != nil {
		if fo.crash {
			fo.g.Isolate(d.Host.Site, true)
		}
		d.Proc.Kill()
		fo.killed = time.Now()
		close(fo.killedCh)
	}
}

func (fo *failover) perthError() error {
	fo.mu.Lock()
	defer fo.mu.Unlock()
	return fo.perthErr
}

// failoverSynced is scenario 9: under write_ack local_plus_one, perth's
// dataserver (the file's primary) is killed during fsynced writes. Once
// it has been silent past --rereplicate-after the metaservice promotes
// the best other copy, and london's writes to the same file go through;
// every byte an fsync acknowledged, in perth or in london, is there.
// Reported: when london's writes resumed after the kill, and what lis
// status says was lost.
func failoverSynced(ctx context.Context, env Env, r *Report) error {
	fo, err := startFailover(ctx, env, policyPlusOne, false)
	if err != nil {
		return err
	}
	defer fo.g.Close()
	if err := fo.run(ctx); err != nil {
		return err
	}
	data, err := fo.verdict(ctx, r)
	if err != nil {
		return err
	}
	if _, err := fo.perth.tornAt(data, fo.perthRecords); err != nil {
		return fo.g.fail("perth's records read in london: %v", err)
	}
	return nil
}

// verdict reports what both failover scenarios measure and checks what
// both promise: the chunk failed over, london's writes went through, and
// every acknowledged record is there. It returns the file, read in london.
func (fo *failover) verdict(ctx context.Context, r *Report) ([]byte, error) {
	g := fo.g
	st, err := g.status(ctx)
	if err != nil {
		return nil, g.fail("%v", err)
	}
	perthAcked := len(fo.perth.ackedRecords())
	r.Add("records fsynced in perth", "%d records of %d KiB; %s killed after %d, then perth's writer stopped: %v",
		perthAcked, failoverRecord>>10, fo.victim, fo.perthRecords/2, fo.perthError())
	resumed := fo.london.firstAck.Sub(fo.killed)
	r.Add("london writes again", "%v after the kill (lost after %v of silence), %d attempts refused before",
		resumed.Round(100*time.Millisecond), faultLostAfter, fo.london.failures)
	r.Add("lost writes reported", "%d %v", len(st.LostWrites), st.LostWrites)
	if fo.londonErr != nil {
		return nil, g.fail("london never wrote on after the failover: %v", fo.londonErr)
	}
	recs, err := g.Meta.Chunks(ctx, fo.london.path)
	if err != nil {
		return nil, g.fail("chunks after the failover: %v", err)
	}
	if recs[0].Primary == fo.victim {
		return nil, g.fail("chunk %x still has the killed %s as primary", recs[0].ID, fo.victim)
	}
	r.Add("new primary", "%s", recs[0].Primary)
	data, err := readDirect(fo.london.path)
	if err != nil {
		return nil, g.fail("read in london: %v", err)
	}
	for _, w := range []*syncedRecords{fo.perth, fo.london} {
		if d := w.missingAcked(data, fo.excused); d != "" {
			return nil, g.fail("after the failover, read in london: %s", d)
		}
	}
	return data, nil
}
