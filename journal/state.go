package journal

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"

	"github.com/lis-fs/lis/journal/diskfs"
)

const (
	stateFile    = "state.json"
	stateVersion = 1
)

// persistedState is what survives a restart besides the segments: the
// owner's release point, each consumer's acked position, and a durable LSN.
//
// It is written lazily (Ack only marks it dirty; the background goroutine
// saves it every SyncInterval), so after a crash a position may be older
// than the last Ack: records are delivered again, never skipped. Segments
// are deleted only after a state that justifies it has been made durable,
// so a persisted position never points below FirstLSN()-1.
//
// Durable is evidence for recovery: records up to it were on stable storage
// when the state was saved, so damage there is never a torn tail. It covers
// the records synced last before a quiet period or a clean Close, which no
// later record's synced stamp can vouch for.
type persistedState struct {
	Version   int            `json:"version"`
	Durable   LSN            `json:"durable"`
	Released  LSN            `json:"released"`
	Consumers map[string]LSN `json:"consumers"`
}

func loadState(dir logDir) (persistedState, error) {
	st := persistedState{Version: stateVersion, Consumers: map[string]LSN{}}
	b, err := diskfs.ReadFile(dir.fs, dir.join(stateFile))
	if errors.Is(err, fs.ErrNotExist) {
		return st, nil
	}
	if err != nil {
		return st, fmt.Errorf("journal: read state: %w", err)
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return st, fmt.Errorf("journal: parse %s: %w", dir.join(stateFile), err)
	}
	if st.Version != stateVersion {
		return st, fmt.Errorf("journal: %s: unsupported version %d", stateFile, st.Version)
	}
	if st.Consumers == nil {
		st.Consumers = map[string]LSN{}
	}
	return st, nil
}

// saveState atomically and durably replaces the state file.
func saveState(dir logDir, st persistedState) error {
	b, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("journal: encode state: %w", err)
	}
	if err := diskfs.WriteFileAtomic(dir.fs, dir.join(stateFile), b); err != nil {
		return fmt.Errorf("journal: save state: %w", err)
	}
	return nil
}
