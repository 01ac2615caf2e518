package journal

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sort"
	"sync"
	"time"

	"github.com/lis-fs/lis/journal/diskfs"
)

// LSN is a record's log sequence number: 1 for the first record ever
// appended, then consecutive. 0 means "none".
type LSN uint64

// Record is one entry of the log.
type Record struct {
	LSN  LSN
	Data []byte
}

var (
	// ErrClosed is returned by every operation on a closed Log or its cursors.
	ErrClosed = errors.New("journal: log closed")
	// ErrDropped is returned by Next and Ack of a cursor whose consumer was
	// dropped; that consumer needs a full resync.
	ErrDropped = errors.New("journal: consumer dropped")
	// ErrUnknownConsumer is returned by DropConsumer for a name it does not know.
	ErrUnknownConsumer = errors.New("journal: unknown consumer")
)

const (
	defaultSegmentSize  = 64 << 20
	defaultSyncInterval = time.Second
	lockFile            = "LOCK"
)

// Options configure a Log. Only Dir is required.
type Options struct {
	Dir         string
	SegmentSize int64 // roll segments at this size; default 64 MiB
	SizeLimit   int64 // 0 = unlimited; see OverLimit

	// OverLimit is called (from the appending goroutine, without locks held;
	// must not block long) when the log's on-disk size passes SizeLimit,
	// naming the consumer whose cursor holds back the oldest segment. The
	// owner typically calls DropConsumer(name) so the segments can go; the
	// consumer will then need a full resync. It is called once per consumer
	// per episode over the limit, and not at all when no consumer holds the
	// oldest segment (then the owner's own Release point, or durability,
	// is what holds it).
	OverLimit func(consumer string, size int64)

	// FS is the file system the log is kept through; nil is the real
	// disk (tests pass a diskfs.Faulty).
	FS diskfs.FS

	// SyncInterval is the period of the background sync of un-synced
	// appends; default 1s; < 0 disables it.
	SyncInterval time.Duration

	// WritebackBytes, when > 0, starts the disk write-out of every that
	// many bytes appended without waiting for it (see writeback.go), so a
	// Sync after a large burst has only the tail left to write.
	WritebackBytes int64

	// Logger receives background errors and recovery reports; default
	// slog.Default().
	Logger *slog.Logger
}

// Log is a segmented, checksummed, append-only write-ahead log. It is safe
// for concurrent use. See the package documentation for the design.
type Log struct {
	opts     Options
	dir      string
	disk     logDir
	lock     io.Closer // held for the life of the Log
	recovery Recovery
	log      *slog.Logger

	// gcMu serializes writers of the state file and segment deletion, so a
	// deletion is always justified by the state it persisted.
	gcMu sync.Mutex

	mu sync.Mutex
	// segs is ordered by LSN and never empty; segs[i+1].first ==
	// segs[i].last+1; only the last one is unsealed.
	segs     []*segment
	last     LSN        // last appended LSN
	durable  LSN        // records <= durable are on stable storage; durable <= last
	size     int64      // sum of segs[i].size
	unsynced []*segment // sealed segments whose files still need fdatasync+close
	dirDirty bool       // a segment file was created since the last sync
	syncing  bool       // a sync leader is running
	changed  chan struct{}
	err      error // sticky: a failed fsync leaves the log unusable
	closing  bool  // Close has started: no more appends
	closed   bool  // files released
	released LSN   // owner's checkpoint (Release)
	cursors  map[string]*Cursor
	notified map[string]bool // consumers OverLimit was called for, this episode
	dirty    bool            // state differs from the state file
	saved    LSN             // durable LSN recorded in the state file
	rounds   uint64          // completed fdatasync rounds (group commits)
	tailing  int             // cursors in Next waiting for an append

	syncHook func() // tests: runs at the start of each sync round, in the leader

	wbSeg *segment // the segment write-out was last asked for
	wbOff int64    // and how far

	syncKick chan struct{}
	gcKick   chan struct{}
	wbKick   chan struct{}
	stop     chan struct{}
	done     chan struct{}
}

