package dataserver

import "github.com/lis-fs/lis/metaservice/registry"

// quarantineReport lists the quarantined copies for a heartbeat: the
// directory itself, so that copies an operator deleted leave the report.
func (e *engine) quarantineReport() ([]registry.QuarantinedCopy, int) {
	all, err := e.store.QuarantinedCopies()
	if err != nil {
		e.log.Warn("list quarantined copies", "err", err)
	}
	var out []registry.QuarantinedCopy
	for _, q := range all[:min(len(all), registry.MaxDangerChunks)] {
		out = append(out, registry.QuarantinedCopy{Chunk: q.Chunk, Version: q.Version, At: q.At.UnixNano(), Path: q.Path})
	}
	return out, len(all)
}
