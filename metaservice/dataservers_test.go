package metaservice

import (
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/lis-fs/lis/metaservice/registry"
)

// testRegistry: heartbeats register dataservers in the KV store (so a
// second Service on the same engine sees them), liveness follows the age
// of the last heartbeat, and a live ID cannot be taken from another
// address.
func testRegistry(t *testing.T, f *fixture) {
	perth := registry.Heartbeat{ID: "perth-1", Addr: "127.0.0.1:7301", Site: "perth", Region: "au", Capacity: 100 << 30, Free: 60 << 30}
	london := registry.Heartbeat{ID: "london-1", Addr: "127.0.0.1:7302", Site: "london", Region: "eu"}
	require.NoError(t, f.s.DataserverHeartbeat(f.ctx, perth))
	require.NoError(t, f.s.DataserverHeartbeat(f.ctx, london))
	ds := f.dataservers()
	require.Len(t, ds, 2)
	require.Equal(t, "london-1", ds[0].ID, "listed by ID")
	require.Equal(t, perth, ds[1].Heartbeat)
	require.Equal(t, registry.Up, ds[1].Liveness)

	// Another metaservice on the same store sees the same registry.
	other, err := Open(f.ctx, f.s.Engine(), Options{Now: func() time.Time { return f.now }, ReapInterval: time.Hour})
	require.NoError(t, err)
	defer other.Close()
	ds2, err := other.ListDataservers(f.ctx)
	require.NoError(t, err)
	require.Equal(t, ds, ds2)

	f.now = f.now.Add(15 * time.Second)
	require.NoError(t, f.s.DataserverHeartbeat(f.ctx, london))
	ds = f.dataservers()
	require.Equal(t, registry.Up, ds[0].Liveness)
	require.Equal(t, registry.Suspect, ds[1].Liveness, "perth silent for 15 s")

	impostor := perth
	impostor.Addr = "127.0.0.1:9999"
	err = f.s.DataserverHeartbeat(f.ctx, impostor)
	requireErrno(t, err, syscall.EEXIST)
	require.Contains(t, err.Error(), "held by a live dataserver at 127.0.0.1:7301")

	f.now = f.now.Add(time.Minute)
	require.Equal(t, registry.Down, f.dataservers()[1].Liveness)
	require.NoError(t, f.s.DataserverHeartbeat(f.ctx, impostor), "a down dataserver's ID may move")
	require.Equal(t, "127.0.0.1:9999", f.dataservers()[1].Addr)

	requireErrno(t, f.s.DataserverHeartbeat(f.ctx, registry.Heartbeat{ID: "bad id", Addr: "x:1"}), syscall.EINVAL)
}

func (f *fixture) dataservers() []DataserverStatus {
	f.t.Helper()
	ds, err := f.s.ListDataservers(f.ctx)
	require.NoError(f.t, err)
	return ds
}
