package main

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	ms "github.com/lis-fs/lis/metaservice"
	"github.com/lis-fs/lis/metaservice/registry"
	"github.com/lis-fs/lis/metaservice/rpc"
)

// statusReport is what lis status shows, and its --json form. The JSON
// field names are stable: scripts and monitoring read them (README,
// "lis status"). Sizes are bytes, ages seconds.
type statusReport struct {
	Time        time.Time      `json:"time"`
	Healthy     bool           `json:"healthy"` // nothing in danger, lost, below target or down
	Metaservice metaReport     `json:"metaservice"`
	Sites       []siteReport   `json:"sites"`
	Sessions    int            `json:"sessions"`
	Clients     []clientReport `json:"clients"`
	Danger      []fileAtRisk   `json:"danger"`       // data that exists on one live dataserver only
	UnderTarget []fileAtRisk   `json:"under_target"` // fewer current copies than target_copies
	Lost        []fileAtRisk   `json:"lost"`         // data whose only copy is on a down dataserver
	LostWrites  []lostWrite    `json:"lost_writes"`  // writes lost with their primary (failed over)
	Damaged     []damagedCopy  `json:"damaged"`      // copies with blocks that failed their checksum
	Quarantined []quarantined  `json:"quarantined"`  // diverged copies taken out of service, kept
	Warnings    []string       `json:"warnings"`
	dataservers map[string]*dataserverReport
}

// clientReport is one mounted client (a session).
type clientReport struct {
	Session    uint64 `json:"session"`
	Host       string `json:"host"`
	MountPoint string `json:"mount_point"`
	Pid        int    `json:"pid"`
	Version    string `json:"version"`
}

type metaReport struct {
	Address          string              `json:"address"`
	Engine           string              `json:"engine"`
	UptimeSeconds    float64             `json:"uptime_seconds"`
	PendingReviews   int                 `json:"pending_reviews"`
	PendingDeletions int                 `json:"pending_deletions"`
	Rereplication    rereplicationReport `json:"rereplication"`
}

// rereplicationReport is the metaservice's redundancy sweep.
type rereplicationReport struct {
	LostDataservers []string `json:"lost_dataservers"` // silent past --rereplicate-after
	PassDone        bool     `json:"pass_done"`        // every chunk record read
	Chunks          int      `json:"chunks"`           // with a copy on a lost dataserver
	Bytes           int64    `json:"bytes"`            // their data, to copy again
	Failovers       int      `json:"failovers"`        // of them, whose primary was lost
}

// damagedCopy is a chunk copy with bad blocks on one dataserver.
type damagedCopy struct {
	Dataserver string  `json:"dataserver"`
	Chunk      string  `json:"chunk"` // hex id
	Path       string  `json:"path"`  // "" when that dataserver is not the chunk's primary
	Blocks     []int64 `json:"blocks"`
}

// lostWrite is writes acknowledged only on a primary that was lost.
type lostWrite struct {
	Path         string  `json:"path"`
	Ino          uint64  `json:"ino"`
	RangeStart   uint64  `json:"range_start"` // the chunk's bytes the writes fell in
	RangeEnd     uint64  `json:"range_end"`
	FromVersion  uint64  `json:"from_version"`
	ToVersion    uint64  `json:"to_version"`
	Dataserver   string  `json:"dataserver"`
	NoLiveCopy   bool    `json:"no_live_copy"` // no copy of the chunk at all
	FoundSeconds float64 `json:"found_seconds_ago"`
}

type siteReport struct {
	Site        string             `json:"site"`
	Region      string             `json:"region"`
	Dataservers []dataserverReport `json:"dataservers"`
}

type dataserverReport struct {
	ID                   string      `json:"id"`
	Address              string      `json:"address"`
	State                string      `json:"state"` // up, suspect or down
	LastHeartbeatSeconds float64     `json:"last_heartbeat_seconds"`
	CapacityBytes        int64       `json:"capacity_bytes"`
	FreeBytes            int64       `json:"free_bytes"`
	JournalBytes         int64       `json:"journal_bytes"`
	ReplicationRate      int64       `json:"replication_bytes_per_second"`
	ReplicationLimit     int64       `json:"replication_limit_bytes_per_second"` // 0: unlimited
	DangerBytes          int64       `json:"danger_bytes"`
	DangerChunks         int         `json:"danger_chunks"`
	UnderTargetChunks    int         `json:"under_target_chunks"`
	Lag                  []peerLagUI `json:"lag"`
	Fault                string      `json:"fault,omitempty"` // its disk faults, if any
	site                 string
}

