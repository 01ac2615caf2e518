package fs

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	ms "github.com/lis-fs/lis/metaservice"
	"github.com/lis-fs/lis/metaservice/callbacks"
)

// TestHoldsStayWithinTheirBudget: past maxHeld inodes, an answer's hold
// goes back at once and the answer is not cached long; inodes already
// held still are.
func TestHoldsStayWithinTheirBudget(t *testing.T) {
	c := newCoherence(10, 1<<20)
	c.up = true
	answer := func(ino ms.Ino) bool {
		call := c.begin(context.Background(), 1)
		return c.end(call, []ms.Ino{ino})
	}
	for i := range maxHeld {
		require.True(t, answer(ms.Ino(i+2)))
	}
	require.False(t, answer(ms.Ino(maxHeld+2)), "over the budget")
	require.Equal(t, []callbacks.Release{{Ino: uint64(maxHeld + 2), N: 1}}, c.takeReleases(10))
	require.True(t, answer(2), "one already held")
	require.Equal(t, uint32(2), c.holds[2].n)
}

// TestHeldInodesGoBackWhenNothingKeepsThem: holds go back once neither
// the kernel nor the cache keeps the inode, with their whole count.
func TestHeldInodesGoBackWhenNothingKeepsThem(t *testing.T) {
	c := newCoherence(1, 1<<20)
	c.up = true
	for range 2 {
		c.end(c.begin(context.Background(), 1), []ms.Ino{7})
	}
	c.kernelGot(7)
	c.cacheAttr(&ms.Attr{Ino: 7}, true)
	c.forgot(7)
	require.Empty(t, c.takeReleases(10), "the cache keeps it")
	c.end(c.begin(context.Background(), 1), []ms.Ino{8})
	c.cacheAttr(&ms.Attr{Ino: 8}, true) // evicts 7: the cache holds one entry
	require.Equal(t, []callbacks.Release{{Ino: 7, N: 2}}, c.takeReleases(10))
}
