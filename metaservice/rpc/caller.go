package rpc

import (
	"context"
	"strconv"
	"strings"

	"google.golang.org/grpc/metadata"

	ms "github.com/lis-fs/lis/metaservice"
)

// callerHeader carries ms.Caller in a call's metadata rather than in every
// request message: the session a call comes from and whether it holds
// what it answers with concern the invalidation table, not the operation.
// The value is the session number, with "h" after it for a holding call.
const callerHeader = "lis-caller"

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