// peerLagUI is how far one peer's copies of a dataserver's chunks lag.
type peerLagUI struct {
	Peer          string  `json:"peer"`
	Site          string  `json:"site"`
	Connected     bool    `json:"connected"`
	Chunks        int     `json:"behind_chunks"`
	Bytes         int64   `json:"behind_bytes"`
	OldestSeconds float64 `json:"oldest_change_seconds"`
	Error         string  `json:"error,omitempty"`
}

// fileAtRisk is one file's chunks at risk on one dataserver.
type fileAtRisk struct {
	Path          string  `json:"path"`
	Ino           uint64  `json:"ino"`
	Dataserver    string  `json:"dataserver"`
	Bytes         int64   `json:"bytes"` // only on that dataserver
	Chunks        int     `json:"chunks"`
	OldestSeconds float64 `json:"oldest_seconds"`
	Current       int     `json:"current_copies"` // fewest among its chunks
	Target        int     `json:"target_copies"`
}

// gatherStatus reads the registry, the sessions and the metaservice's own
// state (three calls, none of which scans chunks), and names the files at
// risk (one PathOf per file, for at most registry.MaxDangerChunks per
// dataserver).
func gatherStatus(ctx context.Context, c *rpc.Client, addr string) (*statusReport, error) {
	now := time.Now()
	list, err := c.ListDataservers(ctx)
	if err != nil {
		return nil, fmt.Errorf("list dataservers: %w", err)
	}
	info, err := c.Info(ctx)
	if err != nil {
		return nil, fmt.Errorf("metaservice info: %w", err)
	}
	sessions, err := c.ListSessions(ctx)
	if err != nil {
		return nil, fmt.Errorf("list sessions: %w", err)
	}
	r := &statusReport{Time: now, Sessions: len(sessions), dataservers: map[string]*dataserverReport{},
		Sites: []siteReport{}, Danger: []fileAtRisk{}, UnderTarget: []fileAtRisk{}, Lost: []fileAtRisk{}, Warnings: []string{}, Clients: []clientReport{}, LostWrites: []lostWrite{}, Damaged: []damagedCopy{}, Quarantined: []quarantined{},
		Metaservice: metaReport{Address: addr, Engine: info.Engine, UptimeSeconds: secondsSince(now, info.Started),
			PendingReviews: info.PendingReviews, PendingDeletions: info.PendingDeletions,
			Rereplication: rereplicationReport{LostDataservers: append([]string{}, info.Rereplication.Lost...),
				PassDone: info.Rereplication.Done, Chunks: info.Rereplication.Found, Bytes: info.Rereplication.FoundBytes,
				Failovers: info.Rereplication.Failovers}}}
	for _, ss := range sessions {
		r.Clients = append(r.Clients, clientReport{Session: ss.ID, Host: ss.Info.Host, MountPoint: ss.Info.MountPoint,
			Pid: ss.Info.Pid, Version: ss.Info.Version})
	}
	r.addDataservers(list, now)
	if err := r.addFilesAtRisk(ctx, c, list, now); err != nil {
		return nil, err
	}
	r.addLostWrites(ctx, c, info.LostWrites, now)
	r.addDamaged(ctx, c, list)
	r.addQuarantined(list, now)
	r.judge()
	return r, nil
}

func secondsSince(now time.Time, unixNano int64) float64 {
	if unixNano == 0 {
		return 0
	}
	return now.Sub(time.Unix(0, unixNano)).Seconds()
}

