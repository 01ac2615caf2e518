package rpc

import (
	"context"
	"strconv"
	"strings"
	"sync"

	"github.com/vmihailenco/msgpack/v5"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	ms "github.com/lis-fs/lis/metaservice"
)

// callerHeader carries ms.Caller in a call's metadata rather than in every
// request message: the session a call comes from and whether it holds
// what it answers with concern the invalidation table, not the operation.
// The value is the session number, with "h" after it for a holding call.
const callerHeader = "lis-caller"

// ownChangesTrailer carries back, for a caller that names its session,
// what the call's transactions changed (msgpack []metaservice.OwnChange;
// see metaservice.ChangeSink).
const ownChangesTrailer = "lis-own-changes-bin"

// withCallerHeader adds ctx's caller, if any, to the outgoing metadata.
func withCallerHeader(ctx context.Context) context.Context {
	c := ms.CallerOf(ctx)
	if c.Session == 0 {
		return ctx
	}
	v := strconv.FormatUint(c.Session, 10)
	if c.Hold {
		v += "h"
	}
	return metadata.AppendToOutgoingContext(ctx, callerHeader, v)
}

// callerFromHeader returns ctx carrying the caller the call's metadata
// names. A malformed value names no caller: it can only cost its sender
// the invalidations it would have had.
func callerFromHeader(ctx context.Context) context.Context {
	md, _ := metadata.FromIncomingContext(ctx)
	vals := md.Get(callerHeader)
	if len(vals) != 1 {
		return ctx
	}
	num, hold := strings.CutSuffix(vals[0], "h")
	id, err := strconv.ParseUint(num, 10, 64)
	if err != nil || id == 0 {
		return ctx
	}
	return ms.WithCaller(ctx, ms.Caller{Session: id, Hold: hold})
}

// ownChanges collects a call's own changes on the server side.
type ownChanges struct {
	mu      sync.Mutex
	changes []ms.OwnChange
}

func (o *ownChanges) OwnChanges(chs []ms.OwnChange) {
	o.mu.Lock()
	o.changes = append(o.changes, chs...)
	o.mu.Unlock()
}

// collectOwnChanges makes a call with a caller collect its own changes;
// sendOwnChanges then puts them in the call's trailer.
func collectOwnChanges(ctx context.Context) (context.Context, *ownChanges) {
	c := ms.CallerOf(ctx)
	if c.Session == 0 {
		return ctx, nil
	}
	o := &ownChanges{}
	c.Own = o
	return ms.WithCaller(ctx, c), o
}

func sendOwnChanges(ctx context.Context, o *ownChanges) {
	if o == nil || len(o.changes) == 0 {
		return
	}
	b, err := msgpack.Marshal(o.changes)
	if err == nil {
		grpc.SetTrailer(ctx, metadata.Pairs(ownChangesTrailer, string(b)))
	}
}

// ownChangesOption asks for the trailer when the caller wants its own
// changes; deliver passes them on once the call returned.
func ownChangesOption(ctx context.Context) (opts []grpc.CallOption, deliver func()) {
	sink := ms.CallerOf(ctx).Own
	if sink == nil {
		return nil, func() {}
	}
	md := new(metadata.MD)
	return []grpc.CallOption{grpc.Trailer(md)}, func() {
		for _, v := range md.Get(ownChangesTrailer) {
			var chs []ms.OwnChange
			if msgpack.Unmarshal([]byte(v), &chs) == nil {
				sink.OwnChanges(chs)
			}
		}
	}
}
