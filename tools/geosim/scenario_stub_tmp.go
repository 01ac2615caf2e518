package geosim

import "context"

func partitionHeal(ctx context.Context, env Env, r *Report) error    { return nil }
func bandwidthLimit(ctx context.Context, env Env, r *Report) error   { return nil }
func remoteRead(ctx context.Context, env Env, r *Report) error       { return nil }
func leaseTurns(ctx context.Context, env Env, r *Report) error       { return nil }
func metadataDistance(ctx context.Context, env Env, r *Report) error { return nil }
