package geosim

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// history returns the file after records 0..n-1 of l.
func history(l prefixLog, n uint64) []byte {
	data := make([]byte, l.slots*l.record)
	for seq := range n {
		l.fill(data[l.offset(seq):l.offset(seq)+int64(l.record)], seq)
	}
	return data
}

func TestPrefixLogAcceptsEveryPrefix(t *testing.T) {
	l := prefixLog{slots: 4, record: 64}
	for n := range uint64(11) {
		s, err := l.check(history(l, n))
		require.NoError(t, err, "prefix of %d records", n)
		require.Equal(t, n, s)
	}
	s, err := l.check(nil)
	require.NoError(t, err, "an empty file is the state before any record")
	require.Zero(t, s)
	s, err = l.check(history(l, 2)[:2*64])
	require.NoError(t, err, "a file that ends where it was written so far")
	require.EqualValues(t, 2, s)
}

func TestPrefixLogRefusesTornStates(t *testing.T) {
	l := prefixLog{slots: 4, record: 64}
	old, cur := history(l, 5), history(l, 7) // cur: records 4,5,6 over 0,1,2 (slots 0..2), 3 in slot 3
	gap := append([]byte{}, cur...)
	copy(gap[64:128], old[64:128]) // slot 1 still record 1 while slot 2 has record 6
	_, err := l.check(gap)
	require.ErrorContains(t, err, "torn: slot 1")

	half := append([]byte{}, cur...)
	copy(half[2*64+32:3*64], old[2*64+32:3*64]) // record 6 with the tail of record 2
	_, err = l.check(half)
	require.ErrorContains(t, err, "not whole")

	skipped := history(l, 3)
	clear(skipped[64:128]) // record 1 missing, 0 and 2 there
	_, err = l.check(skipped)
	require.ErrorContains(t, err, "torn")
}
