package fs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/hanwen/go-fuse/v2/fuse"
	"google.golang.org/grpc/credentials"

	ms "github.com/lis-fs/lis/metaservice"
	"github.com/lis-fs/lis/metaservice/callbacks"
)

// Options configure a client.
type Options struct {
	EntryTimeout    time.Duration // kernel dentry cache; default 1s
	AttrTimeout     time.Duration // kernel attribute cache; default 1s
	NegativeTimeout time.Duration // kernel cache of "no such name"; default 1s
	// CacheTimeout is how long the kernel caches entries, names absent
	// and attributes while the metaservice's invalidation stream is live
	// (coherence.go); the three timeouts above apply while it is not.
	// Default 10 minutes; negative: never cache long (no stream).
	CacheTimeout time.Duration
	// CacheEntries and CacheBytes bound the client's own metadata cache
	// (metacache.go); defaults 50,000 entries and 32 MiB, negative for
	// none.
	CacheEntries int
	CacheBytes   int64
	// InvalidationPoll is how long one poll of the invalidation stream
	// waits for an event; a stream silent for 3s longer counts as lost.
	// Default 5s.
	InvalidationPoll time.Duration
	// CommitInterval bounds how long a written file's size and mtime stay
	// uncommitted to the metaservice while it is open; default 3s.
	CommitInterval time.Duration
	// LeaseDuration is how long a chunk write lease lasts; it is renewed
	// while writing. Default 1 minute.
	LeaseDuration time.Duration
	// AckTimeout bounds how long fsync (and an O_SYNC write) waits for
	// the copies its policy's write_ack asks for; past it the call fails
	// with EIO, naming the missing copies in the log, and replication goes
	// on. Default 30s.
	AckTimeout time.Duration
	// RemoteCacheBytes bounds the cache of data read from other hosts'
	// dataservers (readcache.go); default 64 MiB, negative for none.
	RemoteCacheBytes int64
	// DataserverCreds secure the connections to other hosts'
	// dataservers over TCP (the cluster's TLS); nil: plaintext.
	DataserverCreds credentials.TransportCredentials
	// HeartbeatInterval is the session heartbeat period; default 10s.
	HeartbeatInterval time.Duration
	ReadOnly          bool
	AllowOther        bool
	// WritebackCache lets the kernel buffer writes; see the package doc
	// for why it is off for cluster mounts by default.
	WritebackCache bool
	FsName         string // shown in /proc/mounts
	Debug          bool
	Session        ms.SessionInfo
}

func (o *Options) setDefaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	// Zero means the default; a negative timeout disables that cache.
	for _, d := range []*time.Duration{&o.EntryTimeout, &o.AttrTimeout, &o.NegativeTimeout} {
		def(d, time.Second)
		*d = max(*d, 0)
	}
	def(&o.CacheTimeout, 10*time.Minute)
	if o.CacheEntries == 0 {
		o.CacheEntries = 50_000
	}
	if o.CacheBytes == 0 {
		o.CacheBytes = 32 << 20
	}
	def(&o.InvalidationPoll, 5*time.Second)
	def(&o.CommitInterval, 3*time.Second)
	def(&o.LeaseDuration, time.Minute)
	def(&o.AckTimeout, 30*time.Second)
	def(&o.HeartbeatInterval, 10*time.Second)
	if o.RemoteCacheBytes == 0 {
		o.RemoteCacheBytes = 64 << 20
	}
	if o.FsName == "" {
		o.FsName = "lis"
	}
}