// Open opens the log in opts.Dir, creating it if needed, and recovers it:
// every segment is scanned and every record's CRC verified; a torn or corrupt
// tail is cut off (see Recovered); damage where records are known to have
// been acknowledged is a *CorruptError. Only one Log may have a directory
// open at a time (it is flock'ed).
func Open(opts Options) (*Log, error) {
	if opts.Dir == "" {
		return nil, errors.New("journal: Options.Dir is required")
	}
	if opts.SegmentSize <= 0 {
		opts.SegmentSize = defaultSegmentSize
	}
	if opts.SyncInterval == 0 {
		opts.SyncInterval = defaultSyncInterval
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	disk := logDir{fs: diskfs.Or(opts.FS), path: opts.Dir}
	if err := disk.fs.MkdirAll(opts.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	lock, err := disk.fs.Lock(disk.join(lockFile))
	if err != nil {
		return nil, fmt.Errorf("journal: %s: %w", opts.Dir, err)
	}
	l := &Log{
		opts: opts, dir: opts.Dir, disk: disk, lock: lock, log: opts.Logger,
		changed: make(chan struct{}), cursors: map[string]*Cursor{}, notified: map[string]bool{},
		syncKick: make(chan struct{}, 1), gcKick: make(chan struct{}, 1), wbKick: make(chan struct{}, 1),
		stop: make(chan struct{}), done: make(chan struct{}),
	}
	if err := l.load(); err != nil {
		lock.Close()
		return nil, err
	}
	go l.run()
	if err := l.saveState(); err != nil {
		l.Close()
		return nil, err
	}
	if err := l.collect(); err != nil {
		l.Close()
		return nil, err
	}
	return l, nil
}

// load recovers segments and state and opens the active segment.
func (l *Log) load() error {
	st, err := loadState(l.disk)
	if err != nil {
		return err
	}
	segs, rec, err := recoverSegments(l.disk, st.Durable)
	if err != nil {
		return err
	}
	if len(segs) == 0 {
		if st.Durable > 0 || st.Released > 0 {
			return fmt.Errorf("journal: %s has no segments but its state records LSN %d", l.dir, max(st.Durable, st.Released))
		}
		seg, err := createSegment(l.disk, 1, l.opts.SegmentSize)
		if err != nil {
			return err
		}
		seg.f.Close()
		seg.f = nil
		seg.sealed = true
		if err := l.disk.sync(); err != nil {
			return fmt.Errorf("journal: %w", err)
		}
		segs = append(segs, seg)
	}
	active := segs[len(segs)-1]
	if active.f, err = l.disk.fs.OpenFile(active.path, os.O_RDWR, 0); err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	active.sealed = false
	if err := active.reserve(l.opts.SegmentSize); err != nil {
		active.f.Close()
		return err
	}
	l.segs = segs
	l.last = active.last
	l.durable = l.last
	for _, s := range segs {
		l.size += s.size
	}
	l.adoptState(st)
	rec.FirstLSN, rec.LastLSN = l.firstLocked(), l.last
	l.recovery = rec
	if rec.TruncatedSegment != "" {
		l.log.Warn("journal: cut torn tail", "dir", l.dir, "segment", rec.TruncatedSegment,
			"offset", rec.TruncatedAt, "discarded_bytes", rec.DiscardedBytes,
			"removed_segments", len(rec.RemovedSegments), "reason", rec.Reason)
	}
	return nil
}

// adoptState installs the persisted release point and consumers, clamped to
// what recovery kept.
func (l *Log) adoptState(st persistedState) {
	l.released = min(st.Released, l.last)
	first := l.firstLocked()
	for name, pos := range st.Consumers {
		// Saved positions never exceed the saved durable LSN, which
		// recovery kept; the clamp is for hand-edited state files.
		pos = min(pos, l.last)
		if pos+1 < first {
			// Only possible if the state file was tampered with: the
			// records this consumer needs are gone, so it needs a resync.
			l.log.Warn("journal: consumer is behind the log; dropping it",
				"dir", l.dir, "consumer", name, "position", pos, "first", first)
			l.dirty = true
			continue
		}
		l.cursors[name] = newCursor(l, name, pos)
	}
}

// Recovered reports what Open found and repaired.
func (l *Log) Recovered() Recovery { return l.recovery }

// Err returns the log's sticky error, or nil: after a failed fdatasync
// every append and sync fails with it, since what the page cache held may
// be gone; only reopening the log (recovery trusts the disk) clears it.
func (l *Log) Err() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.err
}

// Dir returns the directory of the log.
func (l *Log) Dir() string { return l.dir }

func (l *Log) usableLocked() error {
	switch {
	case l.err != nil:
		return l.err
	case l.closing:
		return ErrClosed
	}
	return nil
}

// LastLSN returns the LSN of the last appended record (0 if none ever was).
func (l *Log) LastLSN() LSN {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.last
}

// DurableLSN returns the highest LSN known to be on stable storage.
func (l *Log) DurableLSN() LSN {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.durable
}

// FirstLSN returns the LSN of the oldest record still stored, or
// LastLSN()+1 when no record is stored.
func (l *Log) FirstLSN() LSN {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.firstLocked()
}

func (l *Log) firstLocked() LSN { return l.segs[0].first }

// Size returns the bytes of the segments present (headers included;
// preallocated but unwritten space is not counted).
func (l *Log) Size() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.size
}

