package dataserver

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestAwaitAcked: a wait returns what the replicas acknowledged as soon as
// it differs from what the caller saw, and at its deadline otherwise.
func TestAwaitAcked(t *testing.T) {
	ctx := context.Background()
	const chunk = 0x2a
	a := startServer(t, shortDir(t), "a", nil)
	b := startServer(t, shortDir(t), "b", nil)
	require.NoError(t, a.client.SetReplicas(ctx, SetReplicasReq{Chunk: chunk, Replicas: []Peer{{ID: "b", Addr: b.Addr()}}}))
	seen, err := a.client.AwaitAcked(ctx, chunk, nil, time.Second)
	require.NoError(t, err)
	require.Equal(t, map[string]uint64{"b": 0}, seen)

	got := make(chan map[string]uint64, 1)
	go func() {
		acked, err := a.client.AwaitAcked(ctx, chunk, seen, time.Minute)
		require.NoError(t, err)
		got <- acked
	}()
	resp, err := a.client.Write(ctx, WriteReq{Chunk: chunk, Offset: 0, Data: []byte("acked"), Sync: true})
	require.NoError(t, err)
	select {
	case acked := <-got:
		require.Equal(t, resp.Version, acked["b"], "the wait returned with the replica's acknowledgement")
	case <-time.After(30 * time.Second):
		t.Fatal("the wait did not return when the replica acknowledged")
	}

	// Nothing changes: the wait returns at its deadline, with the same.
	seen = map[string]uint64{"b": resp.Version}
	acked, err := a.client.AwaitAcked(ctx, chunk, seen, 50*time.Millisecond)
	require.NoError(t, err)
	require.Equal(t, seen, acked)
}
