package chunkstore

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"time"
)

// Quarantine. A copy that diverged from its chunk's other copies (it
// took writes as primary that no other copy saw before it was failed
// over) must never be served again, but it may hold the only trace of
// writes a user wants back. So it is not removed: its sidecar and data
// file move to DIR/quarantine, named by chunk and version, where an
// operator can read them (the sidecar's checksums still vouch for the
// data) and delete them by hand. The store no longer knows the chunk.

// QuarantineDir is the directory, under the store's, that holds
// quarantined copies.
const QuarantineDir = "quarantine"

// QuarantinedCopy is one quarantined copy.
type QuarantinedCopy struct {
	Chunk   uint64
	Version uint64
	At      time.Time // when it was quarantined
	Path    string    // its data file
}

// Quarantine persists c's state (snapshot: data fdatasynced, sidecar
// written), closes it, and moves chunk id's files into the quarantine
// directory. Files already gone (a quarantine replayed after a crash)
// are skipped.
func (s *Store) Quarantine(id uint64, c *Chunk) error {
	if c != nil {
		snap, err := c.Snapshot()
		if err == nil {
			err = s.Checkpoint([]Snapshot{snap})
		}
		if err == nil {
			err = c.Close()
		}
		if err != nil {
			return fmt.Errorf("quarantine chunk %x: %w", id, err)
		}
	}
	side, err := s.readSidecar(id)
	if err != nil {
		return fmt.Errorf("quarantine chunk %x: %w", id, err)
	}
	return s.moveToQuarantine(id, side.Meta.Version)
}

// moveToQuarantine moves the sidecar first, as Remove removes it first:
// a move cut short leaves a data file without sidecar, which reopens
// empty, and the replayed quarantine moves the rest.
func (s *Store) moveToQuarantine(id, version uint64) error {
	dir := filepath.Join(s.dir, QuarantineDir)
	if err := s.fs.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("quarantine chunk %x: %w", id, err)
	}
	stem := filepath.Join(dir, fmt.Sprintf("%016x-v%d-%d", id, version, time.Now().UnixNano()))
	moved := false
	for _, m := range [][2]string{{s.metaPath(id), stem + ".meta"}, {s.dataPath(id), stem + ".dat"}} {
		err := s.fs.Rename(m[0], m[1])
		switch {
		case errors.Is(err, os.ErrNotExist):
		case err != nil:
			return fmt.Errorf("quarantine chunk %x: %w", id, err)
		default:
			moved = true
		}
	}
	if !moved {
		return nil
	}
	if err := s.syncDir(dir); err != nil {
		return err
	}
	return s.syncDir(s.subdir(id))
}

var quarantineName = regexp.MustCompile(`^([0-9a-f]{16})-v([0-9]+)-([0-9]+)\.dat$`)

// Quarantined lists the quarantined copies, by chunk and version.
func (s *Store) Quarantined() ([]QuarantinedCopy, error) {
	dir := filepath.Join(s.dir, QuarantineDir)
	ents, err := s.fs.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list quarantined copies: %w", err)
	}
	var out []QuarantinedCopy
	for _, e := range ents {
		m := quarantineName.FindStringSubmatch(e.Name())
		if m == nil {
			continue
		}
		id, _ := strconv.ParseUint(m[1], 16, 64)
		v, _ := strconv.ParseUint(m[2], 10, 64)
		at, _ := strconv.ParseInt(m[3], 10, 64)
		out = append(out, QuarantinedCopy{Chunk: id, Version: v, At: time.Unix(0, at), Path: filepath.Join(dir, e.Name())})
	}
	return out, nil // ReadDir sorts by name: by chunk, then version and time
}
