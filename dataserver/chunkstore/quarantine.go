package chunkstore

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/lis-fs/lis/journal/diskfs"
)

// Quarantine. A copy that diverged from its chunk's other copies (it
// took writes as primary that no other copy saw before it was failed
// over) must never be served again, but it may hold the only trace of
// writes a user wants back. So it is not removed: its sidecar and data
// file go to DIR/quarantine, where an operator can read them (the
// sidecar's checksums vouch for the data when the caller persisted the
// chunk first) and delete them by hand. The store no longer knows the
// chunk.
//
// A quarantine must survive being cut short and replayed (the caller
// journals it): its name is fixed by the caller (the delete record's
// LSN), both files are linked into the quarantine before either original
// goes, and a replay finds what is already there and only finishes.

// QuarantineDir is the directory, under the store's, that holds
// quarantined copies.
const QuarantineDir = "quarantine"

// QuarantinedCopy is one quarantined copy.
type QuarantinedCopy struct {
	Chunk   uint64
	Version uint64    // from its sidecar; 0 if that is missing or unreadable
	At      time.Time // when it was quarantined
	Path    string    // its data file (its sidecar, if the data file is gone)
}

// Persist makes c's state durable (data fdatasynced, sidecar written), so
// that a quarantined copy's sidecar matches its data.
func (s *Store) Persist(c *Chunk) error {
	snap, err := c.Snapshot()
	if err != nil {
		return err
	}
	return s.Checkpoint([]Snapshot{snap})
}

// Quarantined reports whether chunk id's copy is in the quarantine whole
// under tag.
func (s *Store) Quarantined(id, tag uint64) bool {
	stem := s.quarantineStem(id, tag)
	for _, ext := range []string{".meta", ".dat"} {
		if _, err := s.fs.Stat(stem + ext); err != nil {
			return false
		}
	}
	return true
}

// Quarantine closes c (if not nil) and moves chunk id's files into the
// quarantine under tag, a number the caller keeps for this quarantine (a
// replay passes the same). Files already moved are skipped.
func (s *Store) Quarantine(id uint64, c *Chunk, tag uint64) error {
	if c != nil {
		if err := c.Close(); err != nil {
			return fmt.Errorf("quarantine chunk %x: %w", id, err)
		}
	}
	if err := s.ensureQuarantineDir(); err != nil {
		return fmt.Errorf("quarantine chunk %x: %w", id, err)
	}
	stem := s.quarantineStem(id, tag)
	linked, found := false, false
	for _, m := range [][2]string{{s.metaPath(id), stem + ".meta"}, {s.dataPath(id), stem + ".dat"}} {
		err := s.fs.Link(m[0], m[1])
		switch {
		case err == nil:
			linked, found = true, true
		case errors.Is(err, os.ErrExist):
			found = true
		case errors.Is(err, os.ErrNotExist):
		default:
			return fmt.Errorf("quarantine chunk %x: %w", id, err)
		}
	}
	if !found {
		return nil // no files: moved by the run this one replays, or never written
	}
	if linked {
		if err := s.syncDir(filepath.Join(s.dir, QuarantineDir)); err != nil {
			return err
		}
	}
	if err := s.Remove(id, nil); err != nil {
		return fmt.Errorf("quarantine chunk %x: %w", id, err)
	}
	return s.syncDir(s.subdir(id))
}

func (s *Store) quarantineStem(id, tag uint64) string {
	return filepath.Join(s.dir, QuarantineDir, fmt.Sprintf("%016x-q%d", id, tag))
}

// ensureQuarantineDir makes the quarantine directory, durably.
func (s *Store) ensureQuarantineDir() error {
	dir := filepath.Join(s.dir, QuarantineDir)
	if _, err := s.fs.Stat(dir); err == nil {
		return nil
	}
	if err := s.fs.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return s.syncDir(s.dir)
}

var quarantineName = regexp.MustCompile(`^([0-9a-f]{16})-q([0-9]+)\.(dat|meta)$`)

// QuarantinedCopies lists the quarantined copies, oldest first.
func (s *Store) QuarantinedCopies() ([]QuarantinedCopy, error) {
	dir := filepath.Join(s.dir, QuarantineDir)
	ents, err := s.fs.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list quarantined copies: %w", err)
	}
	var out []QuarantinedCopy
	for _, e := range ents { // by name: a copy's .dat comes before its .meta
		m := quarantineName.FindStringSubmatch(e.Name())
		if m == nil {
			continue
		}
		id, _ := strconv.ParseUint(m[1], 16, 64)
		stem := filepath.Join(dir, m[1]+"-q"+m[2])
		if n := len(out); n > 0 && strings.HasPrefix(out[n-1].Path, stem+".") {
			continue
		}
		out = append(out, QuarantinedCopy{Chunk: id, Version: s.quarantinedVersion(stem), At: changedAt(e), Path: filepath.Join(dir, e.Name())})
	}
	slices.SortStableFunc(out, func(a, b QuarantinedCopy) int { return a.At.Compare(b.At) })
	return out, nil
}

// quarantinedVersion reads the version in a quarantined copy's sidecar.
func (s *Store) quarantinedVersion(stem string) uint64 {
	raw, err := diskfs.ReadFile(s.fs, stem+".meta")
	if err != nil {
		return 0
	}
	side, err := decodeSidecar(raw)
	if err != nil {
		return 0
	}
	return side.Meta.Version
}

// changedAt is when a directory entry's inode last changed: for a
// quarantined file, when it was linked there.
func changedAt(e os.DirEntry) time.Time {
	fi, err := e.Info()
	if err != nil {
		return time.Time{}
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return time.Unix(st.Ctim.Sec, st.Ctim.Nsec)
	}
	return fi.ModTime()
}
