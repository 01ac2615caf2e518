package rpc

import (
	"fmt"
	"syscall"
	"time"

	ms "github.com/lis-fs/lis/metaservice"
)

// Limits the Server enforces on requests before they reach the core. The
// core checks POSIX limits itself (name and symlink lengths, xattr sizes,
// flag combinations); these bound what the core would otherwise do for
// any caller: the size of a transaction, of a scan, of a response.
const (
	// DefaultMaxRequest is the largest request message accepted; the
	// biggest legitimate ones are a 64 KiB xattr value and a CommitWrite
	// with MaxCommitChunks chunk versions.
	DefaultMaxRequest = 4 << 20
	// MaxGroups is the most supplementary groups a credential carries
	// (Linux's NGROUPS_MAX).
	MaxGroups = 65536
	// MaxReadDirEntries is the most entries one ReadDir returns; a larger
	// limit is lowered to it (the caller resumes from the last cookie).
	MaxReadDirEntries = 4096
	// MaxDeletions is the most chunks one PendingDeletions returns and
	// one AckDeletions acknowledges (Client.AckDeletions splits).
	MaxDeletions = 4096
	// MaxReleaseOpens is the most opens one ReleaseOpens drops
	// (Client.ReleaseOpens splits).
	MaxReleaseOpens = 4096
	// MaxCommitChunks is the most chunk versions one CommitWrite carries.
	MaxCommitChunks = 4096
	// MaxLabel bounds dataserver names, site names and PD labels.
	MaxLabel = 255
	// MaxPath bounds paths and the strings of a session's description.
	MaxPath = 4096
	// MaxLease is the longest chunk lease that may be asked for.
	MaxLease = time.Hour
	// MaxVoters is the most Raft voters a placement rule may ask for.
	MaxVoters = 15
	// MaxFileSize is the largest file size: the core numbers a file's
	// chunks with 32 bits.
	MaxFileSize = uint64(ms.ChunkSize) * (1<<32 - 1)
)

// checker is implemented by requests that need validation. check returns
// an error wrapping an errno, and may normalise the request (clamp a
// limit); the Server calls it before the handler.
type checker interface{ check() error }

func invalid(format string, args ...any) error {
	return fmt.Errorf("%s: %w", fmt.Sprintf(format, args...), syscall.EINVAL)
}

func (c *wireCred) check() error {
	if len(c.Groups) > MaxGroups {
		return invalid("credential with %d groups (limit %d)", len(c.Groups), MaxGroups)
	}
	return nil
}

func checkLen(what, s string, limit int) error {
	if len(s) > limit {
		return invalid("%s of %d bytes (limit %d)", what, len(s), limit)
	}
	return nil
}

func checkDataserver(name string) error {
	if name == "" {
		return invalid("empty dataserver name")
	}
	return checkLen("dataserver name", name, MaxLabel)
}

func checkSize(size uint64) error {
	if size > MaxFileSize {
		return fmt.Errorf("file size %d exceeds %d: %w", size, MaxFileSize, syscall.EFBIG)
	}
	return nil
}

func (r *entryReq) check() error  { return r.Cred.check() }
func (r *createReq) check() error { return r.Cred.check() }
func (r *linkReq) check() error   { return r.Cred.check() }
func (r *renameReq) check() error { return r.Cred.check() }
func (r *xattrReq) check() error  { return r.Cred.check() }
func (r *openReq) check() error   { return r.Cred.check() }

// setAttrKnown is every SetAttrIn.Valid bit the core understands.
const setAttrKnown = ms.SetMode | ms.SetUid | ms.SetGid | ms.SetSize | ms.SetAtime | ms.SetMtime |
	ms.SetAtimeNow | ms.SetMtimeNow | ms.SetCtime | ms.SetFromHandle | ms.SetKillPriv

