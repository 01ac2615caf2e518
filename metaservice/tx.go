package metaservice

import (
	"encoding/binary"
	"fmt"
	"syscall"

	"github.com/lis-fs/lis/metaservice/callbacks"
	"github.com/lis-fs/lis/metaservice/kv"
)

// tx is one namespace transaction: typed accessors over a kv.Txn plus the
// side effects to run once it commits. A tx is used by one goroutine.
type tx struct {
	kv.Txn
	s   *Service
	now int64

	afterCommit []func()
	// events are what the writes change in clients' caches
	// (invalidation.go).
	events   []callbacks.Event
	attrVals map[Ino][]byte // the attributes written, by inode
	// setErr is the first error a buffered write returned; update fails
	// the transaction with it.
	setErr error
}

func (t *tx) committed() {
	for _, f := range t.afterCommit {
		f()
	}
}

func (t *tx) onCommit(f func()) { t.afterCommit = append(t.afterCommit, f) }

// mustSet buffers a write. A failing Set (an entry over the engine's size
// limit, a closed engine) is remembered and fails the transaction when fn
// returns, which keeps the many writes of an operation readable.
func (t *tx) mustSet(key, value []byte) {
	t.noteWrite(key, value)
	if err := t.Set(key, value); err != nil && t.setErr == nil {
		t.setErr = fmt.Errorf("write key %q: %w", key, err)
	}
}

func (t *tx) mustDelete(key []byte) {
	t.noteWrite(key, nil)
	if err := t.Delete(key); err != nil && t.setErr == nil {
		t.setErr = fmt.Errorf("delete key %q: %w", key, err)
	}
}

// attr reads an inode's attributes; a missing inode is ENOENT.
func (t *tx) attr(ino Ino) (*Attr, error) {
	k := attrKey(ino)
	v, err := t.Get(k)
	if err != nil {
		return nil, fmt.Errorf("read inode %d: %w", ino, err)
	}
	if v == nil {
		return nil, errnof(syscall.ENOENT, "inode %d", ino)
	}
	a := new(Attr)
	if err := decode(k, v, a); err != nil {
		return nil, err
	}
	return a, nil
}

// attrs reads several inodes in one batch; missing ones are absent from
// the result.
func (t *tx) attrs(inos []Ino) (map[Ino]*Attr, error) {
	keys := make([][]byte, len(inos))
	for i, ino := range inos {
		keys[i] = attrKey(ino)
	}
	vals, err := t.BatchGet(keys)
	if err != nil {
		return nil, fmt.Errorf("read %d inodes: %w", len(inos), err)
	}
	out := make(map[Ino]*Attr, len(vals))
	for i, k := range keys {
		v, ok := vals[string(k)]
		if !ok {
			continue
		}
		a := new(Attr)
		if err := decode(k, v, a); err != nil {
			return nil, err
		}
		out[inos[i]] = a
	}
	return out, nil
}

func (t *tx) putAttr(a *Attr) { t.mustSet(attrKey(a.Ino), encode(a)) }

// dir reads an inode that must be a directory.
func (t *tx) dir(ino Ino) (*Attr, error) {
	a, err := t.attr(ino)
	if err != nil {
		return nil, err
	}
	if !a.IsDir() {
		return nil, errnof(syscall.ENOTDIR, "inode %d", ino)
	}
	return a, nil
}

// dentry reads name in dir; absent is (nil, nil).
func (t *tx) dentry(dir Ino, name string) (*Dentry, error) {
	k := dentryKey(dir, name)
	v, err := t.Get(k)
	if err != nil {
		return nil, fmt.Errorf("lookup %q in %d: %w", name, dir, err)
	}
	if v == nil {
		return nil, nil
	}
	d := new(Dentry)
	if err := decode(k, v, d); err != nil {
		return nil, err
	}
	return d, nil
}

func (t *tx) putDentry(dir Ino, name string, d *Dentry) { t.mustSet(dentryKey(dir, name), encode(d)) }

func (t *tx) deleteDentry(dir Ino, name string) { t.mustDelete(dentryKey(dir, name)) }

// dirEmpty reports whether dir has no entries.
func (t *tx) dirEmpty(dir Ino) (bool, error) {
	start, end := dentryRange(dir, 0)
	empty := true
	err := t.Scan(start, end, 1, func(_, _ []byte) bool { empty = false; return false })
	if err != nil {
		return false, fmt.Errorf("scan directory %d: %w", dir, err)
	}
	return empty, nil
}

func (t *tx) usageDelta(s ShardID, inodes, bytes int64) {
	t.onCommit(func() { t.s.usage.add(s, inodes, bytes) })
}

func encodeUint(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }

func decodeUint(key, b []byte) (uint64, error) {
	if len(b) != 8 {
		return 0, fmt.Errorf("corrupt counter at key %q: %d bytes", key, len(b))
	}
	return binary.BigEndian.Uint64(b), nil
}
