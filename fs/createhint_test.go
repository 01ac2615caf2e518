package fs

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestCreateHintFollowsTheWorkload(t *testing.T) {
	var h createHint
	require.True(t, h.chunkAtCreate(), "no outcome yet: expect writes")
	for range 16 {
		h.outcome(false) // touch, touch, ...
	}
	require.False(t, h.chunkAtCreate())
	for range 7 {
		h.outcome(true)
	}
	require.False(t, h.chunkAtCreate(), "7 of the last 16 written")
	h.outcome(true)
	require.True(t, h.chunkAtCreate(), "8 of the last 16 written")
}