// addDataservers groups the registry by site.
func (r *statusReport) addDataservers(list []ms.DataserverStatus, now time.Time) {
	siteOf := map[string]string{}
	for _, d := range list {
		siteOf[d.ID] = d.Site
	}
	for _, d := range list {
		dr := dataserverReport{ID: d.ID, Address: d.Addr, State: d.Liveness.String(), site: d.Site, Lag: []peerLagUI{},
			LastHeartbeatSeconds: secondsSince(now, d.LastBeat), CapacityBytes: d.Capacity, FreeBytes: d.Free,
			JournalBytes: d.JournalBytes, ReplicationRate: d.ReplRate, ReplicationLimit: d.ReplLimit,
			DangerBytes: d.Danger.Bytes, DangerChunks: d.Danger.Chunks, UnderTargetChunks: d.Danger.Under, Fault: d.Fault}
		for _, p := range d.Peers {
			dr.Lag = append(dr.Lag, peerLagUI{Peer: p.ID, Site: siteOf[p.ID], Connected: p.Connected, Chunks: p.Chunks,
				Bytes: p.Bytes, OldestSeconds: secondsSince(now, p.Oldest), Error: p.LastError})
		}
		r.site(d.Site, d.Region).Dataservers = append(r.site(d.Site, d.Region).Dataservers, dr)
	}
	for i := range r.Sites {
		for j := range r.Sites[i].Dataservers {
			dr := &r.Sites[i].Dataservers[j]
			r.dataservers[dr.ID] = dr
		}
	}
}

func (r *statusReport) site(name, region string) *siteReport {
	for i := range r.Sites {
		if r.Sites[i].Site == name {
			return &r.Sites[i]
		}
	}
	r.Sites = append(r.Sites, siteReport{Site: name, Region: region})
	slices.SortFunc(r.Sites, func(a, b siteReport) int { return cmp.Compare(a.Site, b.Site) })
	return r.site(name, region)
}

// addFilesAtRisk turns the chunks each dataserver named into files.
func (r *statusReport) addFilesAtRisk(ctx context.Context, c *rpc.Client, list []ms.DataserverStatus, now time.Time) error {
	paths := map[uint64]string{}
	for _, d := range list {
		for _, f := range filesOf(d.Danger.Top, now) {
			f.Dataserver = d.ID
			p, ok := paths[f.Ino]
			if !ok {
				var err error
				if p, err = c.PathOf(ctx, ms.Ino(f.Ino)); err != nil {
					p = fmt.Sprintf("#%d (%v)", f.Ino, err) // deleted since the report, or unreadable
				}
				paths[f.Ino] = p
			}
			f.Path = p
			r.classify(f, d.Liveness)
		}
	}
	for _, l := range []*[]fileAtRisk{&r.Danger, &r.UnderTarget, &r.Lost} {
		slices.SortFunc(*l, func(a, b fileAtRisk) int { return cmp.Or(cmp.Compare(b.Bytes, a.Bytes), cmp.Compare(a.Path, b.Path)) })
	}
	return nil
}

// classify files f: on a down dataserver its only data is lost (until the
// dataserver returns); on a live one it is in danger or below target.
func (r *statusReport) classify(f fileAtRisk, l registry.Liveness) {
	switch {
	case f.Bytes > 0 && l == registry.Down:
		r.Lost = append(r.Lost, f)
	case f.Bytes > 0:
		r.Danger = append(r.Danger, f)
	}
	if f.Target > 0 && f.Current < f.Target && l != registry.Down {
		r.UnderTarget = append(r.UnderTarget, f)
	}
}

// filesOf groups endangered chunks by file.
func filesOf(chunks []registry.DangerChunk, now time.Time) []fileAtRisk {
	byIno := map[uint64]*fileAtRisk{}
	var order []uint64
	for _, dc := range chunks {
		f := byIno[dc.Ino]
		if f == nil {
			f = &fileAtRisk{Ino: dc.Ino, Current: dc.Current, Target: dc.Target}
			byIno[dc.Ino] = f
			order = append(order, dc.Ino)
		}
		f.Bytes += dc.Bytes
		f.Chunks++
		f.Current = min(f.Current, dc.Current)
		f.Target = max(f.Target, dc.Target)
		f.OldestSeconds = max(f.OldestSeconds, secondsSince(now, dc.Oldest))
	}
	out := make([]fileAtRisk, 0, len(order))
	for _, ino := range order {
		out = append(out, *byIno[ino])
	}
	return out
}

