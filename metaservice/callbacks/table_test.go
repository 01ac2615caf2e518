package callbacks

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// start resets a new session the way a client's first Await does, and
// returns the epoch and sequence number to acknowledge.
func start(t *testing.T, tb *Table, sid uint64) (uint64, uint64) {
	b := tb.Await(context.Background(), sid, 0, 0, 0)
	require.True(t, b.Reset, "a session that knew no table is reset")
	return b.Epoch, b.Seq
}

func TestEventsGoToHoldersButNotTheirOrigin(t *testing.T) {
	tb := New(Options{})
	e1, s1 := start(t, tb, 1)
	e2, s2 := start(t, tb, 2)
	tb.Hold(1, 10, 20)
	tb.Hold(2, 10)
	tb.Publish(2, []Event{{Ino: 10}, {Ino: 20, Name: "x", Entry: true}, {Ino: 30}})

	b := tb.Await(context.Background(), 1, e1, s1, 0)
	require.False(t, b.Reset)
	require.Equal(t, []Event{{Ino: 10}, {Ino: 20, Name: "x", Entry: true}}, b.Events)
	require.Equal(t, s1+2, b.Seq)

	b = tb.Await(context.Background(), 2, e2, s2, 0)
	require.Empty(t, b.Events, "the origin is not told of its own change")
}

func TestUnacknowledgedEventsAreSentAgain(t *testing.T) {
	tb := New(Options{})
	e, s := start(t, tb, 1)
	tb.Hold(1, 10)
	tb.Publish(0, []Event{{Ino: 10}})
	first := tb.Await(context.Background(), 1, e, s, 0)
	again := tb.Await(context.Background(), 1, e, s, 0) // the answer was lost
	require.Equal(t, first, again)
	tb.Publish(0, []Event{{Ino: 10, Name: "a"}})
	next := tb.Await(context.Background(), 1, e, again.Seq, 0)
	require.Equal(t, []Event{{Ino: 10, Name: "a"}}, next.Events)
}

func TestReleaseCountsCommuteWithHolds(t *testing.T) {
	tb := New(Options{})
	e, s := start(t, tb, 1)
	tb.Hold(1, 10)
	tb.Hold(1, 10) // a lookup in flight while the client releases the first
	tb.Release(1, []Release{{Ino: 10, N: 1}})
	tb.Publish(0, []Event{{Ino: 10}})
	require.Len(t, tb.Await(context.Background(), 1, e, s, 0).Events, 1, "one hold is left")
	tb.Release(1, []Release{{Ino: 10, N: 1}})
	require.Zero(t, tb.Stats().Holds)
	tb.Release(1, []Release{{Ino: 10, N: 5}}) // too many: harmless
	require.Zero(t, tb.Stats().Holds)
}

func TestManyHoldersOfOneInode(t *testing.T) {
	tb := New(Options{})
	acks := map[uint64][2]uint64{}
	for sid := uint64(1); sid <= 4; sid++ {
		e, s := start(t, tb, sid)
		acks[sid] = [2]uint64{e, s}
		tb.Hold(sid, 10)
	}
	tb.Release(1, []Release{{Ino: 10, N: 1}}) // the inline holder goes
	tb.Publish(3, []Event{{Ino: 10}})
	for sid, a := range acks {
		got := len(tb.Await(context.Background(), sid, a[0], a[1], 0).Events)
		require.Equal(t, map[bool]int{true: 1, false: 0}[sid == 2 || sid == 4], got, "session %d", sid)
	}
	tb.Drop(2)
	tb.Drop(4)
	tb.Drop(3)
	require.Zero(t, tb.Stats().Holds)
}

func TestOverflowResetsAndDropsHolds(t *testing.T) {
	tb := New(Options{MaxQueue: 3})
	e, s := start(t, tb, 1)
	tb.Hold(1, 10, 11)
	for i := 0; i < 4; i++ {
		tb.Publish(0, []Event{{Ino: 10}})
	}
	b := tb.Await(context.Background(), 1, e, s, 0)
	require.True(t, b.Reset)
	require.Zero(t, tb.Stats().Holds, "a reset session holds nothing")
	tb.Publish(0, []Event{{Ino: 11}})
	require.Empty(t, tb.Await(context.Background(), 1, b.Epoch, b.Seq, 0).Events)
}

func TestAStrangeAcknowledgementResets(t *testing.T) {
	tb := New(Options{})
	e, s := start(t, tb, 1)
	require.True(t, tb.Await(context.Background(), 1, e+2, s, 0).Reset, "another table's epoch")
	require.True(t, tb.Await(context.Background(), 1, e, s+7, 0).Reset, "a number never sent")
	b := tb.Await(context.Background(), 1, 0, 0, 0)
	require.True(t, b.Reset)
	// A lost Reset answer: the session acknowledges what it knew before.
	tb.Hold(1, 10)
	tb.Publish(0, []Event{{Ino: 10}})
	require.True(t, tb.Await(context.Background(), 1, 0, 0, 0).Reset)
}

func TestAwaitWaitsForAnEvent(t *testing.T) {
	tb := New(Options{})
	e, s := start(t, tb, 1)
	tb.Hold(1, 10)
	go func() {
		time.Sleep(20 * time.Millisecond)
		tb.Publish(0, []Event{{Ino: 10}})
	}()
	b := tb.Await(context.Background(), 1, e, s, time.Minute)
	require.Len(t, b.Events, 1)

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	require.Empty(t, tb.Await(ctx, 1, e, b.Seq, time.Minute).Events, "ends with its context")
	require.Empty(t, tb.Await(context.Background(), 1, e, b.Seq, time.Millisecond).Events, "ends after wait")
}

