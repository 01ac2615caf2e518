package testlock

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// Path is the lock file, shared by every test package on the machine.
var Path = filepath.Join(os.TempDir(), "lis-cluster-tests.lock")

// Hold takes the lock, waiting while another test package holds it, and
// returns the function that releases it. The kernel releases it too if
// the test binary dies.
func Hold() (release func(), err error) {
	f, err := os.OpenFile(Path, os.O_CREATE|os.O_RDWR, 0o666)
	if err != nil {
		return nil, fmt.Errorf("test lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("test lock %s: %w", Path, err)
	}
	return func() {
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}
