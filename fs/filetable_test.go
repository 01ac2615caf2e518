package fs

import (
	"testing"

	"github.com/stretchr/testify/require"

	ms "github.com/lis-fs/lis/metaservice"
)

// TestForgetDropsClosedVersions: what the client keeps for the kernel's
// caches of a closed inode goes once the kernel forgot every reference it
// was given, not before, and never while the inode is open.
func TestForgetDropsClosedVersions(t *testing.T) {
	ft := newFileTable(nil)
	const ino, open = ms.Ino(7), ms.Ino(8)
	ft.closed[ino] = fileVersion{gen: 3}
	ft.looked(ino)
	ft.looked(ino)
	ft.forget(ino, 1)
	require.Contains(t, ft.closed, ino, "the kernel still holds a reference")
	ft.forget(ino, 1)
	require.NotContains(t, ft.closed, ino)
	require.NotContains(t, ft.lookups, ino)

	ft.closed[open] = fileVersion{gen: 1}
	ft.files[open] = &openFile{ino: open, refs: 1}
	ft.looked(open)
	ft.forget(open, 1)
	require.Contains(t, ft.closed, open, "an open inode keeps its version")

	ft.forget(ms.Ino(99), 5) // more than it was given: no underflow, nothing kept
	require.NotContains(t, ft.lookups, ms.Ino(99))
}

// TestLookupsStayBounded: a million files looked up and forgotten leave
// nothing behind (the table used to grow by every file ever opened).
func TestLookupsStayBounded(t *testing.T) {
	ft := newFileTable(nil)
	for i := range 1_000_000 {
		ino := ms.Ino(i + 2)
		ft.looked(ino)
		ft.closed[ino] = fileVersion{gen: 1}
		ft.forget(ino, 1)
	}
	require.Empty(t, ft.closed)
	require.Empty(t, ft.lookups)
}
