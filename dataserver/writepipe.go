package dataserver

import (
	"context"
	"errors"
	"io"
	"sync"

	"github.com/lis-fs/lis/metaservice/msgrpc"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// writePipe is the client half of the Writes stream: it multiplexes a
// Client's concurrent Write calls over one stream, opened on first use and
// reopened on the next call after it breaks. A call that was in flight on a
// broken stream fails (its write may or may not have been applied; the
// chunk version tells); calls are never resent.
type writePipe struct {
	conn grpc.ClientConnInterface
	ctx  context.Context // the Client's lifetime; ends every stream

	mu  sync.Mutex
	cur *writeStream // nil before the first call and after a break
}

// writeStream is one open Writes stream. Its receiver goroutine is its
// only reader and stops when the stream ends (the pipe's context ending
// ends it).
type writeStream struct {
	cs     grpc.ClientStream
	cancel context.CancelFunc
	sendMu sync.Mutex // serializes SendMsg

	mu      sync.Mutex // guards the fields below
	pending map[uint64]*pendingWrite
	nextID  uint64
	err     error // why the stream broke; no new calls once set
}

type writeResult struct {
	resp *WriteResp
	err  error
}

// pendingWrite is a write sent and not yet answered. done (if set) runs
// once the answer arrives or the stream breaks, even when the caller has
// stopped waiting: it releases a window slot the dataserver may still be
// reading.
type pendingWrite struct {
	ch   chan writeResult // buffered: delivering never blocks
	done func()
}

func (pw *pendingWrite) finish(r writeResult) {
	pw.ch <- r
	if pw.done != nil {
		pw.done()
	}
}

// write sends req and waits for its answer or ctx. done, if not nil, runs
// once the dataserver has answered or the stream has broken.
func (p *writePipe) write(ctx context.Context, req *WriteReq, done func()) (*WriteResp, error) {
	ws, err := p.stream()
	if err != nil {
		if done != nil {
			done()
		}
		return nil, err
	}
	pw := &pendingWrite{ch: make(chan writeResult, 1), done: done}
	id, err := ws.register(pw)
	if err != nil {
		if done != nil {
			done()
		}
		return nil, err
	}
	ws.sendMu.Lock()
	err = ws.cs.SendMsg(&streamWrite{ID: id, Req: *req})
	ws.sendMu.Unlock()
	// io.EOF: the stream ended, and the receiver fails this call with the
	// reason. Any other error is about this message alone.
	if err != nil && !errors.Is(err, io.EOF) {
		if pw := ws.take(id); pw != nil {
			pw.finish(writeResult{}) // never sent: nothing reads the slot
		}
		return nil, wireStatus(err)
	}
	select {
	case r := <-pw.ch:
		return r.resp, r.err
	case <-ctx.Done():
		// The answer still arrives (or the stream breaks) and runs done.
		return nil, wireStatus(status.FromContextError(ctx.Err()).Err())
	}
}

// stream returns the open stream, opening one if there is none.
func (p *writePipe) stream() (*writeStream, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cur != nil && p.cur.broken() == nil {
		return p.cur, nil
	}
	ctx, cancel := context.WithCancel(p.ctx)
	cs, err := p.conn.NewStream(ctx, &writesDesc, writesMethod)
	if err != nil {
		cancel()
		return nil, wireStatus(err)
	}
	ws := &writeStream{cs: cs, cancel: cancel, pending: make(map[uint64]*pendingWrite)}
	p.cur = ws
	go ws.receive()
	return ws, nil
}

// receive delivers answers until the stream ends, then fails every call
// still waiting.
func (ws *writeStream) receive() {
	for {
		var ack streamAck
		if err := ws.cs.RecvMsg(&ack); err != nil {
			if errors.Is(err, io.EOF) {
				err = status.Error(codes.Unavailable, "write stream closed by the dataserver")
			}
			ws.fail(wireStatus(err))
			return
		}
		pw := ws.take(ack.ID)
		if pw == nil {
			continue // an answer to nothing: ignore it
		}
		if ack.Code != 0 {
			pw.finish(writeResult{err: msgrpc.FromWire("Write", ack.Code, ack.Msg)})
		} else {
			resp := ack.Resp
			pw.finish(writeResult{resp: &resp})
		}
	}
}

func (ws *writeStream) register(pw *pendingWrite) (uint64, error) {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	if ws.err != nil {
		return 0, ws.err
	}
	ws.nextID++
	ws.pending[ws.nextID] = pw
	return ws.nextID, nil
}

func (ws *writeStream) take(id uint64) *pendingWrite {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	pw := ws.pending[id]
	delete(ws.pending, id)
	return pw
}

func (ws *writeStream) broken() error {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	return ws.err
}

// fail marks the stream broken and fails every waiting call with err.
func (ws *writeStream) fail(err error) {
	ws.mu.Lock()
	ws.err = err
	pending := ws.pending
	ws.pending = nil
	ws.mu.Unlock()
	ws.cancel()
	for _, pw := range pending {
		pw.finish(writeResult{err: err})
	}
}

// wireStatus converts a gRPC error of the Writes stream into the error a
// unary Write would have returned.
func wireStatus(err error) error {
	st := status.Convert(err)
	return msgrpc.FromWire("Write", uint32(st.Code()), st.Message())
}
