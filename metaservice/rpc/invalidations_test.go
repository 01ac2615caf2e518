package rpc

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	ms "github.com/lis-fs/lis/metaservice"
	"github.com/lis-fs/lis/metaservice/callbacks"
)

type sink struct {
	mu    sync.Mutex
	evs   []callbacks.Event
	attrs map[ms.Ino]*ms.Attr
}

func (s *sink) OwnChanges(chs []ms.OwnChange) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, ch := range chs {
		s.evs = append(s.evs, ch.Event)
		if ch.Attr != nil {
			if s.attrs == nil {
				s.attrs = map[ms.Ino]*ms.Attr{}
			}
			s.attrs[ch.Attr.Ino] = ch.Attr
		}
	}
}

// TestInvalidationsOverTheWire: a session that holds a directory hears of
// another session's create in it through AwaitInvalidations, and the
// creator is told of its own changes in the call's answer instead.
func TestInvalidationsOverTheWire(t *testing.T) {
	transports(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		root := ms.Root
		watcher, err := e.client.RegisterSession(ctx, ms.SessionInfo{Host: "w"})
		require.NoError(t, err)
		maker, err := e.client.RegisterSession(ctx, ms.SessionInfo{Host: "m"})
		require.NoError(t, err)
		first, err := e.client.AwaitInvalidations(ctx, watcher, 0, 0, nil, 0)
		require.NoError(t, err)
		require.True(t, first.Reset, "a session new to the table starts with a reset")

		hold := ms.WithCaller(ctx, ms.Caller{Session: watcher, Hold: true})
		_, err = e.client.GetAttr(hold, ms.RootIno)
		require.NoError(t, err)

		own := &sink{}
		mctx := ms.WithCaller(ctx, ms.Caller{Session: maker, Own: own})
		a, err := e.client.Create(mctx, root, ms.RootIno, "made", ms.NewNode{Mode: 0o644}, maker)
		require.NoError(t, err)
		require.Contains(t, own.evs, callbacks.Event{Ino: uint64(ms.RootIno), Name: "made", Entry: true})
		require.Contains(t, own.evs, callbacks.Event{Ino: uint64(a.Ino)})
		require.Equal(t, a, own.attrs[a.Ino], "the attributes it wrote")
		dir, err := e.client.GetAttr(ctx, ms.RootIno)
		require.NoError(t, err)
		require.Equal(t, dir, own.attrs[ms.RootIno], "the directory's new attributes")

		b, err := e.client.AwaitInvalidations(ctx, watcher, first.Epoch, first.Seq,
			[]callbacks.Release{{Ino: uint64(ms.RootIno), N: 1}}, 10*time.Second)
		require.NoError(t, err)
		require.False(t, b.Reset)
		require.Contains(t, b.Events, callbacks.Event{Ino: uint64(ms.RootIno), Name: "made", Entry: true})
		require.Contains(t, b.Events, callbacks.Event{Ino: uint64(ms.RootIno)}, "the directory's mtime")

		// The hold was given back: the next change is not heard of.
		_, err = e.client.Create(mctx, root, ms.RootIno, "second", ms.NewNode{Mode: 0o644}, maker)
		require.NoError(t, err)
		b, err = e.client.AwaitInvalidations(ctx, watcher, b.Epoch, b.Seq, nil, 0)
		require.NoError(t, err)
		require.Empty(t, b.Events)
	})
}
