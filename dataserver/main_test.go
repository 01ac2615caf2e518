package dataserver

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// childDirEnv makes the test binary run a dataserver instead of the tests
// (see TestCrashRecovery).
const childDirEnv = "LIS_DS_CHILD_DIR"

func TestMain(m *testing.M) {
	if dir := os.Getenv(childDirEnv); dir != "" {
		os.Exit(runChild(dir))
	}
	os.Exit(m.Run())
}

// runChild serves a dataserver on DIR/ds.sock until killed.
func runChild(dir string) int {
	srv, err := New(Config{
		Dir: dir, ID: "child", Unix: filepath.Join(dir, "ds.sock"), NoLeases: true,
		Logger: testLogger(), CheckpointInterval: 100 * time.Millisecond,
		JournalSegmentSize: 1 << 20, ApplyDelay: time.Millisecond,
	})
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