func (r *setAttrReq) check() error {
	if r.Valid&^setAttrKnown != 0 {
		return invalid("setattr valid bits %#x", r.Valid)
	}
	if r.Valid&ms.SetSize != 0 {
		if err := checkSize(r.Size); err != nil {
			return err
		}
	}
	return r.Cred.check()
}

func (r *readDirReq) check() error {
	r.Limit = min(max(r.Limit, 0), MaxReadDirEntries)
	return r.Cred.check()
}

func (r *accessReq) check() error {
	if r.Mask&^uint32(ms.MayRead|ms.MayWrite|ms.MayExec) != 0 {
		return invalid("access mask %#o", r.Mask)
	}
	return r.Cred.check()
}

func checkLockType(typ uint32) error {
	switch typ {
	case ms.ReadLock, ms.WriteLock, ms.Unlock:
		return nil
	}
	return invalid("lock type %d", typ)
}

func (r *flockReq) check() error { return checkLockType(r.Type) }

func (r *lockReq) check() error {
	if r.Lock.End < r.Lock.Start {
		return invalid("lock range %d-%d", r.Lock.Start, r.Lock.End)
	}
	return checkLockType(r.Lock.Type)
}

func (r *chunkReq) check() error {
	if r.Lease < 0 || r.Lease > int64(MaxLease) {
		return invalid("lease of %v (limit %v)", time.Duration(r.Lease), MaxLease)
	}
	return checkDataserver(r.Dataserver)
}

func (r *createFileReq) check() error {
	if r.Dataserver == "" { // a plain create
		return r.Create.check()
	}
	if err := (&chunkReq{Dataserver: r.Dataserver, Lease: r.Lease}).check(); err != nil {
		return err
	}
	return r.Create.check()
}

func (r *chunksReq) check() error {
	if r.To < r.From {
		return invalid("chunk range [%d, %d)", r.From, r.To)
	}
	return nil
}

func (r *commitReq) check() error {
	if len(r.Chunks) > MaxCommitChunks {
		return fmt.Errorf("commit of %d chunks (limit %d): %w", len(r.Chunks), MaxCommitChunks, syscall.E2BIG)
	}
	for _, c := range r.Chunks {
		if err := checkDataserver(c.Dataserver); err != nil {
			return err
		}
	}
	return checkSize(r.Size)
}

func (r *limitReq) check() error {
	if r.Limit <= 0 || r.Limit > MaxDeletions {
		r.Limit = MaxDeletions
	}
	return nil
}

func (r *ackReq) check() error {
	if len(r.Chunks) > MaxDeletions {
		return fmt.Errorf("ack of %d deletions (limit %d): %w", len(r.Chunks), MaxDeletions, syscall.E2BIG)
	}
	return nil
}

func (r *releaseOpensReq) check() error {
	if len(r.Inos) > MaxReleaseOpens {
		return fmt.Errorf("release of %d opens (limit %d): %w", len(r.Inos), MaxReleaseOpens, syscall.E2BIG)
	}
	return nil
}

func (r *registerReq) check() error {
	i := &r.Info
	for _, f := range []struct{ what, s string }{
		{"session host", i.Host}, {"session mount point", i.MountPoint}, {"session version", i.Version},
	} {
		if err := checkLen(f.what, f.s, MaxPath); err != nil {
			return err
		}
	}
	return nil
}

func (r *createShardReq) check() error {
	if err := checkLen("shard path", r.Path, MaxPath); err != nil {
		return err
	}
	return r.Cred.check()
}

func (r *siteReq) check() error { return checkLen("site name", r.Site, MaxLabel) }

func (r *placementReq) check() error {
	if r.Voters < 1 || r.Voters > MaxVoters {
		return invalid("%d voters (want 1 to %d)", r.Voters, MaxVoters)
	}
	if err := checkLen("placement group", r.Group, MaxLabel); err != nil {
		return err
	}
	return checkLen("label key", r.LabelKey, MaxLabel)
}
