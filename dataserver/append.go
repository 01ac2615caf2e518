package dataserver

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/lis-fs/lis/dataserver/chunkstore"
	"github.com/lis-fs/lis/journal"
)

// Direct appends: large writes past a chunk's end are written once.
//
// A journaled write reaches the disk twice, in the journal and then in the
// chunk file, and for a stream of large writes the second copy halved what
// the disk could take. A write past everything the chunk holds (the common
// case: a file being written front to back) overwrites nothing that was
// acknowledged, so it can go straight into the chunk file's tail (beyond
// the size the chunk file holds; chunkstore.WriteTail) and be acknowledged
// at once. It stays in the chunk's pending list, data and all, like a
// journaled write, but without a journal record ("unjournaled").
//
// The record is journaled later, by the append flusher, a Sync, or the next
// mutation of the chunk that must be journaled after it: only after an
// fdatasync of the chunk file has made the data durable. So a journal
// record of an append always has its data on disk, and recovery never has
// to check an append against later writes of the same bytes. The record is
// an OpAppend, which names the bytes by offset, length and checksum; when
// the applier reaches it the chunk adopts the tail (chunkstore.Adopt), and
// the data is not written again. A crash before the record was journaled
// loses the write, as it may lose any write not yet synced, and the chunk
// file's tail is cut off at recovery.
//
// A client write that is not an append while the chunk has unjournaled
// appends (an overwrite behind them) is not journaled at once either: its
// record would have to wait for theirs (writeBehindAppends). It becomes an
// unjournaled entry too, journaled with its data after the appends.
//
// Invariants (under chunkState.mu): the unjournaled entries are the last
// cs.unjournaled entries of cs.pending, in version order, with LSN 0; the
// chunk file holds the data of the appends among them in its tail; no
// journal record of the chunk is appended while any exist (accept
// journals them first).

// directAppendMin is the smallest write that is appended directly: below
// it the journal's group commit is cheaper than an fdatasync of the chunk
// file.
const directAppendMin = 64 << 10

// appendable reports whether m, a client write, may be appended directly.
// Caller holds cs.mu.
func (e *engine) appendable(cs *chunkState, m *Mutation) bool {
	if m.Op != OpWrite || len(m.Data) < directAppendMin || m.Offset < cs.size || cs.resyncing || cs.pendingCuts > 0 {
		return false
	}
	if ckpt := journal.LSN(e.ckptDone.Load()); cs.lastCutLSN > ckpt || e.deletedAfter(cs.id, ckpt) {
		return false // see chunkState.lastCutLSN
	}
	if cs.file == nil {
		return true
	}
	// A chunk file that failed an fdatasync cannot make appends durable;
	// the file may also still hold bytes past the acknowledged size (a
	// truncation not applied yet is excluded above: a safety net).
	return cs.file.SyncErr() == nil && m.Offset >= cs.file.Size()
}

// appendDirect writes m into the chunk file's tail and acknowledges it.
// Caller holds cs.mu, which appendDirect releases.
func (e *engine) appendDirect(ctx context.Context, cs *chunkState, m *Mutation, sync bool) (*WriteResp, error) {
	m.Version = cs.version + 1
	err := e.reserve(cs, m, false)
	if err == nil {
		err = e.writeTail(cs, m)
	}
	if err != nil {
		cs.mu.Unlock()
		return nil, err
	}
	m.Op, m.Arg = OpAppend, uint64(len(m.Data))
	e.appends.Add(1)
	return e.ackUnjournaled(ctx, cs, m, sync)
}

// writeBehindAppends acknowledges a client write to a chunk that has
// unjournaled direct appends, without journaling it yet. Its record must
// follow theirs, and theirs wait for an fdatasync of the chunk file, which
// a caller that did not ask for durability must not wait for (a file
// written front to back and then patched, as tar and databases do, paid
// one per patch). The write joins the unjournaled entries, data and all;
// the flusher or the next Sync journals it, with its data, right after
// the appends. Caller holds cs.mu, which writeBehindAppends releases.
func (e *engine) writeBehindAppends(ctx context.Context, cs *chunkState, m *Mutation, sync bool) (*WriteResp, error) {
	m.Version = cs.version + 1
	if err := e.reserve(cs, m, true); err != nil {
		cs.mu.Unlock()
		return nil, err
	}
	return e.ackUnjournaled(ctx, cs, m, sync)
}

