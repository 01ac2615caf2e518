package dataserver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/lis-fs/lis/journal"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// replicateDesc is the bidirectional replication stream: the sender sends
// ReplBatch messages, the receiver answers with ReplAck messages.
var replicateDesc = grpc.StreamDesc{StreamName: "Replicate", ServerStreams: true, ClientStreams: true}

const replicateMethod = "/" + ServiceName + "/Replicate"

// appliedBatch is a batch the receiver has applied, waiting to be acked
// once durable.
type appliedBatch struct {
	seq      uint64
	lsn      journal.LSN
	versions map[uint64]uint64
	gaps     []uint64
	refused  []uint64
}

// receive serves one replication stream (replica side). Batches are
// applied in order as they arrive by one goroutine; the handler's own
// goroutine makes them durable (one journal sync for whatever has
// accumulated) and acknowledges them, so applying the next batch overlaps
// with syncing the previous ones. When acking fails the handler returns,
// which cancels the stream and so stops the applying goroutine (tracked by
// e.streams so the engine is not closed under it).
func (e *engine) receive(stream grpc.ServerStream) error {
	ctx := stream.Context()
	applied := make(chan appliedBatch, 16)
	applyErr := make(chan error, 1)
	e.streams.Add(1)
	go func() {
		defer e.streams.Done()
		err := e.applyLoopStream(ctx, stream, applied)
		close(applied)
		applyErr <- err
	}()
	if err := e.ackLoop(ctx, stream, applied); err != nil {
		return err
	}
	if err := <-applyErr; !errors.Is(err, io.EOF) {
		return err
	}
	return nil
}

func (e *engine) applyLoopStream(ctx context.Context, stream grpc.ServerStream, out chan<- appliedBatch) error {
	for {
		var b ReplBatch
		if err := stream.RecvMsg(&b); err != nil {
			return err
		}
		muts, err := decodeBatch(&b, e.cfg.ChunkSize)
		if err != nil {
			return status.Error(codes.InvalidArgument, err.Error())
		}
		ab := appliedBatch{seq: b.Seq, versions: map[uint64]uint64{}}
		for i := range muts {
			o, err := e.applyReplicated(&muts[i])
			if err != nil {
				return fmt.Errorf("replicated batch %d: %w", b.Seq, err)
			}
			if !o.refused {
				ab.versions[muts[i].Chunk] = o.version
			}
			ab.lsn = max(ab.lsn, o.lsn)
			if o.gap && !slices.Contains(ab.gaps, muts[i].Chunk) {
				ab.gaps = append(ab.gaps, muts[i].Chunk)
			}
			if o.refused && !slices.Contains(ab.refused, muts[i].Chunk) {
				ab.refused = append(ab.refused, muts[i].Chunk)
			}
		}
		select {
		case out <- ab:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// ackLoop acknowledges applied batches once durable, coalescing whatever
// batches are waiting into one sync and one ack.
func (e *engine) ackLoop(ctx context.Context, stream grpc.ServerStream, in <-chan appliedBatch) error {
	for ab := range in {
		ack := ReplAck{Seq: ab.seq, Versions: ab.versions, NeedResync: ab.gaps, Refused: ab.refused}
		lsn := ab.lsn
	coalesce:
		for {
			select {
			case more, ok := <-in:
				if !ok {
					break coalesce
				}
				ack.Seq, lsn = more.seq, max(lsn, more.lsn)
				for c, v := range more.versions {
					ack.Versions[c] = v
				}
				for _, c := range more.gaps {
					if !slices.Contains(ack.NeedResync, c) {
						ack.NeedResync = append(ack.NeedResync, c)
					}
				}
				for _, c := range more.refused {
					if !slices.Contains(ack.Refused, c) {
						ack.Refused = append(ack.Refused, c)
					}
				}
			default:
				break coalesce
			}
		}
		if err := e.j.Sync(ctx, lsn); err != nil {
			return fmt.Errorf("replication ack: %w", err)
		}
		if err := stream.SendMsg(&ack); err != nil {
			return err
		}
	}
	return nil
}
