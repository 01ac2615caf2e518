package kv

import (
	"bytes"
	"errors"
	"fmt"
	"slices"

	"github.com/cockroachdb/pebble"
)

// scanBatch is the number of keys one Scan round trip fetches; TiKV's client
// scans in batches of this size, and the embedded engine counts round trips
// as if it did too.
const scanBatch = 256

// embTxn is one attempt of an embedded transaction.
//
// Invariants: writes holds the transaction's buffered writes (a nil value is
// a delete; a set value is never nil). reads holds every key read from the
// snapshot: probed by Get/BatchGet (present or not) or passed to a Scan
// callback. Neither is used in a read-only transaction.
type embTxn struct {
	e        *Embedded
	snap     *pebble.Snapshot
	start    uint64 // commit seq the snapshot includes (read-write only)
	snapSeq  uint64 // a commit seq the snapshot is known to include
	readOnly bool
	done     bool // fn returned: the Txn must not be used any more
	reads    map[string]struct{}
	writes   map[string][]byte
	readOps  int  // read operations that reached the snapshot
	tsPaid   bool // a read-only txn counted its timestamp fetch
}

var _ Txn = (*embTxn)(nil)

// finish releases the snapshot and unregisters the transaction.
func (t *embTxn) finish() {
	t.done = true
	t.snap.Close()
	if !t.readOnly {
		t.e.active.end(t.start)
	}
}

// countRead accounts one read round trip, as the TiKV engine would pay it:
// a read-write transaction paid for its start timestamp in begin; a
// read-only one pays for a timestamp with its first read unless that read
// is a single Get (served at "latest" on TiKV), and then with its second.
// A commit counts one more (a 1PC prewrite; see Embedded.commit).
func (t *embTxn) countRead(isGet bool) {
	t.readOps++
	n := uint64(1)
	if t.readOnly && !t.tsPaid && (!isGet || t.readOps > 1) {
		t.tsPaid = true
		n++
	}
	t.e.stats.roundTrips.Add(n)
}

// Get implements Txn.
func (t *embTxn) Get(key []byte) ([]byte, error) {
	if t.done {
		return nil, errTxnDone
	}
	if v, ok := t.writes[string(key)]; ok {
		return cloneValue(v), nil
	}
	t.countRead(true)
	return t.snapGet(key)
}

// snapGet reads key from the snapshot and records it in the read set.
func (t *embTxn) snapGet(key []byte) ([]byte, error) {
	if t.reads != nil {
		t.reads[string(key)] = struct{}{}
	}
	if t.e.deletes.absentAt(key, t.snapSeq) {
		return nil, nil
	}
	v, closer, err := t.snap.Get(key)
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("embedded get %q: %w", key, err)
	}
	defer closer.Close()
	return append([]byte{}, v...), nil
}

// BatchGet implements Txn.
func (t *embTxn) BatchGet(keys [][]byte) (map[string][]byte, error) {
	if t.done {
		return nil, errTxnDone
	}
	out := make(map[string][]byte, len(keys))
	counted := false
	for _, k := range keys {
		if v, ok := t.writes[string(k)]; ok {
			if v != nil {
				out[string(k)] = cloneValue(v)
			}
			continue
		}
		if !counted {
			t.countRead(false)
			counted = true
		}
		v, err := t.snapGet(k)
		if err != nil {
			return nil, err
		}
		if v != nil {
			out[string(k)] = v
		}
	}
	return out, nil
}

// Scan implements Txn: it merges the snapshot with the buffered writes in
// [start, end), buffered entries winning and buffered deletes hiding keys.
// A nil end means no upper bound.
func (t *embTxn) Scan(start, end []byte, limit int, fn func(key, value []byte) bool) error {
	if t.done {
		return errTxnDone
	}
	buf := t.bufferedIn(start, end)
	it, err := t.snap.NewIter(&pebble.IterOptions{LowerBound: start, UpperBound: end})
	if err != nil {
		return fmt.Errorf("embedded scan %q: %w", start, err)
	}
	defer it.Close()
	t.countRead(false)
	fetched := 0
	valid := it.First()
	for n := 0; limit <= 0 || n < limit; {
		c := compareNext(it, valid, buf)
		if c == 0 { // both sources exhausted
			break
		}
		var key, value []byte
		fromSnap := c < 0
		if fromSnap {
			if fetched++; fetched%scanBatch == 0 {
				t.e.stats.roundTrips.Add(1)
			}
			key, value = it.Key(), it.Value()
			if t.reads != nil {
				t.reads[string(key)] = struct{}{}
			}
		} else {
			key, value = buf[0], t.writes[string(buf[0])]
			buf = buf[1:]
		}
		if value != nil { // nil: deleted in this transaction
			n++
			if !fn(key, value) {
				break
			}
		}
		// Advance past key only after fn: the iterator owns key's memory.
		if valid && (fromSnap || bytes.Equal(it.Key(), key)) {
			valid = it.Next()
		}
	}
	return it.Error()
}

// compareNext says which source holds the next key of a Scan: 0 if neither
// has one, < 0 for the snapshot, > 0 for the buffer (which wins ties).
func compareNext(it *pebble.Iterator, valid bool, buf [][]byte) int {
	switch {
	case !valid && len(buf) == 0:
		return 0
	case !valid:
		return 1
	case len(buf) == 0:
		return -1
	case bytes.Compare(it.Key(), buf[0]) < 0:
		return -1
	default:
		return 1
	}
}

// bufferedIn returns the buffered keys in [start, end), sorted.
func (t *embTxn) bufferedIn(start, end []byte) [][]byte {
	var keys [][]byte
	for k := range t.writes {
		kb := []byte(k)
		if bytes.Compare(kb, start) >= 0 && (end == nil || bytes.Compare(kb, end) < 0) {
			keys = append(keys, kb)
		}
	}
	slices.SortFunc(keys, bytes.Compare)
	return keys
}

// Set implements Txn.
func (t *embTxn) Set(key, value []byte) error {
	switch {
	case t.done:
		return errTxnDone
	case t.readOnly:
		return ErrReadOnly
	case value == nil:
		return fmt.Errorf("kv: set %q: nil value", key)
	}
	t.writes[string(key)] = append([]byte{}, value...)
	return nil
}

// Delete implements Txn.
func (t *embTxn) Delete(key []byte) error {
	switch {
	case t.done:
		return errTxnDone
	case t.readOnly:
		return ErrReadOnly
	}
	t.writes[string(key)] = nil
	return nil
}

// cloneValue copies a buffered value so the caller cannot alter the buffer;
// nil (a buffered delete) stays nil.
func cloneValue(v []byte) []byte {
	if v == nil {
		return nil
	}
	return append([]byte{}, v...)
}
