package geosim

import (
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// outageSlots is how many 1 MiB slots scenario 14's writer overwrites
// in turn: a disk image rewritten in place, so that the journal, not the
// file, grows.
const outageSlots = 16

// journalSegment is the journal's unit of freeing: it ends within one
// segment of its limit.
const journalSegment = 64 << 20

// slotWriter overwrites the slots of one file in turn, each write
// numbered in its first bytes, and keeps the number of writes made.
type slotWriter struct {
	path   string
	base   []byte
	writes int64 // made so far, over every call of write
}

// slot is the content of the write numbered n.
func (w *slotWriter) slot(n int64) []byte {
	b := append([]byte(nil), w.base...)
	binary.LittleEndian.PutUint64(b, uint64(n))
	return b
}

// write writes bytes in 1 MiB writes, fsyncs, and returns the time taken;
// sample is called every outageSlots writes.
func (w *slotWriter) write(bytes int64, sample func()) (time.Duration, error) {
	f, err := os.OpenFile(w.path, os.O_WRONLY|os.O_CREATE, 0o644)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	start := time.Now()
	for end := w.writes + bytes>>20; w.writes < end; w.writes++ {
		if _, err := f.WriteAt(w.slot(w.writes), (w.writes%outageSlots)<<20); err != nil {
			return 0, fmt.Errorf("write %d of %s: %w", w.writes, w.path, err)
		}
		if w.writes%outageSlots == 0 {
			sample()
		}
	}
	if err := f.Sync(); err != nil {
		return 0, fmt.Errorf("fsync %s: %w", w.path, err)
	}
	return time.Since(start), f.Close()
}

// content is what the file holds after the writes made so far.
func (w *slotWriter) content() []byte {
	var out []byte
	for s := range min(int64(outageSlots), w.writes) {
		last := s + (w.writes-1-s)/outageSlots*outageSlots
		out = append(out, w.slot(last)...)
	}
	return out
}

// longOutage is scenario 14: london, which holds the second copy of a
// disk image written in perth, is cut off while perth overwrites it with
// six times the dataservers' journal limit. Perth's writer finishes while
// london is still cut off (it never waits for it), perth's journal comes
// back within a segment of its limit (london is dropped from it), and
// after the heal london is resynced: both copies identical, the file as
// written. Reported: the write rate during the outage against the same
// write before it, and the journal's peak.
func longOutage(ctx context.Context, env Env, r *Report) error {
	size := env.Scale.OutageBytes
	limit := size / 6
	g, err := startGeo(ctx, env, geoSpec{sites: DefaultSites(1)[:2], mountOn: []string{"perth-1"},
		metaArgs: []string{"--down-after", "5m", "--rereplicate-after", "10m"}, // an outage, not a loss
		dsArgs:   func(*Host) []string { return []string{"--journal-limit", fmt.Sprint(limit)} }})
	if err != nil {
		return err
	}
	defer g.Close()
	dir := filepath.Join(g.Mnt["perth-1"], "vm")
	if err := setPolicy(dir, policyTwoCopies); err != nil {
		return err
	}
	w := &slotWriter{path: filepath.Join(dir, "disk.img"), base: seededBytes(140, 1<<20)}
	before, err := w.write(size, func() {})
	if err != nil {
		return g.fail("before the outage: %v", err)
	}
	if _, err := g.waitCurrent(ctx, w.path, 2, 5*time.Minute); err != nil {
		return g.fail("before the outage: %v", err)
	}
	resyncsBefore := g.resyncs(ctx, "perth-1", "london-1")
	during, peak, err := outageWrites(ctx, g, w, size, limit)
	if err != nil {
		return err
	}
	r.Add("write rate", "%.0f MB/s with london cut off, %.0f MB/s before (%.2f×); %s each time",
		mbs(size, during), mbs(size, before), before.Seconds()/during.Seconds(), mib(size))
	r.Add("perth's journal", "peak %s sampled during the outage, limit %s", mib(peak), mib(limit))
	return outageVerdict(ctx, g, r, w, resyncsBefore)
}

// outageWrites cuts london off, writes size bytes in perth and waits for
// perth's journal to come back within a segment of limit, then heals.
// It returns how long the writes took and the journal's largest sample.
func outageWrites(ctx context.Context, g *geo, w *slotWriter, size, limit int64) (time.Duration, int64, error) {
	london := g.Site("london")
	g.Isolate(london, true)
	defer g.Isolate(london, false)
	var peak int64
	journal := func() int64 {
		st, err := g.DS["perth-1"].c.Stat(ctx)
		if err != nil {
			return -1
		}
		peak = max(peak, st.JournalBytes)
		return st.JournalBytes
	}
	took, err := w.write(size, func() { journal() })
	if err != nil {
		return 0, 0, g.fail("during the outage: %v", err)
	}
	err = waitFor(ctx, time.Minute, "perth's journal within a segment of its limit", func() bool {
		j := journal()
		return j >= 0 && j <= limit+journalSegment
	})
	if err != nil {
		return 0, 0, g.fail("with london cut off: %v (%d bytes)", err, journal())
	}
	return took, peak, nil
}

// outageVerdict waits for london to be identical again after the heal
// and checks that it took a full copy and that the file reads as written.
func outageVerdict(ctx context.Context, g *geo, r *Report, w *slotWriter, resyncsBefore uint64) error {
	healed := time.Now()
	if _, err := g.waitCurrent(ctx, w.path, 2, 5*time.Minute); err != nil {
		return g.fail("after the heal: %v", err)
	}
	resyncs := g.resyncs(ctx, "perth-1", "london-1") - resyncsBefore
	r.Add("london identical", "%v after the heal, %d full copies to it", time.Since(healed).Round(100*time.Millisecond), resyncs)
	if resyncs == 0 {
		return g.fail("london caught up without a full copy: perth's journal kept it past the limit")
	}
	got, err := readDirect(w.path)
	if err != nil {
		return g.fail("read after the heal: %v", err)
	}
	if d := firstDifference(got, w.content()); d != "" {
		return g.fail("%s after the heal: %s", w.path, d)
	}
	return nil
}

func mbs(bytes int64, d time.Duration) float64 { return float64(bytes) / d.Seconds() / 1e6 }