// Stats is a snapshot of a Log, for metrics and status reports.
type Stats struct {
	FirstLSN, LastLSN, DurableLSN LSN
	Released                      LSN // the owner's release point
	Size                          int64
	Segments                      int
	SyncRounds                    uint64         // fdatasync rounds so far; Syncs share them
	Consumers                     map[string]LSN // acked position of each consumer
}

// Stats returns a consistent snapshot of the log's positions and size.
func (l *Log) Stats() Stats {
	l.mu.Lock()
	defer l.mu.Unlock()
	st := Stats{
		FirstLSN: l.firstLocked(), LastLSN: l.last, DurableLSN: l.durable, Released: l.released,
		Size: l.size, Segments: len(l.segs), SyncRounds: l.rounds,
		Consumers: make(map[string]LSN, len(l.cursors)),
	}
	for name, c := range l.cursors {
		st.Consumers[name] = c.acked
	}
	return st
}

// Consumers returns the names of the consumers, sorted.
func (l *Log) Consumers() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	names := make([]string, 0, len(l.cursors))
	for n := range l.cursors {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// broadcastLocked wakes everyone waiting for a change (Sync waiters, Next).
func (l *Log) broadcastLocked() {
	close(l.changed)
	l.changed = make(chan struct{})
}

// Close syncs everything appended, persists consumer positions, stops the
// background goroutine and releases the files. Blocked Next calls and
// Sync calls that the final sync does not satisfy return ErrClosed.
func (l *Log) Close() error {
	l.mu.Lock()
	if l.closing {
		l.mu.Unlock()
		return ErrClosed
	}
	l.closing = true
	l.mu.Unlock()

	close(l.stop)
	<-l.done
	err := l.syncAll()
	if serr := l.saveState(); err == nil {
		err = serr
	}

	l.gcMu.Lock() // no state write or deletion may run once the dir lock goes
	l.mu.Lock()
	l.closed = true
	files := []diskfs.File{l.segs[len(l.segs)-1].f}
	for _, s := range l.unsynced {
		files = append(files, s.f)
	}
	l.unsynced = nil
	cursors := make([]*Cursor, 0, len(l.cursors))
	for _, c := range l.cursors {
		cursors = append(cursors, c)
	}
	l.broadcastLocked()
	l.mu.Unlock()
	l.gcMu.Unlock()

	for _, c := range cursors {
		c.closeReader()
	}
	for _, f := range files {
		if f != nil {
			f.Close()
		}
	}
	l.lock.Close()
	return err
}
