package kv

import (
	"context"
	"errors"
)

// OpenTiKV is being written (temporary placeholder, replaced by tikv.go).
func OpenTiKV(ctx context.Context, pds []string, volume string, opts ...Option) (Engine, error) {
	return nil, errors.New("kv: tikv engine not built yet")
}