func TestBatchesAreBounded(t *testing.T) {
	tb := New(Options{MaxBatch: 2})
	e, s := start(t, tb, 1)
	tb.Hold(1, 10)
	tb.Publish(0, []Event{{Ino: 10, Name: "a"}, {Ino: 10, Name: "b"}, {Ino: 10, Name: "c"}})
	b := tb.Await(context.Background(), 1, e, s, 0)
	require.Len(t, b.Events, 2)
	b = tb.Await(context.Background(), 1, e, b.Seq, 0)
	require.Equal(t, []Event{{Ino: 10, Name: "c"}}, b.Events)
	b = tb.Await(context.Background(), 1, e, b.Seq, 0)
	require.Zero(t, tb.Stats().Queued, "acknowledged events go")
}

func TestHoldAfterAChangeTellsTheHolder(t *testing.T) {
	tb := New(Options{})
	e, s := start(t, tb, 1)
	mark := tb.Mark()
	tb.Publish(2, []Event{{Ino: 10}, {Ino: 30, Name: "x", Entry: true}}) // between the read and the hold
	tb.HoldSince(1, mark, []uint64{10, 20}, []uint64{30})
	b := tb.Await(context.Background(), 1, e, s, 0)
	require.Equal(t, []Event{{Ino: 10}, {Ino: 30, Entry: true}}, b.Events)

	mark = tb.Mark()
	tb.HoldSince(1, mark, []uint64{20}, nil)
	require.Empty(t, tb.Await(context.Background(), 1, e, b.Seq, 0).Events, "nothing changed")
}

func TestAForgottenChangeCountsAsAChange(t *testing.T) {
	tb := New(Options{})
	e, s := start(t, tb, 1)
	mark := tb.Mark()
	for i := 0; i <= changeLogSize; i++ {
		tb.Publish(0, []Event{{Ino: uint64(100 + i)}})
	}
	tb.HoldSince(1, mark, []uint64{10}, nil)
	require.Equal(t, []Event{{Ino: 10}}, tb.Await(context.Background(), 1, e, s, 0).Events)
}

func TestAChangeWaitsForListeningHolders(t *testing.T) {
	tb := New(Options{})
	e, s := start(t, tb, 1)
	tb.Hold(1, 10)
	tb.Hold(2, 10) // holds but never listens
	require.Empty(t, tb.Publish(0, []Event{{Ino: 10}}), "no one listening: nothing to wait for")
	b := tb.Await(context.Background(), 1, e, s, 0)

	got := make(chan Batch)
	go func() { got <- tb.Await(context.Background(), 1, e, b.Seq, time.Minute) }()
	require.Eventually(t, func() bool {
		tb.mu.Lock()
		defer tb.mu.Unlock()
		return tb.sessions[1].polling == 1
	}, 10*time.Second, time.Millisecond)
	pending := tb.Publish(0, []Event{{Ino: 10, Name: "n", Entry: true}})
	require.Equal(t, []Pending{{1, b.Seq + 1}}, pending)
	done := make(chan struct{})
	go func() { tb.WaitAcked(context.Background(), pending, time.Minute); close(done) }()
	b = <-got
	select {
	case <-done:
		t.Fatal("the change returned before the holder acknowledged")
	case <-time.After(20 * time.Millisecond):
	}
	go tb.Await(context.Background(), 1, e, b.Seq, 0)
	<-done
}

func TestASlowHolderIsWaitedForOnce(t *testing.T) {
	tb := New(Options{})
	e, s := start(t, tb, 1)
	tb.Hold(1, 10)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		// It listens but takes nothing: the events it is sent wake it,
		// and it waits again without acknowledging them.
		for ctx.Err() == nil {
			tb.Await(ctx, 1, e, s, time.Minute)
		}
		close(done)
	}()
	require.Eventually(t, func() bool { return tb.listeningNow(1) }, 10*time.Second, time.Millisecond)
	pending := tb.Publish(0, []Event{{Ino: 10}})
	require.Len(t, pending, 1)
	tb.WaitAcked(context.Background(), pending, time.Millisecond)
	require.Empty(t, tb.Publish(0, []Event{{Ino: 10}}), "a session late once is not waited for")
	cancel()
	<-done
	tb.Await(context.Background(), 1, e, s+2, 0) // it acknowledges
	ctx, cancel = context.WithCancel(context.Background())
	defer cancel()
	go tb.Await(ctx, 1, e, s+2, time.Minute)
	require.Eventually(t, func() bool { return tb.listeningNow(1) }, 10*time.Second, time.Millisecond)
	require.Len(t, tb.Publish(0, []Event{{Ino: 10}}), 1, "waited for again once it acknowledged")
}

func (t *Table) listeningNow(sid uint64) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.sessions[sid] != nil && t.sessions[sid].polling > 0
}

func TestAHolderIsNotToldOfItsOwnChange(t *testing.T) {
	tb := New(Options{})
	e, s := start(t, tb, 1)
	mark := tb.Mark()
	tb.Publish(1, []Event{{Ino: 10}}) // its own create, say
	tb.HoldSince(1, mark, []uint64{10}, nil)
	require.Empty(t, tb.Await(context.Background(), 1, e, s, 0).Events)

	mark = tb.Mark()
	tb.Publish(2, []Event{{Ino: 10}})
	tb.Publish(1, []Event{{Ino: 10}}) // its own change after another's
	tb.HoldSince(1, mark, []uint64{10}, nil)
	require.Len(t, tb.Await(context.Background(), 1, e, s, 0).Events, 2, "the other's change and the catch-up event")
}
