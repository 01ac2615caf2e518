package dataserver

import (
	"bytes"
	"errors"
	"io"
	"sync"

	"github.com/lis-fs/lis/metaservice/msgrpc"
	"github.com/vmihailenco/msgpack/v5"
	"google.golang.org/grpc"
)

// The Writes stream carries a client's writes, many at a time, over one
// long-lived bidirectional gRPC stream. A unary call pays for a new HTTP/2
// stream, two header blocks and a trailer on each write; on the co-located
// unix socket that bookkeeping cost more than the write itself, and a
// handful of syncing writers spent their time in it instead of sharing the
// journal's fdatasyncs. Each request carries an id its answer repeats;
// answers may come back in any order.

// writesDesc is the Writes stream: the client sends streamWrite messages,
// the server answers each with a streamAck.
var writesDesc = grpc.StreamDesc{StreamName: "Writes", ServerStreams: true, ClientStreams: true}

const writesMethod = "/" + ServiceName + "/Writes"

// streamWrite is one request on the Writes stream.
type streamWrite struct {
	ID  uint64   `msgpack:"i"`
	Req WriteReq `msgpack:"w"`
}

// streamAck answers the streamWrite with the same ID: Resp, or the error
// (msgrpc.WireError) when Code is not zero.
type streamAck struct {
	ID   uint64    `msgpack:"i"`
	Resp WriteResp `msgpack:"r"`
	Code uint32    `msgpack:"e,omitempty"`
	Msg  string    `msgpack:"m,omitempty"`
}

// MarshalBuffers encodes w as msgpack with the data last, as two slices:
// the fields, and Data itself, which is not copied (msgrpc.BufferMarshaler).
// WriteReq.DecodeMsgpack reads the result like any other encoding.
func (w *streamWrite) MarshalBuffers() ([][]byte, error) {
	var head bytes.Buffer
	enc := msgpack.GetEncoder()
	defer msgpack.PutEncoder(enc)
	enc.Reset(&head)
	r := &w.Req
	err := errors.Join(
		enc.EncodeMapLen(2),
		enc.EncodeString("i"), enc.EncodeUint(w.ID),
		enc.EncodeString("w"), enc.EncodeMapLen(10),
		enc.EncodeString("c"), enc.EncodeUint(r.Chunk),
		enc.EncodeString("ev"), enc.EncodeUint(r.ExpectedVersion),
		enc.EncodeString("av"), enc.EncodeBool(r.AnyVersion),
		enc.EncodeString("o"), enc.EncodeInt(r.Offset),
		enc.EncodeString("k"), enc.EncodeUint(uint64(r.CRC)),
		enc.EncodeString("s"), enc.EncodeBool(r.Sync),
		enc.EncodeString("sh"), enc.EncodeUint(r.Shm),
		enc.EncodeString("so"), enc.EncodeInt(r.ShmOff),
		enc.EncodeString("sl"), enc.EncodeInt(r.ShmLen),
		enc.EncodeString("d"), enc.EncodeBytesLen(len(r.Data)),
	)
	if err != nil {
		return nil, err
	}
	return [][]byte{head.Bytes(), r.Data}, nil
}

// maxSyncingWrites bounds the syncing writes of one stream in progress at
// once (see serveWrites).
const maxSyncingWrites = 256

// serveWrites is the server half of the Writes stream. Writes without
// Sync are executed in arrival order on this goroutine, so a client's
// unsynced writes on one stream are journaled in the order it sent them
// (and a full journal's back-pressure stops the stream); a syncing write
// runs on its own goroutine so that writes behind it can join its group
// commit. It returns when the client closes its side or the stream breaks,
// after every answer has been sent.
func (s *Server) serveWrites(stream grpc.ServerStream) error {
	ctx := stream.Context()
	var (
		sendMu sync.Mutex // SendMsg is not safe for concurrent use
		wg     sync.WaitGroup
		// syncing bounds the syncing writes waiting at once: past it the
		// stream stops reading, and HTTP/2 flow control stops the client.
		syncing = make(chan struct{}, maxSyncingWrites)
	)
	defer wg.Wait()
	answer := func(id uint64, resp *WriteResp, err error) {
		ack := streamAck{ID: id}
		if err != nil {
			ack.Code, ack.Msg = msgrpc.WireError(err)
		} else {
			ack.Resp = *resp
		}
		sendMu.Lock()
		defer sendMu.Unlock()
		// A failed send means the stream is gone; RecvMsg reports it.
		_ = stream.SendMsg(&ack)
	}
	for {
		w := new(streamWrite)
		if err := stream.RecvMsg(w); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
		if err := s.loadShm(ctx, &w.Req); err != nil {
			answer(w.ID, nil, err)
			continue
		}
		if !w.Req.Sync {
			resp, err := s.e.write(ctx, &w.Req)
			answer(w.ID, resp, err)
			continue
		}
		syncing <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-syncing; wg.Done() }()
			resp, err := s.e.write(ctx, &w.Req)
			answer(w.ID, resp, err)
		}()
	}
}
