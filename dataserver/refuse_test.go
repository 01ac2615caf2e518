package dataserver

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestPrimaryRefusesReplication: a dataserver the metaservice made a
// chunk's primary takes no replication stream for it; the sender (a
// primary that was replaced, after a failover) stops shipping it there,
// and the new primary's content is untouched.
func TestPrimaryRefusesReplication(t *testing.T) {
	ctx := context.Background()
	const chunk = 0x2f
	a := startServer(t, shortDir(t), "a", nil)
	b := startServer(t, shortDir(t), "b", nil)
	owner := ChunkOwner{Ino: 9, Index: 0}
	// b is the chunk's primary now, with content of its own.
	_, err := b.client.Write(ctx, WriteReq{Chunk: chunk, Offset: 0, Data: []byte("the new primary's")})
	require.NoError(t, err)
	require.NoError(t, b.client.SetReplicas(ctx, SetReplicasReq{Chunk: chunk, Owner: owner}))
	// a, the old primary, diverged, and still ships to b.
	_, err = a.client.Write(ctx, WriteReq{Chunk: chunk, Offset: 0, Data: []byte("the old one's divergent data")})
	require.NoError(t, err)
	require.NoError(t, a.client.SetReplicas(ctx, SetReplicasReq{Chunk: chunk, Owner: owner,
		Replicas: []Peer{{ID: "b", Addr: b.Addr()}}}))
	require.Eventually(t, func() bool {
		info, err := a.client.ChunkInfo(ctx, chunk)
		require.NoError(t, err)
		return len(info.Replicas) == 0
	}, 30*time.Second, 10*time.Millisecond, "a still ships to b, which refuses")
	_, data := readAll(t, b.client, chunk)
	require.Equal(t, "the new primary's", string(data))
}
