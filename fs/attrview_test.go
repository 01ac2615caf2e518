package fs

import (
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"

	ms "github.com/lis-fs/lis/metaservice"
)

func fileAttr(gen, size uint64, mtime int64) *ms.Attr {
	return &ms.Attr{Ino: 7, Mode: syscall.S_IFREG | 0o644, Gen: gen, Size: size, Mtime: mtime}
}

// TestObserve walks the rules of attrview.go: what a client reports for
// an answer of the metaservice, given what it knows of the file.
func TestObserve(t *testing.T) {
	for _, c := range []struct {
		name      string
		of        fileVersion
		unconf    byte // 'd' dirty, 'c' committing
		answer    *ms.Attr
		size      uint64
		mtime     int64
		gen       uint64
		forgotten bool // known chunks dropped
	}{
		{name: "unconfirmed writes stand over an older answer",
			of: fileVersion{gen: 4, size: 100, mtime: 50}, unconf: 'd',
			answer: fileAttr(4, 90, 40), size: 100, mtime: 50, gen: 4},
		{name: "a commit on its way counts as unconfirmed",
			of: fileVersion{gen: 4, size: 100, mtime: 50}, unconf: 'c',
			answer: fileAttr(4, 90, 40), size: 100, mtime: 50, gen: 4},
		{name: "unconfirmed writes and a file grown elsewhere",
			of: fileVersion{gen: 4, size: 100, mtime: 50}, unconf: 'd',
			answer: fileAttr(6, 300, 60), size: 300, mtime: 60, gen: 6},
		{name: "a stale answer is not reported",
			of:     fileVersion{gen: 5, size: 100, mtime: 50},
			answer: fileAttr(4, 90, 40), size: 100, mtime: 50, gen: 5},
		{name: "a stale answer cannot undo a truncate",
			of:     fileVersion{gen: 5, size: 10, mtime: 50},
			answer: fileAttr(4, 90, 40), size: 10, mtime: 50, gen: 5},
		{name: "the current answer is taken",
			of:     fileVersion{gen: 5, size: 100, mtime: 50},
			answer: fileAttr(5, 100, 55), size: 100, mtime: 55, gen: 5},
		{name: "another client's change is taken, chunks forgotten",
			of:     fileVersion{gen: 5, size: 100, mtime: 50},
			answer: fileAttr(8, 20, 70), size: 20, mtime: 70, gen: 8, forgotten: true},
	} {
		t.Run(c.name, func(t *testing.T) {
			of := &openFile{gen: c.of.gen, size: c.of.size, mtime: c.of.mtime,
				dirty: c.unconf == 'd', committing: c.unconf == 'c', chunks: map[uint32]*chunkRef{0: {id: 1}}}
			got := of.observe(c.answer)
			require.Equal(t, c.size, got.Size, "reported size")
			require.Equal(t, c.mtime, got.Mtime, "reported mtime")
			require.Equal(t, fileVersion{gen: c.gen, size: c.size, mtime: c.mtime}, of.version(), "what the client knows next")
			require.Equal(t, c.forgotten, len(of.chunks) == 0, "chunks forgotten")
		})
	}
}

// TestPagesFollowOwnChanges: the kernel's pages are kept across this
// client's own commits (even one still on its way when the next open
// comes) and dropped when another client's change comes between.
func TestPagesFollowOwnChanges(t *testing.T) {
	of := &openFile{chunks: map[uint32]*chunkRef{}}
	of.observe(fileAttr(3, 10, 1))
	require.False(t, of.keepPages(), "first open: nothing known of the pages")
	require.True(t, of.keepPages(), "reopen, nothing changed")

	of.committing = true
	of.observe(fileAttr(4, 20, 2)) // the commit landed, its answer not here yet
	require.True(t, of.keepPages(), "open while this client's commit is on its way")
	of.committing = false
	of.changed(fileAttr(4, 20, 2))
	require.True(t, of.keepPages(), "after the commit's answer")

	of.observe(fileAttr(6, 20, 3)) // two changes: at least one another client's
	require.False(t, of.keepPages(), "another client wrote")
	of.changed(fileAttr(8, 20, 4)) // a change of ours with one unseen before it
	require.False(t, of.keepPages(), "a change this client did not see came first")
	require.True(t, of.keepPages())
}
