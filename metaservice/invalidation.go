package metaservice

import (
	"context"
	"time"

	"github.com/lis-fs/lis/metaservice/callbacks"
)

// Caller is who makes a call: the client session behind it, and whether
// the call holds, for that session, the inodes it answers with. A session
// is told when what it holds changes (package callbacks); its own changes
// it is not told of.
//
// The calls that hold are those a FUSE client turns into kernel entries
// and attributes: Lookup, GetAttr, SetAttr, Mknod, Mkdir, Symlink, Link,
// Create and ReadDir (each entry with attributes, "." and ".." aside).
// Each holds every inode it answers with once; the client counts the
// same and releases the count with AwaitInvalidations.
type Caller struct {
	Session uint64
	Hold    bool
	// Own, if set, is told before the call returns what its transactions
	// changed: the session's own changes, which it is not sent as
	// invalidations, so that its cache can drop what they made stale, or
	// keep the attributes they wrote.
	Own ChangeSink
}

// ChangeSink takes a call's own changes.
type ChangeSink interface {
	OwnChanges(changes []OwnChange)
}

// OwnChange is one change a call made: an event as other sessions get
// it, and for attributes written (not deleted) their new value.
type OwnChange struct {
	_msgpack struct{} `msgpack:",as_array"`

	Event callbacks.Event
	Attr  *Attr
}

type callerKey struct{}

// WithCaller returns ctx carrying c.
func WithCaller(ctx context.Context, c Caller) context.Context {
	return context.WithValue(ctx, callerKey{}, c)
}

// CallerOf returns the caller ctx carries; zero for none.
func CallerOf(ctx context.Context) Caller {
	c, _ := ctx.Value(callerKey{}).(Caller)
	return c
}

// MaxInvalidationWait bounds how long AwaitInvalidations waits.
const MaxInvalidationWait = time.Minute

// AwaitInvalidations is a session's stream of invalidations, as a long
// poll: it gives back the holds in release, acknowledges the events up to
// seq of epoch, and returns the events after them, waiting up to wait for
// one. A Reset answer means the session holds nothing any more and must
// drop every cached entry and attribute (see callbacks.Table.Await).
func (s *Service) AwaitInvalidations(ctx context.Context, session, epoch, seq uint64, release []callbacks.Release, wait time.Duration) (callbacks.Batch, error) {
	s.callbacks.Release(session, release)
	b := s.callbacks.Await(ctx, session, epoch, seq, min(max(wait, 0), MaxInvalidationWait))
	return b, ctx.Err()
}

// holder starts a call that answers with attributes: the function it
// returns holds the inodes answered with (and watches the directories
// answered about) for the calling session, if the call asked to hold.
// Marking before the read lets a change that lands between the read and
// the hold reach the session as an event.
func (s *Service) holder(ctx context.Context) func(inos []Ino, dirs ...Ino) {
	c := CallerOf(ctx)
	if !c.Hold || c.Session == 0 {
		return func([]Ino, ...Ino) {}
	}
	mark := s.callbacks.Mark()
	return func(inos []Ino, dirs ...Ino) {
		s.callbacks.HoldSince(c.Session, mark, inoNumbers(inos), inoNumbers(dirs))
	}
}

func inoNumbers(inos []Ino) []uint64 {
	out := make([]uint64, len(inos))
	for i, ino := range inos {
		out[i] = uint64(ino)
	}
	return out
}

// noteWrite records what a write of key may change in clients' caches:
// an inode's attributes or a directory's entry.
func (t *tx) noteWrite(key, value []byte) {
	if len(key) < keyInoLen || key[0] != tagShard {
		return
	}
	ino := inoOfKey(key)
	var ev callbacks.Event
	switch {
	case key[3] == kAttr && len(key) == keyInoLen:
		ev = callbacks.Event{Ino: uint64(ino)}
		if t.attrVals == nil {
			t.attrVals = map[Ino][]byte{}
		}
		t.attrVals[ino] = value // the last write wins; nil for a delete
	case key[3] == kDentry && len(key) >= keyInoLen+8:
		_, name := dentryName(key)
		ev = callbacks.Event{Ino: uint64(ino), Name: name, Entry: true}
	default:
		return
	}
	// An operation writes a key or two more than once; a bulk
	// transaction may repeat itself, which costs a duplicate event.
	for _, e := range t.events[max(len(t.events)-8, 0):] {
		if e == ev {
			return
		}
	}
	t.events = append(t.events, ev)
}

// publish tells the sessions holding what tx changed, once it committed,
// and waits (up to Options.InvalidationWait) for those listening to have
// heard, so that a change is seen by every other client's very next stat
// or listing.
func (t *tx) publish(ctx context.Context) {
	c := CallerOf(ctx)
	if c.Own != nil && len(t.events) > 0 {
		c.Own.OwnChanges(t.ownChanges())
	}
	pending := t.s.callbacks.Publish(c.Session, t.events)
	t.s.callbacks.WaitAcked(ctx, pending, t.s.opts.InvalidationWait)
}

// ownChanges are the events with the attributes written.
func (t *tx) ownChanges() []OwnChange {
	out := make([]OwnChange, len(t.events))
	for i, ev := range t.events {
		out[i].Event = ev
		if ev.Entry {
			continue
		}
		ino := Ino(ev.Ino)
		if v := t.attrVals[ino]; v != nil {
			a := new(Attr)
			if decode(attrKey(ino), v, a) == nil {
				out[i].Attr = a
			}
		}
	}
	return out
}
