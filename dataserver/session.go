package dataserver

import (
	"context"
	"errors"
	"fmt"

	"github.com/lis-fs/lis/journal"
	"google.golang.org/grpc"
)

// session is one replication stream of a sender. Its send loop (the
// sender's goroutine) alternates between full copies that are due and
// journal batches; its receive goroutine processes acks. Both end when
// either fails; the sender then starts a new session.
type session struct {
	s      *sender
	cur    *journal.Cursor
	stream grpc.ClientStream
	conn   *grpc.ClientConn
	window chan struct{} // one token per unacknowledged batch
	parked int           // tokens held by the send loop to narrow the window (see narrow)
	seq    uint64        // last batch sequence number sent
	bb     batchBuilder
	limit  int // target batch size

	// inflight lists unacknowledged batches in order, with the journal
	// LSN through which each one (and the records skipped before it)
	// covers the journal. Guarded by s.mu.
	inflight []inflightBatch
}

type inflightBatch struct {
	seq     uint64
	lsn     journal.LSN
	payload []byte // recycled once acknowledged: the transport is done with it
}

// session runs one stream to the peer until it fails or ctx ends.
func (s *sender) session(ctx context.Context) error {
	cur, err := s.r.e.j.Consumer(s.consumer)
	if err != nil {
		return err
	}
	if prev := s.cur.Swap(cur); prev != nil && prev != cur {
		// Dropped (and so re-created) while no session was running: what
		// the peer missed in between is no longer in the journal.
		s.dropped()
	}
	cur.Rewind()
	s.resetForSession()
	s.mu.Lock()
	addr := s.addr
	s.mu.Unlock()
	conn, err := s.r.conn(addr)
	if err != nil {
		return err
	}
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := conn.NewStream(sctx, &replicateDesc, replicateMethod)
	if err != nil {
		return fmt.Errorf("replicate to %s at %s: %w", s.peerID, addr, err)
	}
	cfg := s.r.e.cfg
	ss := &session{s: s, cur: cur, stream: stream, conn: conn,
		window: make(chan struct{}, cfg.ReplWindow), limit: cfg.ReplBatchBytes,
		bb: newBatchBuilder(cfg.ReplBatchBytes, cfg.ReplWindow+1)}
	recvErr := make(chan error, 1)
	go func() {
		defer cancel()
		recvErr <- ss.recvAcks()
	}()
	sendErr := ss.sendLoop(sctx)
	cancel()
	rerr := <-recvErr
	switch {
	case errors.Is(sendErr, journal.ErrDropped):
		return sendErr
	case errors.Is(rerr, journal.ErrDropped):
		return rerr
	case errors.Is(sendErr, context.Canceled) && rerr != nil:
		return fmt.Errorf("replicate to %s at %s: %w", s.peerID, addr, rerr)
	}
	return fmt.Errorf("replicate to %s at %s: %w", s.peerID, addr, sendErr)
}

// sendLoop makes the queued full copies and the lazy batches that are
// due, then ships the next journal records, forever.
func (ss *session) sendLoop(ctx context.Context) error {
	for {
		for _, chunk := range ss.s.takeResyncs() {
			if err := ss.copyChunk(ctx, chunk); err != nil {
				return err // the next session's reset queues it again
			}
		}
		for _, chunk := range ss.s.takeDueLazy() {
			if err := ss.sendBatch(ctx, chunk); err != nil {
				return err // the next session's reset marks it again
			}
		}
		recs, err := ss.next(ctx)
		if err != nil {
			return err
		}
		if err := ss.ship(ctx, recs); err != nil {
			return err
		}
	}
}

// next waits for journal records; it returns (nil, nil) early when the
// sender is kicked (a full copy was queued) or a lazy batch window closes.
func (ss *session) next(ctx context.Context) ([]journal.Record, error) {
	nctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if due := ss.s.nextLazyDue(); !due.IsZero() {
		nctx, cancel = context.WithDeadline(nctx, due)
		defer cancel()
	}
	watchDone := make(chan struct{})
	go func() {
		defer close(watchDone)
		select {
		case <-ss.s.kick:
			cancel()
		case <-nctx.Done():
		}
	}()
	recs, err := ss.cur.Next(nctx, 0, ss.limit)
	cancel()
	<-watchDone
	if err != nil && ctx.Err() == nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)) {
		return nil, nil
	}
	return recs, err
}

// ship sends the records that the peer needs, in order, and accounts for
// the ones it skips.
func (ss *session) ship(ctx context.Context, recs []journal.Record) error {
	for _, r := range recs {
		m, ok := decodeHeader(r.Data)
		if !ok {
			return fmt.Errorf("journal record %d: %w", r.LSN, errBadMutation)
		}
		if m.Op.replicated() && ss.admit(&m, len(r.Data)) {
			if m.Op != OpAppend {
				ss.bb.addEncoded(r.Data)
			} else if !ss.bb.addAppend(ss.s.r.e, r.Data) {
				ss.s.mu.Lock()
				ss.s.needResyncLocked(m.Chunk)
				ss.s.mu.Unlock()
				continue
			}
		}
		if ss.bb.len() >= ss.limit {
			if err := ss.flush(ctx, r.LSN); err != nil {
				return err
			}
		}
	}
	if len(recs) == 0 {
		return nil
	}
	last := recs[len(recs)-1].LSN
	if ss.bb.n > 0 {
		return ss.flush(ctx, last)
	}
	return ss.skipTo(last)
}

