package geosim

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// ringWriter writes a prefixLog file at a steady rate, fsyncing every
// few records, and keeps the longest time one record took in each phase.
type ringWriter struct {
	log   prefixLog
	path  string
	every time.Duration // one record per every

	mu      sync.Mutex
	written uint64
	phase   string
	longest map[string]time.Duration
	count   map[string]uint64
	err     error
}

func (w *ringWriter) setPhase(p string) {
	w.mu.Lock()
	w.phase = p
	w.mu.Unlock()
}

// run writes until ctx ends; its error is in w.err.
func (w *ringWriter) run(ctx context.Context) {
	f, err := os.OpenFile(w.path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		w.fail(err)
		return
	}
	defer f.Close()
	rec := make([]byte, w.log.record)
	start := time.Now()
	for seq := uint64(0); ctx.Err() == nil; seq++ {
		w.log.fill(rec, seq)
		t := time.Now()
		_, err := f.WriteAt(rec, w.log.offset(seq))
		if err == nil && seq%16 == 15 {
			err = f.Sync()
		}
		if err != nil {
			w.fail(fmt.Errorf("record %d: %w", seq, err))
			return
		}
		w.done(time.Since(t))
		if d := time.Until(start.Add(time.Duration(seq+1) * w.every)); d > 0 {
			select {
			case <-ctx.Done():
			case <-time.After(d):
			}
		}
	}
	if err := f.Sync(); err != nil {
		w.fail(err)
	}
}

func (w *ringWriter) done(took time.Duration) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.written++
	w.count[w.phase]++
	w.longest[w.phase] = max(w.longest[w.phase], took)
}

func (w *ringWriter) fail(err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.err = err
}

// copyChecker samples one dataserver's copy of a prefixLog file and
// checks that every state it exposes is one the writer passed through.
type copyChecker struct {
	log   prefixLog
	ds    *Dataserver
	chunk uint64

	samples, unreadable int
	states              map[uint64]bool
	err                 error
}

