package dataserver

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// The test binary runs a dataserver instead of the tests when childDirEnv
// is set (see TestCrashRecovery); the other variables adjust that child.
const (
	childDirEnv = "LIS_DS_CHILD_DIR"
	// childLeasesEnv=1: client writes need a write lease.
	childLeasesEnv = "LIS_DS_CHILD_LEASES"
	// childLazyEnv=1: the journal is synced only when a client asks (no
	// applier-forced syncs, no checkpoints), so a test knows what is
	// durable.
	childLazyEnv = "LIS_DS_CHILD_LAZY"
	// childNoCheckpointEnv=1: mutations are applied as usual, but no
	// checkpoint is taken, so a restart replays every one of them.
	childNoCheckpointEnv = "LIS_DS_CHILD_NOCKPT"
	// childNoFileEnv=N: run with RLIMIT_NOFILE N (and the default
	// MaxOpenChunks it implies).
	childNoFileEnv = "LIS_DS_CHILD_NOFILE"
)

func TestMain(m *testing.M) {
	if dir := os.Getenv(childDirEnv); dir != "" {
		os.Exit(runChild(dir))
	}
	os.Exit(m.Run())
}

// runChild serves a dataserver on DIR/ds.sock until killed.
func runChild(dir string) int {
	cfg := Config{
		Dir: dir, ID: "child", Unix: filepath.Join(dir, "ds.sock"), NoLeases: os.Getenv(childLeasesEnv) != "1",
		Logger: testLogger(), CheckpointInterval: 100 * time.Millisecond,
		JournalSegmentSize: 1 << 20, ApplyDelay: time.Millisecond,
	}
	if os.Getenv(childLazyEnv) == "1" {
		cfg.ApplyDelay, cfg.CheckpointInterval = time.Hour, time.Hour
	}
	if os.Getenv(childNoCheckpointEnv) == "1" {
		cfg.CheckpointInterval = time.Hour
	}
	if s := os.Getenv(childNoFileEnv); s != "" {
		n, err := strconv.ParseUint(s, 10, 64)
		if err == nil {
			var rl unix.Rlimit
			err = unix.Getrlimit(unix.RLIMIT_NOFILE, &rl)
			rl.Cur = n
			if err == nil {
				err = unix.Setrlimit(unix.RLIMIT_NOFILE, &rl)
			}
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "child dataserver: RLIMIT_NOFILE:", err)
			return 1
		}
	}
	srv, err := New(cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "child dataserver:", err)
		return 1
	}
	if err := srv.Serve(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, "child dataserver:", err)
		return 1
	}
	return 0
}