// admit decides whether the peer gets m (encoded in size bytes) now: only
// the version right after what it was sent, never while a full copy is
// due, never for a lazy chunk (which only notes what its batch will carry).
func (ss *session) admit(m *Mutation, size int) bool {
	s := ss.s
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.chunks[m.Chunk]
	switch {
	case st == nil || st.resync || m.Version <= st.sent:
		return false
	case st.lazy:
		n := int64(size - mutationHeader)
		if m.Op == OpAppend {
			n = int64(m.Arg)
		}
		s.markDirtyLocked(st, n)
		return false
	case m.Version != st.sent+1:
		s.needResyncLocked(m.Chunk)
		return false
	}
	st.sent = m.Version
	return true
}

// flush sends the batch being built, waiting for a window slot. lsn is how
// far the journal is covered once the peer acknowledges it (0 for a batch
// of full-copy data, which covers nothing new).
func (ss *session) flush(ctx context.Context, lsn journal.LSN) error {
	if err := ss.narrow(ctx); err != nil {
		return err
	}
	select {
	case ss.window <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	ss.seq++
	b := ss.bb.seal(ss.seq)
	ss.s.mu.Lock()
	ss.inflight = append(ss.inflight, inflightBatch{seq: ss.seq, lsn: lsn, payload: b.Payload})
	ss.s.rawBytes += int64(b.RawLen)
	ss.s.wireBytes += int64(len(b.Payload))
	ss.s.mu.Unlock()
	if err := ss.s.r.bw.take(ctx, len(b.Payload)); err != nil {
		return err
	}
	if err := ss.stream.SendMsg(b); err != nil {
		return err
	}
	ss.s.r.e.m.replSentBytes.WithLabelValues(ss.s.peerID).Add(float64(len(b.Payload)))
	ss.s.r.e.m.replRawBytes.WithLabelValues(ss.s.peerID).Add(float64(b.RawLen))
	return nil
}

// narrow parks window tokens so that at most bandwidth.window batches are
// unacknowledged. Under a replication limit the bytes in flight must stay
// near a second's worth of the limit: the limiter counts bytes as they are
// handed to the connection, and anything more waits in socket buffers
// while TCP opens its window on a long path, then crosses the link as one
// burst above the limit.
func (ss *session) narrow(ctx context.Context) error {
	cfg := ss.s.r.e.cfg
	want := cap(ss.window) - ss.s.r.bw.window(cap(ss.window), cfg.ReplBatchBytes)
	for ; ss.parked > want; ss.parked-- {
		<-ss.window
	}
	for ; ss.parked < want; ss.parked++ {
		select {
		case ss.window <- struct{}{}:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// skipTo records that the journal through lsn needs nothing sent: the
// cursor is acked at once if nothing is in flight, else when the last
// batch in flight is acked.
func (ss *session) skipTo(lsn journal.LSN) error {
	ss.s.mu.Lock()
	if n := len(ss.inflight); n > 0 {
		ss.inflight[n-1].lsn = max(ss.inflight[n-1].lsn, lsn)
		ss.s.mu.Unlock()
		return nil
	}
	ss.s.mu.Unlock()
	return ss.cur.Ack(lsn)
}

// recvAcks processes the peer's acknowledgements until the stream ends.
func (ss *session) recvAcks() error {
	s := ss.s
	for {
		var a ReplAck
		if err := ss.stream.RecvMsg(&a); err != nil {
			return err
		}
		s.mu.Lock()
		var lsn journal.LSN
		freed := 0
		for len(ss.inflight) > 0 && ss.inflight[0].seq <= a.Seq {
			lsn = max(lsn, ss.inflight[0].lsn)
			ss.bb.recycle(ss.inflight[0].payload)
			ss.inflight = ss.inflight[1:]
			freed++
		}
		var moved []uint64
		for c, v := range a.Versions {
			if st := s.chunks[c]; st != nil {
				if v > st.acked {
					moved = append(moved, c)
				}
				st.acked = max(st.acked, v)
				if st.copyVersion != 0 && a.Seq >= st.copySeq {
					st.copyVersion, st.copySeq = 0, 0
					if st.lazy && (!st.dirtySince.IsZero() || st.want > st.acked) {
						s.kickLocked() // its next batch may be due now
					}
				}
			}
		}
		for _, c := range a.NeedResync {
			// A gap reported for a batch sent before a full copy that is
			// still in flight is what that copy repairs.
			if st := s.chunks[c]; st != nil && !(st.copyVersion != 0 && a.Seq < st.copySeq) {
				s.needResyncLocked(c)
			}
		}
		refused := s.dropRefusedLocked(a.Refused)
		s.connected, s.lastErr = true, ""
		s.mu.Unlock()
		for _, c := range refused {
			s.r.log.Warn("replica refuses chunk: it is the chunk's primary now; no longer shipping it there",
				"chunk", fmt.Sprintf("%x", c), "peer", s.peerID)
		}
		s.r.reports.add(moved...)
		if len(moved) > 0 {
			s.r.bell.ring()
		}
		for range freed {
			<-ss.window
		}
		if lsn > 0 {
			if err := ss.cur.Ack(lsn); err != nil {
				return err
			}
		}
	}
}

// dropRefusedLocked stops shipping the chunks the peer refused (it is
// their primary: this dataserver is not, any more) and returns those it
// was shipping. Caller holds s.mu.
func (s *sender) dropRefusedLocked(chunks []uint64) []uint64 {
	var out []uint64
	for _, c := range chunks {
		if st := s.chunks[c]; st != nil {
			s.cleanLocked(st)
			delete(s.chunks, c)
			out = append(out, c)
		}
	}
	return out
}