// ackUnjournaled makes m, whose data is at hand (and, for an append, in
// the chunk file's tail), the chunk's newest unjournaled entry and
// acknowledges it; with sync, once the chunk is durable. Caller holds
// cs.mu, which ackUnjournaled releases.
func (e *engine) ackUnjournaled(ctx context.Context, cs *chunkState, m *Mutation, sync bool) (*WriteResp, error) {
	n := len(m.Data)
	e.q.stage(int64(n))
	oldSize := cs.size
	advanceState(cs, m)
	e.watchPrimary(cs)
	e.logical.Add(cs.size - oldSize)
	cs.pending = append(cs.pending, pendingMut{version: cs.version, m: m})
	cs.unjournaled++
	resp := &WriteResp{Version: cs.version, Size: cs.size, Blocks: cs.data.count()}
	op := m.Op
	cs.mu.Unlock()

	e.noteAppending(cs)
	e.m.mutations.WithLabelValues(op.String()).Inc()
	e.m.writeBytes.Add(float64(n))
	if sync {
		if err := e.syncChunk(ctx, cs); err != nil {
			return nil, err
		}
		resp.Durable = true
	}
	return resp, nil
}

// writeTail puts m's data into the chunk file's tail. On failure the tail
// is cut back to the chunk's acknowledged end, so no partial write is left
// for a later write to grow the chunk over. Caller holds cs.mu.
func (e *engine) writeTail(cs *chunkState, m *Mutation) error {
	f, err := e.openFile(cs)
	if err != nil {
		return err
	}
	if err := f.WriteTail(m.Data, m.Offset); err != nil {
		if cerr := f.CutTail(cs.size); cerr != nil {
			e.log.Error("cut back a failed direct append", "chunk", fmt.Sprintf("%x", cs.id), "err", cerr)
		}
		cs.forgetAllocation(cs.size) // the cut freed what reserve had allocated
		return err
	}
	return nil
}

// syncChunk makes every acknowledged mutation of cs durable: its direct
// appends are journaled (after their data is synced), then the journal is
// synced through the chunk's last record.
func (e *engine) syncChunk(ctx context.Context, cs *chunkState) error {
	if err := e.flushAppends(cs); err != nil {
		return err
	}
	cs.mu.RLock()
	lsn := cs.lastLSN
	cs.mu.RUnlock()
	if err := e.j.Sync(ctx, lsn); err != nil {
		return fmt.Errorf("chunk %x: sync: %w", cs.id, err)
	}
	return nil
}

// flushAppends journals cs's unjournaled appends, after an fdatasync of the
// chunk file made their data durable. cs.mu is not held during the
// fdatasync, so the writer can go on appending; the appends that arrive
// meanwhile are left for the next flush.
func (e *engine) flushAppends(cs *chunkState) error {
	cs.mu.RLock()
	n, f, appends := cs.unjournaled, cs.file, hasUnjournaledAppends(cs)
	var covered uint64
	if n > 0 {
		covered = cs.pending[len(cs.pending)-1].version
	}
	cs.mu.RUnlock()
	if n == 0 {
		return nil
	}
	var serr error
	if appends {
		serr = f.SyncData()
	}
	cs.mu.Lock()
	defer cs.mu.Unlock()
	return e.journalAppendsLocked(cs, covered, e.syncFailed(cs, serr))
}

// syncFailed reports a failed fdatasync of cs's chunk file. The appends
// are then journaled with their data, which they still have in memory, as
// plain writes: the journal can make them durable where the file cannot.
func (e *engine) syncFailed(cs *chunkState, err error) bool {
	if err == nil {
		return false
	}
	e.log.Error("chunk file fdatasync failed; journaling its appends with their data",
		"chunk", fmt.Sprintf("%x", cs.id), "err", err)
	return true
}

// flushAppendsLocked is flushAppends for a caller that holds cs.mu and must
// journal a record of its own after the appends (see accept).
func (e *engine) flushAppendsLocked(cs *chunkState) error {
	if cs.unjournaled == 0 {
		return nil
	}
	withData := hasUnjournaledAppends(cs) && e.syncFailed(cs, cs.file.SyncData())
	return e.journalAppendsLocked(cs, math.MaxUint64, withData)
}

// hasUnjournaledAppends reports whether any of cs's unjournaled entries is
// a direct append (the others, writes behind them, carry their data and
// need no fdatasync of the chunk file). Caller holds cs.mu.
func hasUnjournaledAppends(cs *chunkState) bool {
	for _, p := range cs.pending[len(cs.pending)-cs.unjournaled:] {
		if p.m.Op == OpAppend {
			return true
		}
	}
	return false
}

