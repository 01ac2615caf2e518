package dataserver

import (
	"fmt"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// diskSpace keeps the data directory's filesystem from filling up to the
// last block: client and replica writes are refused with ENOSPC while
// taking them would leave less than reserve bytes free. What the room is
// kept for is the dataserver's own bookkeeping, which must not fail when
// clients have filled the disk: checkpoints rewrite chunk sidecars (a new
// file each, renamed into place) and the checkpoint file, and the journal
// appends lease and replica-list records. A dataserver without that room
// could neither checkpoint nor shrink its journal until space was freed.
// (MooseFS chunkservers keep 256 MiB free per disk for the same reason.)
//
// Free space is read with statfs, at most every spaceRefresh while there
// is plenty; near the reserve it is read before every write, so the
// estimate in between (free at the last read minus what was taken since)
// only matters far from the limit.
type diskSpace struct {
	dir     string
	reserve int64 // < 0: no check

	mu   sync.Mutex
	free int64     // at the last statfs, less what take has counted since
	at   time.Time // of the last statfs
	now  func() time.Time
}

const (
	spaceRefresh    = 100 * time.Millisecond
	maxReserveSpace = 256 << 20
)

// newDiskSpace sizes the reserve for dir's filesystem: reserve itself when
// positive, no check when negative, and by default 5% of the filesystem,
// at most maxReserveSpace.
func newDiskSpace(dir string, reserve int64, now func() time.Time) (*diskSpace, error) {
	d := &diskSpace{dir: dir, reserve: reserve, now: now}
	if reserve != 0 {
		return d, nil
	}
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return nil, fmt.Errorf("statfs %s: %w", dir, err)
	}
	d.reserve = min(maxReserveSpace, int64(st.Blocks)*st.Frsize/20)
	return d, nil
}

// take accounts for n bytes about to be written, or fails with an error
// wrapping ENOSPC when that would eat into the reserve. Block counts are
// in units of the fragment size (f_frsize), as statfs(2) says; f_bsize is
// only the preferred I/O size, equal on ext4 and xfs but not everywhere.
func (d *diskSpace) take(n int64) error {
	if d.reserve < 0 {
		return nil
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if now := d.now(); now.Sub(d.at) > spaceRefresh || d.free-n < 2*d.reserve {
		var st unix.Statfs_t
		if err := unix.Statfs(d.dir, &st); err != nil {
			return fmt.Errorf("statfs %s: %w", d.dir, err)
		}
		// Bavail: what an unprivileged writer may use; a dataserver
		// running as root should leave root's reserved blocks alone too.
		d.free, d.at = int64(st.Bavail)*st.Frsize, now
	}
	if d.free-n < d.reserve {
		return fmt.Errorf("write of %d bytes: %d bytes free on %s, %d kept for checkpoints: %w",
			n, d.free, d.dir, d.reserve, syscall.ENOSPC)
	}
	d.free -= n
	return nil
}

// usage returns the size of dir's filesystem and the bytes a writer may
// still take from it: free space net of the reserve.
func (d *diskSpace) usage() (size, avail int64, err error) {
	var st unix.Statfs_t
	if err := unix.Statfs(d.dir, &st); err != nil {
		return 0, 0, fmt.Errorf("statfs %s: %w", d.dir, err)
	}
	size, free := int64(st.Blocks)*st.Frsize, int64(st.Bavail)*st.Frsize
	return size, max(0, free-max(d.reserve, 0)), nil
}
