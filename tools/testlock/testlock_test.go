package testlock

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestHoldExcludes(t *testing.T) {
	Path = filepath.Join(t.TempDir(), "lock")
	release, err := Hold()
	require.NoError(t, err)
	got := make(chan struct{})
	go func() {
		r2, err := Hold() // another open file description: excluded until release
		if err == nil {
			r2()
		}
		close(got)
	}()
	select {
	case <-got:
		t.Fatal("a second holder got the lock while the first held it")
	case <-time.After(200 * time.Millisecond):
	}
	release()
	select {
	case <-got:
	case <-time.After(10 * time.Second):
		t.Fatal("the second holder never got the lock after the release")
	}
}
