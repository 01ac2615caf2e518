package msgrpc_test

import (
	"net"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/lis-fs/lis/metaservice/msgrpc"
)

func TestListenRefusesALiveUnixSocket(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.sock")
	s := startServer(t, "unix:"+path)

	l, err := msgrpc.Listen("unix:" + path)
	require.ErrorContains(t, err, "another process is serving")
	require.Nil(t, l)

	// The live server's socket file was left alone.
	_, err = echo(callCtx(t), dial(t, s.addr), &echoMsg{ID: 1})
	require.NoError(t, err)
}

func TestListenReusesAStaleUnixSocket(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.sock")
	// A socket file whose listener is gone, as a killed process leaves it.
	old, err := net.Listen("unix", path)
	require.NoError(t, err)
	old.(*net.UnixListener).SetUnlinkOnClose(false)
	require.NoError(t, old.Close())
	fi, err := os.Stat(path)
	require.NoError(t, err)
	require.Equal(t, os.ModeSocket, fi.Mode().Type())

	s := startServer(t, "unix:"+path)
	got, err := echo(callCtx(t), dial(t, s.addr), &echoMsg{ID: 2})
	require.NoError(t, err)
	require.EqualValues(t, 2, got.ID)
}

func TestListenTCP(t *testing.T) {
	s := startServer(t, "127.0.0.1:0")
	_, err := msgrpc.Listen(s.addr)
	require.Error(t, err, "a TCP port in use must not be taken over")
	_, err = echo(callCtx(t), dial(t, s.addr), &echoMsg{})
	require.NoError(t, err)
}

// TestListenUnixSocketMode: a unix socket is plaintext and
// unauthenticated, so its file keeps other users out.
func TestListenUnixSocketMode(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.sock")
	l, err := msgrpc.Listen("unix:" + path)
	require.NoError(t, err)
	defer l.Close()
	fi, err := os.Stat(path)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o660), fi.Mode().Perm())
}
