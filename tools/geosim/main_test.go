package geosim

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/lis-fs/lis/tools/testlock"
)

// lisBin is the lis binary the scenarios run, built once by TestMain.
var lisBin string

func TestMain(m *testing.M) { os.Exit(runTests(m)) }

func runTests(m *testing.M) int {
	if os.Geteuid() == 0 {
		release, err := testlock.Hold() // not alongside tools/lis's clusters
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer release()
		dir, err := os.MkdirTemp("", "geosim-bin")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(dir)
		lisBin = filepath.Join(dir, "lis")
		const lis = "github.com/lis-fs/lis/tools/lis"
		if out, err := exec.Command("go", "build", "-o", lisBin, lis).CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "build lis: %v\n%s", err, out)
			return 1
		}
		if lisSources, err = sourcesOf(lis); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}
	return m.Run()
}

// lisSources are the Go files the lis binary is built from.
var lisSources []string

// sourcesOf lists the Go files of pkg and the packages it imports.
func sourcesOf(pkg string) ([]string, error) {
	out, err := exec.Command("go", "list", "-deps", "-f",
		`{{if not .Standard}}{{range .GoFiles}}{{$.Dir}}/{{.}}
{{end}}{{end}}`, pkg).Output()
	if err != nil {
		return nil, fmt.Errorf("go list %s: %w", pkg, err)
	}
	return strings.Fields(string(out)), nil
}

var readSources sync.Once

// readLisSources reads the lis binary's sources. The scenarios run that
// binary, which this test binary does not link; reading its sources puts
// them among the inputs go test's cache checks, so a result is never
// reused once any of them changed.
func readLisSources() {
	readSources.Do(func() {
		for _, f := range lisSources {
			os.ReadFile(f)
		}
	})
}

// dumpLogs logs the tail of every process's log, for a failed test.
func dumpLogs(t *testing.T, w *World) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, p := range w.procs {
		t.Logf("--- %s (%s) ---\n%s", p.Name, p.Host.Name, p.Tail(4000))
	}
}
