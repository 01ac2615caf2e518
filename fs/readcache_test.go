package fs

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestBlockCache(t *testing.T) {
	c := newBlockCache(4 * cacheBlock)
	block := func(fill byte) []byte { return bytes.Repeat([]byte{fill}, cacheBlock) }
	c.put(1, 5, 0, append(block('a'), block('b')...))
	dst := make([]byte, 100)
	require.True(t, c.get(1, 5, cacheBlock-50, dst), "two blocks at one version")
	require.Equal(t, append(bytes.Repeat([]byte{'a'}, 50), bytes.Repeat([]byte{'b'}, 50)...), dst)
	require.True(t, c.get(1, 3, 10, dst[:10]), "a newer version than the reader saw is fine")
	require.False(t, c.get(1, 6, 10, dst[:10]), "an older version than the reader saw is not")
	require.False(t, c.get(1, 5, 2*cacheBlock-10, dst[:20]), "a block that is not cached")
	require.False(t, c.get(2, 0, 0, dst[:1]), "another chunk")

	c.put(1, 7, cacheBlock, block('c'))
	require.False(t, c.get(1, 5, cacheBlock-50, dst), "never a mix of two versions in one read")
	require.True(t, c.get(1, 7, cacheBlock, dst[:1]))

	for i := range int64(8) {
		c.put(3, 1, i*cacheBlock, block(byte(i)))
	}
	require.False(t, c.get(3, 1, 0, dst[:1]), "the oldest blocks were evicted")
	require.True(t, c.get(3, 1, 7*cacheBlock, dst[:1]))
	require.Nil(t, newBlockCache(-1), "no cache")
	require.False(t, (*blockCache)(nil).get(1, 0, 0, dst))
}
