package dataserver

import (
	"context"
	"maps"
	"sync"
	"time"
)

// A client waiting for copies (write_ack at fsync, replication: sync)
// asks the primary what each replica acknowledged. Polling would add up
// to a poll interval to every wait; instead the client asks once more
// with what it saw (AwaitAcked), and the call returns as soon as an
// acknowledgement changes that, or at its deadline.

// AckedReq waits until some replica of Chunk acknowledged a version other
// than the one Seen gives it (absent: 0), for at most Wait.
type AckedReq struct {
	Chunk uint64            `msgpack:"c"`
	Seen  map[string]uint64 `msgpack:"s,omitempty"`
	Wait  time.Duration     `msgpack:"w"`
}

// AckedResp is what each replica of the chunk holds durably now.
type AckedResp struct {
	Acked map[string]uint64 `msgpack:"a"`
}

// maxAckWait bounds one AwaitAcked call, whatever it asks.
const maxAckWait = 10 * time.Second

// ackBell rings (closes its channel and makes a new one) on every
// acknowledgement a sender receives, waking every waiter to look again.
type ackBell struct {
	mu sync.Mutex
	ch chan struct{}
}

func (b *ackBell) wait() <-chan struct{} {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.ch == nil {
		b.ch = make(chan struct{})
	}
	return b.ch
}

func (b *ackBell) ring() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.ch != nil {
		close(b.ch)
		b.ch = nil
	}
}

// acked returns what each replica of chunk acknowledged.
func (r *replicator) acked(chunk uint64) map[string]uint64 {
	out := map[string]uint64{}
	for _, ri := range r.info(chunk) {
		out[ri.Peer.ID] = ri.AckedVersion
	}
	return out
}

// awaitAcked implements AwaitAcked.
func (r *replicator) awaitAcked(ctx context.Context, req *AckedReq) *AckedResp {
	t := time.NewTimer(min(max(req.Wait, 0), maxAckWait))
	defer t.Stop()
	for {
		bell := r.bell.wait() // before looking: a ring after the look wakes us
		now := r.acked(req.Chunk)
		if !maps.Equal(now, req.Seen) {
			return &AckedResp{Acked: now}
		}
		select {
		case <-bell:
		case <-t.C:
			return &AckedResp{Acked: now}
		case <-ctx.Done():
			return &AckedResp{Acked: now}
		}
	}
}
