package dataserver

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lis-fs/lis/dataserver/chunkstore"
	"github.com/lis-fs/lis/journal/diskfs"
	"github.com/lis-fs/lis/metaservice/clustertls"
	"github.com/lis-fs/lis/metaservice/policy"
	"github.com/lis-fs/lis/metaservice/registry"
)

// Config configures a Server. Dir is required; everything else has a
// default.
type Config struct {
	// Dir holds the chunk store (Dir/chunks) and the journal (Dir/journal).
	Dir string
	// ID names this dataserver in leases and replica lists; default the
	// host name.
	ID string
	// Site and Region place the dataserver (reported, not used yet).
	Site, Region string

	// Listen is the TCP address peers (and remote clients) use, e.g.
	// "127.0.0.1:7301"; "" means no TCP listener.
	Listen string
	// Unix is the socket path of the co-located client; "" means none.
	Unix string

	// ChunkSize is the largest size of a chunk; default 64 MiB.
	ChunkSize int64
	// MaxWrite bounds one Write's data; default 8 MiB.
	MaxWrite int

	// JournalSegmentSize is the journal's segment size; default 64 MiB.
	JournalSegmentSize int64
	// ReplicationLimit caps the bytes per second all replication out of
	// this dataserver sends (0: unlimited); ReplicationBurst lets an idle
	// sender send a second's worth at once; PriorityHours, in local time,
	// lifts the cap (see bandwidth.go).
	ReplicationLimit int64
	ReplicationBurst bool
	PriorityHours    *policy.HourRange
	// AdminToken, when set, is the token the metaservice must present on
	// admin calls (admin.go); it is sent to the registry in heartbeats.
	AdminToken string
	// TLS, when set, is this node's identity in the cluster: the TCP
	// listener serves mutual TLS only (the unix socket stays plaintext),
	// connections to peers use it, and calls from TLS peers are
	// authorized by their certificates' roles (authz.go).
	TLS *clustertls.Identity
	// LazyWindow is how long a lazily replicated chunk's changes may wait
	// before they are shipped as one batch; default 30s. LazyHighWater
	// ships every waiting batch once the changes held back on one peer
	// pass it; default 256 MiB. (See lazy.go.)
	LazyWindow    time.Duration
	LazyHighWater int64
	// JournalSizeLimit is the journal size past which a replica that holds
	// it back is dropped (and later brought back by a full copy); default
	// 4 GiB, < 0 for no limit.
	JournalSizeLimit int64
	// ScrubRate is how many bytes per second the scrubber reads back to
	// check their checksums (scrub.go); 0: no scrubbing.
	ScrubRate int64

	// ApplyDelay is how long an acknowledged write may wait for a client's
	// sync to make it durable before the applier forces one (writes are
	// applied to chunk files only once durable); default 5ms.
	ApplyDelay time.Duration
	// CheckpointInterval is the period of checkpoints (chunk files synced,
	// journal released); default 2s.
	CheckpointInterval time.Duration
	// PendingLimit bounds the bytes acknowledged but not yet applied to
	// chunk files; writers wait above it; default 256 MiB.
	PendingLimit int64
	// MaxOpenChunks bounds the chunk data files kept open (a soft limit:
	// files in use right now are never closed); the least recently used
	// are closed and reopened on demand. Default min(4096,
	// RLIMIT_NOFILE/4), at least 16.
	MaxOpenChunks int
	// FS is the file system the journal, the chunk store and the
	// checkpoint are kept through; nil is the real disk. Tests pass a
	// diskfs.Faulty to fail an fsync, a read or a write.
	FS diskfs.FS

	// Capacity is a quota on the bytes this dataserver stores (chunk sizes
	// plus journal); writes past it fail with ENOSPC; 0 means no quota
	// (the disk's own ENOSPC still applies).
	Capacity int64

	// ReserveSpace is the free space kept on the data directory's
	// filesystem for checkpoints: writes fail with ENOSPC rather than
	// take it (see diskSpace). Default 5% of the filesystem, at most
	// 256 MiB; < 0 for none.
	ReserveSpace int64

	// NoLeases accepts client writes without a write lease (a one-machine
	// volume with no metaservice to grant them). Replica apply never needs
	// a lease.
	NoLeases bool

	// ReplBatchBytes is the target uncompressed size of a replication
	// batch; default 4 MiB. ReplWindow is how many unacknowledged batches
	// a sender keeps in flight; default 16: 64 MiB, twice what a 250 ms ×
	// 1 Gbit/s path holds, as acks also wait for the replica's journal.
	ReplBatchBytes int
	ReplWindow     int

	// Logger receives structured logs; default slog.Default().
	Logger *slog.Logger
	// Registerer receives the Prometheus metrics; nil means none.
	Registerer prometheus.Registerer
	// Now is the clock used for lease expiry; default time.Now.
	Now func() time.Time
}

func (c *Config) setDefaults() error {
	if c.Dir == "" {
		return errors.New("dataserver: Config.Dir is required")
	}
	if c.ID == "" {
		h, err := os.Hostname()
		if err != nil {
			return errors.New("dataserver: Config.ID is required (no host name)")
		}
		c.ID = h
	}
	if err := registry.CheckID(c.ID); err != nil {
		return fmt.Errorf("dataserver: %w", err)
	}
	defaults := []struct {
		v   *int64
		def int64
	}{
		{&c.ChunkSize, 64 << 20},
		{&c.JournalSegmentSize, 64 << 20},
		{&c.JournalSizeLimit, 4 << 30},
		{&c.PendingLimit, 256 << 20},
	}
	for _, d := range defaults {
		if *d.v == 0 {
			*d.v = d.def
		}
	}
	if c.MaxOpenChunks <= 0 {
		c.MaxOpenChunks = chunkstore.DefaultMaxOpenFiles()
	}
	if c.MaxWrite == 0 {
		c.MaxWrite = 8 << 20
	}
	if c.ApplyDelay == 0 {
		c.ApplyDelay = 5 * time.Millisecond
	}
	if c.CheckpointInterval == 0 {
		c.CheckpointInterval = 2 * time.Second
	}
	if c.ReplBatchBytes == 0 {
		c.ReplBatchBytes = 4 << 20
	}
	if c.LazyWindow == 0 {
		c.LazyWindow = 30 * time.Second
	}
	if c.LazyHighWater == 0 {
		c.LazyHighWater = 256 << 20
	}
	if c.ReplWindow == 0 {
		c.ReplWindow = 16
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return nil
}