// journalAppendsLocked journals, in order, the unjournaled appends of cs
// up to version upTo, whose data the caller has made durable, and queues
// them for the applier. withData (the data could not be made durable)
// turns them into plain writes journaled with their data. Caller holds
// cs.mu.
func (e *engine) journalAppendsLocked(cs *chunkState, upTo uint64, withData bool) error {
	for cs.unjournaled > 0 {
		p := &cs.pending[len(cs.pending)-cs.unjournaled]
		if p.version > upTo {
			break
		}
		m := p.m
		var rec []byte
		if m.Op == OpAppend && !withData {
			rec = (&Mutation{Op: OpAppend, Chunk: m.Chunk, Version: m.Version, Offset: m.Offset, Arg: m.Arg, CRC: m.CRC}).Encode()
		} else {
			// A write behind the appends, or an append whose data the
			// chunk file could not make durable: a plain write.
			m.Op, m.Arg = OpWrite, 0
			rec = m.encodeFramed()
		}
		e.appendMu.Lock()
		lsn, err := e.j.Append(rec)
		if err == nil {
			e.q.unstage(int64(len(m.Data)))
			e.q.push(queued{lsn: lsn, cs: cs, m: m})
		}
		e.appendMu.Unlock()
		if err != nil {
			return fmt.Errorf("chunk %x: journal append: %w", cs.id, err)
		}
		p.lsn, cs.lastLSN = lsn, lsn
		cs.unjournaled--
	}
	return nil
}

// deletedAfter reports whether chunk id had a deletion journaled after
// LSN ckpt: a replay would delete the chunk file again, with the data of
// any direct append to the chunk's new incarnation.
func (e *engine) deletedAfter(id uint64, ckpt journal.LSN) bool {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return e.deletedAt[id] > ckpt
}

// noteAppending records that cs has unjournaled appends and wakes the
// flusher.
func (e *engine) noteAppending(cs *chunkState) {
	e.appendingMu.Lock()
	e.appending[cs] = struct{}{}
	e.appendingMu.Unlock()
	kick(e.appendKick)
}

// flushLoop is the append flusher: it journals direct appends as soon as
// it can, so they reach replicas and the applier without waiting for a
// client's sync. Each round's fdatasync takes as long as the data written
// since the last, which paces it.
func (e *engine) flushLoop(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-e.appendKick:
		}
		e.appendingMu.Lock()
		batch := e.appending
		e.appending = map[*chunkState]struct{}{}
		e.appendingMu.Unlock()
		failed := false
		for cs := range batch {
			if err := e.flushAppends(cs); err != nil {
				e.log.Error("journaling direct appends failed; will retry", "err", err)
				e.noteAppending(cs)
				failed = true
			}
		}
		if failed {
			sleep(ctx, time.Second)
		}
	}
}

// flushAll journals every chunk's direct appends (SyncAll, shutdown).
func (e *engine) flushAll() error {
	for _, cs := range e.snapshotStates() {
		if err := e.flushAppends(cs); err != nil {
			return err
		}
	}
	return nil
}

// kick wakes a goroutine waiting on ch without blocking.
func kick(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// appendAsWrite appends to dst, as a batch entry ([u32 length][encoded
// mutation]), the OpWrite a replica applies for the journal record of an
// append, with the data: from memory while the append is pending, else
// read from the chunk file straight into dst and checked against the
// record's checksum. It returns false (and dst as it was) when the data
// is no longer there as appended (later writes changed those bytes, or the
// chunk is gone): the replica then needs a full copy instead.
func (e *engine) appendAsWrite(dst, rec []byte) ([]byte, bool) {
	m, err := DecodeMutation(rec, e.cfg.ChunkSize)
	if err != nil || m.Op != OpAppend {
		return dst, false
	}
	cs := e.lookup(m.Chunk)
	if cs == nil {
		return dst, false
	}
	cs.mu.RLock()
	defer cs.mu.RUnlock()
	w := Mutation{Op: OpWrite, Chunk: m.Chunk, Version: m.Version, Offset: m.Offset, CRC: m.CRC}
	for _, p := range cs.pending {
		pm := p.m
		if pm.Op == OpAppend && pm.Version == m.Version && pm.Offset == m.Offset && pm.Arg == m.Arg && pm.CRC == m.CRC {
			w.Data = pm.Data
			return w.AppendTo(binary.LittleEndian.AppendUint32(dst, uint32(w.Size()))), true
		}
	}
	if cs.deleted || cs.file == nil {
		return dst, false
	}
	out := w.appendHeader(binary.LittleEndian.AppendUint32(dst, uint32(mutationHeader+m.Arg)))
	binary.LittleEndian.PutUint32(out[len(out)-4:], uint32(m.Arg)) // the data's length, read below
	out = slices.Grow(out, int(m.Arg))
	data := out[len(out) : len(out)+int(m.Arg)]
	if err := cs.file.ReadAt(data, m.Offset); err != nil || chunkstore.CRC(data) != m.CRC {
		return dst, false
	}
	return out[:len(out)+int(m.Arg)], true
}