// FS is a mounted (or mountable) Lis client. It implements
// fuse.RawFileSystem; operations it does not support answer ENOSYS
// through the embedded default.
type FS struct {
	fuse.RawFileSystem

	meta Meta
	data Data
	opts Options
	// session is the client's metaservice session; the heartbeat replaces
	// it if the metaservice reaped it, while requests read it.
	session  atomic.Uint64
	groups   groupCache
	files    *fileTable
	remote   *remoteCopies
	policies policyFiles
	dirs     dirStreams
	dirOpens dirOpens
	releases *releaseQueue
	// createHint says whether creates make the first chunk at once.
	createHint createHint
	coh        *coherence
	metrics    clientMetrics
	// kernelNotes feeds the kernel's invalidations to kernelNotifier.
	kernelNotes chan kernelBatch

	mu     sync.Mutex // guards server
	server *fuse.Server

	ctx    context.Context // ends at Close; parent of every operation's context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// New starts a client session on meta and data. Background work (session
// heartbeats, periodic commits of written files) runs until Close.
func New(meta Meta, data Data, opts Options) (*FS, error) {
	opts.setDefaults()
	if opts.Session.Host == "" {
		opts.Session.Host, _ = os.Hostname()
		opts.Session.Pid = os.Getpid()
	}
	ctx, cancel := context.WithCancel(context.Background())
	id, err := meta.RegisterSession(ctx, opts.Session)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("register client session: %w", err)
	}
	f := &FS{RawFileSystem: fuse.NewDefaultRawFileSystem(), meta: meta, data: data, opts: opts,
		groups: groupCache{entries: map[uint32]groupEntry{}}, ctx: ctx, cancel: cancel}
	f.session.Store(id)
	f.files = newFileTable(f)
	f.coh = newCoherence(opts.CacheEntries, opts.CacheBytes)
	f.releases = newReleaseQueue()
	f.remote = newRemoteCopies(meta, data.ID(), f.opts.RemoteCacheBytes, f.opts.DataserverCreds)
	f.every(opts.HeartbeatInterval, f.heartbeat)
	f.every(opts.CommitInterval/2, f.files.commitDue)
	f.every(opts.InvalidationPoll, f.releaseIdleDirs)
	f.wg.Add(1)
	go f.releaser(ctx)
	if opts.CacheTimeout > 0 {
		f.kernelNotes = make(chan kernelBatch, 16)
		f.wg.Add(2)
		go f.kernelNotifier(ctx)
		go f.invalidations(ctx)
	}
	return f, nil
}

func (f *FS) every(d time.Duration, fn func(context.Context) error) {
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		t := time.NewTicker(d)
		defer t.Stop()
		for {
			select {
			case <-f.ctx.Done():
				return
			case <-t.C:
				if err := fn(f.op()); err != nil && f.ctx.Err() == nil {
					slog.Warn("lis fs background task", "err", err)
				}
			}
		}
	}()
}

// heartbeat keeps the session alive; if the metaservice reaped it (this
// client was unreachable for too long), a new session is registered, and
// the locks of the old one are lost, as they would be after a crash.
func (f *FS) heartbeat(ctx context.Context) error {
	old := f.session.Load()
	err := f.meta.Heartbeat(ctx, old)
	if !errors.Is(err, syscall.ENOENT) {
		return err
	}
	id, err := f.meta.RegisterSession(ctx, f.opts.Session)
	if err != nil {
		return err
	}
	slog.Warn("lis fs: session was reaped; registered a new one", "old", old, "new", id)
	f.session.Store(id)
	f.resetCache(callbacks.Batch{}) // the old session's holds went with it
	return nil
}

// String implements fuse.RawFileSystem.
func (f *FS) String() string { return "lis" }

// Init implements fuse.RawFileSystem.
func (f *FS) Init(s *fuse.Server) {
	f.mu.Lock()
	f.server = s
	f.mu.Unlock()
}

// Close commits every written file, ends the session and makes the
// metadata durable. The caller unmounts first.
func (f *FS) Close(ctx context.Context) error {
	err := f.files.commitAll(ctx, true)
	f.cancel()
	f.wg.Wait()
	f.releaseDirs(f.dirOpens.expired(0))
	if rerr := f.flushReleases(ctx); err == nil {
		err = rerr
	}
	if cerr := f.meta.CloseSession(ctx, f.session.Load()); err == nil {
		err = cerr
	}
	if serr := f.meta.Sync(ctx); err == nil {
		err = serr
	}
	f.remote.close()
	return err
}

// op returns the context an operation runs under. It names this
// client's session, so the metaservice does not tell it of its own
// changes (the kernel knows them; and its request holds the directory
// lock the invalidation would wait for), but tells the call instead, so
// that the client's cache drops what they made stale.
func (f *FS) op() context.Context {
	caller, _ := f.coh.caller(f.session.Load(), false)
	return ms.WithCaller(f.ctx, caller)
}

// opMarked is op for a call whose answer the client caches: with the mark
// that tells whether it still may when the answer is in.
func (f *FS) opMarked() (context.Context, answerMark) { return f.marked(f.ctx) }

// marked is opMarked under ctx.
func (f *FS) marked(ctx context.Context) (context.Context, answerMark) {
	caller, mark := f.coh.caller(f.session.Load(), false)
	return ms.WithCaller(ctx, caller), mark
}

// opCancel returns a context that also ends when the kernel interrupts the
// request (a signal to the caller), for operations that may block long.
func (f *FS) opCancel(cancel <-chan struct{}) (context.Context, context.CancelFunc) {
	ctx, stop := context.WithCancel(f.op())
	go func() {
		select {
		case <-cancel:
			stop()
		case <-ctx.Done():
		}
	}()
	return ctx, stop
}
