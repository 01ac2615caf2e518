package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestE2EInterruptedWriteReturns: a write waiting for a chunk's lease (the
// lease is held by a dataserver that stopped answering, so it can only
// expire, a minute on) ends as soon as its process is killed: the kernel
// interrupts the request, and the client stops waiting instead of holding
// the killed process for the lease's minute.
func TestE2EInterruptedWriteReturns(t *testing.T) {
	needE2E(t)
	_, sites := startSites(t, "perth", "london")
	perth, london := sites["perth"], sites["london"]
	require.NoError(t, os.WriteFile(filepath.Join(london.mnt, "f"), make([]byte, 4096), 0o644)) // london's lease
	require.NoError(t, london.ds.cmd.Process.Signal(syscall.SIGSTOP))
	t.Cleanup(func() { london.ds.cmd.Process.Signal(syscall.SIGCONT) })

	dd := exec.Command("dd", "if=/dev/zero", "of="+filepath.Join(perth.mnt, "f"), "bs=4096", "count=1", "conv=notrunc")
	require.NoError(t, dd.Start())
	done := make(chan error, 1)
	go func() { done <- dd.Wait() }()
	select {
	case err := <-done:
		t.Fatalf("the write in perth did not wait for london's lease: %v", err)
	case <-time.After(3 * time.Second):
	}
	require.NoError(t, dd.Process.Kill())
	killed := time.Now()
	select {
	case <-done:
		t.Logf("the killed writer was gone %v after SIGKILL", time.Since(killed).Round(time.Millisecond))
	case <-time.After(30 * time.Second): // the lease it waited for lasts a minute
		t.Fatal("a killed writer still waits for the lease: the interrupt did not end the write")
	}
	require.NoError(t, london.ds.cmd.Process.Signal(syscall.SIGCONT))
	data, err := os.ReadFile(filepath.Join(perth.mnt, "f"))
	require.NoError(t, err, "the file reads after the interrupted write")
	require.Len(t, data, 4096)
}
