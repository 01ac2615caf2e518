package geosim

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// lisBin is the lis binary the scenarios run, built once by TestMain.
var lisBin string

func TestMain(m *testing.M) { os.Exit(runTests(m)) }

func runTests(m *testing.M) int {
	if os.Geteuid() == 0 {
		dir, err := os.MkdirTemp("", "geosim-bin")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(dir)
		lisBin = filepath.Join(dir, "lis")
		if out, err := exec.Command("go", "build", "-o", lisBin, "github.com/lis-fs/lis/tools/lis").CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "build lis: %v\n%s", err, out)
			return 1
		}
	}
	return m.Run()
}

// dumpLogs logs the tail of every process's log, for a failed test.
func dumpLogs(t *testing.T, w *World) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, p := range w.procs {
		t.Logf("--- %s (%s) ---\n%s", p.Name, p.Host.Name, p.Tail(4000))
	}
}