// judge writes the warnings and decides whether all is well.
func (r *statusReport) judge() {
	for _, s := range r.Sites {
		for _, d := range s.Dataservers {
			r.Warnings = append(r.Warnings, dataserverWarnings(d)...)
		}
	}
	for _, d := range r.Damaged {
		r.Warnings = append(r.Warnings, fmt.Sprintf("DAMAGED: chunk %s on %s has %d bad block(s)", d.Chunk, d.Dataserver, len(d.Blocks)))
	}
	for _, l := range r.LostWrites {
		r.Warnings = append(r.Warnings, fmt.Sprintf("LOST: writes to %s, bytes [%d, %d), versions %d-%d, with dataserver %s",
			l.Path, l.RangeStart, l.RangeEnd, l.FromVersion, l.ToVersion, l.Dataserver))
	}
	if n := len(r.UnderTarget); n > 0 {
		r.Warnings = append(r.Warnings, fmt.Sprintf("WARNING: %d file(s) have fewer current copies than their target_copies", n))
	}
	r.Healthy = len(r.Warnings) == 0
}

func dataserverWarnings(d dataserverReport) []string {
	var out []string
	switch {
	case d.State == "down" && d.DangerBytes > 0:
		out = append(out, fmt.Sprintf("LOST: %s exists only on %s, which is down", bytesIEC(d.DangerBytes), d.ID))
	case d.State == "down":
		out = append(out, fmt.Sprintf("WARNING: dataserver %s is down (silent %s)", d.ID, ageText(d.LastHeartbeatSeconds)))
	case d.DangerBytes > 0:
		out = append(out, fmt.Sprintf("WARNING: %s exists only on %s", bytesIEC(d.DangerBytes), d.ID))
	}
	if d.State == "suspect" {
		out = append(out, fmt.Sprintf("WARNING: dataserver %s is suspect (silent %s)", d.ID, ageText(d.LastHeartbeatSeconds)))
	}
	if d.Fault != "" && d.State != "down" {
		out = append(out, fmt.Sprintf("FAULT: dataserver %s: %s", d.ID, d.Fault))
	}
	return out
}

// ageText formats seconds for people: 850 ms, 12 s, 4 min 5 s, 3 h 2 min.
func ageText(s float64) string {
	d := time.Duration(s * float64(time.Second))
	switch {
	case d < time.Second:
		return fmt.Sprintf("%d ms", d.Milliseconds())
	case d < time.Minute:
		return fmt.Sprintf("%d s", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%d min %d s", int(d.Minutes()), int(d.Seconds())%60)
	}
	return fmt.Sprintf("%d h %d min", int(d.Hours()), int(d.Minutes())%60)
}

// addLostWrites names the files of the writes found lost.
func (r *statusReport) addLostWrites(ctx context.Context, c *rpc.Client, lost []ms.LostWrite, now time.Time) {
	for _, l := range lost {
		p, err := c.PathOf(ctx, l.Ino)
		if err != nil {
			p = fmt.Sprintf("#%d (%v)", l.Ino, err)
		}
		from, to := l.Range()
		r.LostWrites = append(r.LostWrites, lostWrite{Path: p, Ino: uint64(l.Ino), RangeStart: from, RangeEnd: to,
			FromVersion: l.From, ToVersion: l.To, Dataserver: l.Primary, NoLiveCopy: l.NoCopy, FoundSeconds: secondsSince(now, l.At)})
	}
}

// addDamaged lists the damaged copies the dataservers reported.
func (r *statusReport) addDamaged(ctx context.Context, c *rpc.Client, list []ms.DataserverStatus) {
	for _, d := range list {
		for _, dc := range d.Damaged {
			dr := damagedCopy{Dataserver: d.ID, Chunk: fmt.Sprintf("%x", dc.Chunk), Blocks: dc.Blocks}
			if dc.Ino != 0 {
				dr.Path, _ = c.PathOf(ctx, ms.Ino(dc.Ino))
			}
			r.Damaged = append(r.Damaged, dr)
		}
	}
}
