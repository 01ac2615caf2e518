package kv

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestProbePD(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	dead, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	deadAddr := dead.Addr().String()
	dead.Close()

	require.NoError(t, probePD(context.Background(), []string{deadAddr, "http://" + l.Addr().String()}, time.Minute),
		"one endpoint that answers is enough")
	err = probePD(context.Background(), []string{deadAddr, "http://" + deadAddr}, 300*time.Millisecond)
	require.ErrorContains(t, err, "no PD endpoint answered within 300ms: tried "+deadAddr+" (")
	require.ErrorContains(t, err, "http://"+deadAddr+" (")
	require.ErrorContains(t, err, "connection refused")
}
