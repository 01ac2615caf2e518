package geosim

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
)

// prefixLog is a file written as a ring of fixed-size records, record seq
// at slot seq % slots, each record's bytes a function of seq. Because the
// writer writes records in seq order, every state a faithful copy can be
// in (a prefix of the writer's history) is "slots hold the last records
// before some S", and anything else (a slot older than a later slot's
// predecessor, a record half old and half new) is a torn mix. check tells
// which.
type prefixLog struct {
	slots  int
	record int
}

// fill writes record seq into b (len(b) == l.record).
func (l prefixLog) fill(b []byte, seq uint64) {
	binary.LittleEndian.PutUint64(b, seq+1) // 0 marks a slot never written
	rand.NewChaCha8(seedOf(seq)).Read(b[8:])
}

func seedOf(seq uint64) (s [32]byte) {
	binary.LittleEndian.PutUint64(s[:], seq)
	return s
}

// offset is where record seq goes in the file.
func (l prefixLog) offset(seq uint64) int64 { return int64(seq%uint64(l.slots)) * int64(l.record) }

// check returns the number S of records data holds (records 0..S-1 at
// their slots, the newest per slot), or an error saying how data is not
// such a state. data is the file's content from offset 0; short data is
// as if zeros followed.
func (l prefixLog) check(data []byte) (uint64, error) {
	seqs := make([]uint64, l.slots) // seq+1 held by each slot; 0: none
	var s uint64
	for i := range seqs {
		rec := l.slot(data, i)
		seqs[i] = binary.LittleEndian.Uint64(rec)
		if seqs[i] == 0 {
			if !allZero(rec) {
				return 0, fmt.Errorf("slot %d: no record header but data", i)
			}
			continue
		}
		if (seqs[i]-1)%uint64(l.slots) != uint64(i) {
			return 0, fmt.Errorf("slot %d holds record %d, which belongs in slot %d", i, seqs[i]-1, (seqs[i]-1)%uint64(l.slots))
		}
		s = max(s, seqs[i])
	}
	want := make([]byte, l.record)
	for i, got := range seqs {
		exp := uint64(0) // seq+1 slot i must hold in state s
		if uint64(i) < s {
			exp = uint64(i) + uint64(l.slots)*((s-1-uint64(i))/uint64(l.slots)) + 1
		}
		if got != exp {
			return 0, fmt.Errorf("torn: slot %d holds record %d, but a copy that has record %d must hold %d there", i, int64(got)-1, s-1, int64(exp)-1)
		}
		if got != 0 {
			l.fill(want, got-1)
			if !bytes.Equal(l.slot(data, i), want) {
				return 0, fmt.Errorf("torn: record %d in slot %d is not whole", got-1, i)
			}
		}
	}
	return s, nil
}

// slot returns slot i of data, zero-padded.
func (l prefixLog) slot(data []byte, i int) []byte {
	start, end := i*l.record, (i+1)*l.record
	if end <= len(data) {
		return data[start:end]
	}
	rec := make([]byte, l.record)
	if start < len(data) {
		copy(rec, data[start:])
	}
	return rec
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}
