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
	pending map[uint64]chan writeResult
	nextID  uint64
	err     error // why the stream broke; no new calls once set
}

type writeResult struct {
	resp *WriteResp
	err  error
}

// write sends req and waits for its answer or ctx.
func (p *writePipe) write(ctx context.Context, req *WriteReq) (*WriteResp, error) {
	ws, err := p.stream()
	if err != nil {
		return nil, err
	}
	id, ch, err := ws.register()
	if err != nil {
		return nil, err
	}
	ws.sendMu.Lock()
	err = ws.cs.SendMsg(&streamWrite{ID: id, Req: *req})
	ws.sendMu.Unlock()
	// io.EOF: the stream ended, and the receiver fails this call with the
	// reason. Any other error is about this message alone.
	if err != nil && !errors.Is(err, io.EOF) {
		ws.forget(id)
		return nil, wireStatus(err)
	}
	select {
	case r := <-ch:
		return r.resp, r.err
	case <-ctx.Done():
		ws.forget(id)
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
	ws := &writeStream{cs: cs, cancel: cancel, pending: make(map[uint64]chan writeResult)}
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
		ch := ws.take(ack.ID)
		if ch == nil {
			continue // the caller gave up waiting
		}
		if ack.Code != 0 {
			ch <- writeResult{err: msgrpc.FromWire("Write", ack.Code, ack.Msg)}
		} else {
			resp := ack.Resp
			ch <- writeResult{resp: &resp}
		}
	}
}

func (ws *writeStream) register() (uint64, chan writeResult, error) {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	if ws.err != nil {
		return 0, nil, ws.err
	}
	ws.nextID++
	ch := make(chan writeResult, 1)
	ws.pending[ws.nextID] = ch
	return ws.nextID, ch, nil
}

func (ws *writeStream) take(id uint64) chan writeResult {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	ch := ws.pending[id]
	delete(ws.pending, id)
	return ch
}

func (ws *writeStream) forget(id uint64) { ws.take(id) }

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
	for _, ch := range pending {
		ch <- writeResult{err: err}
	}
}

// wireStatus converts a gRPC error of the Writes stream into the error a
// unary Write would have returned.
func wireStatus(err error) error {
	st := status.Convert(err)
	return msgrpc.FromWire("Write", uint32(st.Code()), st.Message())
}