// run samples every 100 ms until ctx ends.
func (c *copyChecker) run(ctx context.Context) {
	c.states = map[uint64]bool{}
	for ctx.Err() == nil {
		c.sample(ctx)
		if c.err != nil {
			return
		}
		select {
		case <-ctx.Done():
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func (c *copyChecker) sample(ctx context.Context) {
	resp, err := c.ds.c.Read(ctx, c.chunk, 0, int64(c.log.slots*c.log.record))
	if err != nil {
		c.unreadable++ // not there yet, or mid-resync: nothing exposed
		return
	}
	c.samples++
	data := resp.Data[:min(int64(len(resp.Data)), max(resp.Size, 0))]
	s, err := c.log.check(data)
	if err != nil {
		c.err = fmt.Errorf("%s exposed a state its primary never had (version %d): %w", c.ds.Host.Name, resp.Version, err)
		return
	}
	c.states[s] = true
}

// partitionHeal is scenario 3: write continuously in perth, cut london
// off, heal, and check that london only ever showed prefixes of perth's
// history, caught up byte for byte, and that perth's writers never waited
// for it, with a journal small enough that london had to be resynced.
func partitionHeal(ctx context.Context, env Env, r *Report) error {
	const rate = 4 << 20 // bytes/s the writer writes
	journal := int64(rate) * int64(env.Scale.Partition/time.Second) / 2
	g, err := startGeo(ctx, env, geoSpec{sites: DefaultSites(1), mountOn: []string{"perth-1"},
		dsArgs: func(h *Host) []string { return []string{"--journal-limit", fmt.Sprint(journal)} }})
	if err != nil {
		return err
	}
	defer g.Close()
	dir := filepath.Join(g.Mnt["perth-1"], "ring")
	if err := setPolicy(dir, policyLocalOnly); err != nil {
		return err
	}
	lg := prefixLog{slots: 64, record: 64 << 10}
	w := &ringWriter{log: lg, path: filepath.Join(dir, "log"), every: time.Duration(lg.record) * time.Second / rate,
		phase: "before", longest: map[string]time.Duration{}, count: map[string]uint64{}}
	wctx, stopWriter := context.WithCancel(ctx)
	defer stopWriter()
	writerDone := make(chan struct{})
	go func() { defer close(writerDone); w.run(wctx) }()

	london := g.DS["london-1"]
	chunk, err := g.firstChunk(ctx, w.path)
	if err != nil {
		return g.fail("%v", err)
	}
	checker := &copyChecker{log: lg, ds: london, chunk: chunk}
	cctx, stopChecker := context.WithCancel(ctx)
	defer stopChecker()
	checkerDone := make(chan struct{})
	go func() { defer close(checkerDone); checker.run(cctx) }()

	sleep(ctx, 3*time.Second)
	env.Logf("partition london for %v (journal limit %s)", env.Scale.Partition, mib(journal))
	w.setPhase("partition")
	g.Isolate(london.Host.Site, true)
	sleep(ctx, env.Scale.Partition)
	g.Isolate(london.Host.Site, false)
	healed := time.Now()
	w.setPhase("after")
	sleep(ctx, 3*time.Second)
	stopWriter()
	<-writerDone
	_, cerr := g.waitCurrent(ctx, w.path, 3, 5*time.Minute)
	sinceHeal := time.Since(healed)
	stopChecker()
	<-checkerDone
	return partitionVerdict(ctx, g, r, w, checker, cerr, sinceHeal)
}

// partitionVerdict reports scenario 3's figures and checks its outcome.
func partitionVerdict(ctx context.Context, g *geo, r *Report, w *ringWriter, c *copyChecker, caughtErr error, sinceHeal time.Duration) error {
	resyncs := g.resyncs(ctx, "perth-1", "london-1")
	r.Add("records written", "%d (%d during the partition), 64 KiB each", w.written, w.count["partition"])
	r.Add("longest write", "%v before, %v during the partition, %v after",
		w.longest["before"].Round(time.Millisecond), w.longest["partition"].Round(time.Millisecond), w.longest["after"].Round(time.Millisecond))
	r.Add("london's copy sampled", "%d times: %d distinct states, every one a prefix; %d reads refused (absent or resyncing)",
		c.samples, len(c.states), c.unreadable)
	r.Add("full copies to london", "%d", resyncs)
	r.Add("london identical", "%v after the heal", sinceHeal.Round(time.Millisecond))
	switch {
	case w.err != nil:
		return g.fail("writer in perth: %v", w.err)
	case c.err != nil:
		return g.fail("%v", c.err)
	case caughtErr != nil:
		return g.fail("london never caught up: %v", caughtErr)
	case len(c.states) < 2:
		return g.fail("london's copy was sampled in %d states: the checker saw nothing move", len(c.states))
	case resyncs == 0:
		return g.fail("the journal limit was not passed: london caught up without a full copy")
	case w.longest["partition"] > g.env.Scale.Partition/2:
		return g.fail("a write in perth waited %v while london was cut off", w.longest["partition"])
	}
	return nil
}

// firstChunk waits for the file at path to have a chunk and returns its ID.
func (g *geo) firstChunk(ctx context.Context, path string) (uint64, error) {
	var id uint64
	err := waitFor(ctx, 30*time.Second, "a chunk of "+path, func() bool {
		recs, err := g.Meta.Chunks(ctx, path)
		if err == nil && len(recs) > 0 {
			id = uint64(recs[0].ID)
		}
		return id != 0
	})
	return id, err
}

// resyncs is how many full copies dataserver from made to peer.
func (g *geo) resyncs(ctx context.Context, from, peer string) uint64 {
	st, err := g.DS[from].c.Stat(ctx)
	if err != nil {
		return 0
	}
	for _, p := range st.Peers {
		if p.Peer.ID == peer {
			return p.Resyncs
		}
	}
	return 0
}

// sleep waits for d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}
