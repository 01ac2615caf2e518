package dataserver

import (
	"fmt"
	"strings"
)

// Disk faults. A dataserver whose disk failed it says so in every
// heartbeat (registry.Heartbeat.Fault), so that the metaservice places no
// new copies on it and lis status shows it, rather than leaving the
// operator to find the log line. Three faults are tracked:
//
//   - journal: a failed fdatasync of the journal. It is sticky (the page
//     cache may have dropped what the fdatasync was to write): every write
//     and sync fails with it until the dataserver restarts and recovery
//     trusts only what is on disk.
//   - apply: the applier cannot write a durable mutation into its chunk
//     file (a full disk, EIO). Writes are refused until a retry succeeds.
//   - checkpoint: the last checkpoint failed (a chunk file or the
//     checkpoint file could not be synced). Nothing is lost, since the
//     journal is released only by a checkpoint that succeeded, but the
//     journal grows until one does.

// fault describes the disk faults standing now, or "" when there are none.
func (e *engine) fault() string {
	var parts []string
	if err := e.j.Err(); err != nil {
		parts = append(parts, fmt.Sprintf("journal failed (restart to recover): %v", err))
	}
	if err := e.usable(); err != nil {
		parts = append(parts, fmt.Sprintf("writing chunk files fails: %v", err))
	}
	if p := e.ckptErr.Load(); p != nil {
		parts = append(parts, fmt.Sprintf("checkpoints fail: %v", *p))
	}
	return strings.Join(parts, "; ")
}
