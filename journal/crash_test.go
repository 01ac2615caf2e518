package journal

import (
	"bufio"
	"context"
	"encoding/binary"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

var crashRounds = flag.Int("crash-rounds", 6, "SIGKILL rounds of TestCrashRecovery")

const (
	crashDirEnv = "LIS_JOURNAL_CRASH_DIR"
	crashGenEnv = "LIS_JOURNAL_CRASH_GEN"
	crashSeg    = 256 << 10
	crashKeep   = 1000 // records the owner keeps unreleased (~16 segments)
)

// crashPayload is the self-describing payload of record seq of writer w in
// child generation gen: a header naming it, then bytes derived from it.
func crashPayload(gen, w uint32, seq uint64) []byte {
	r := rand.New(rand.NewPCG(uint64(gen)<<32|uint64(w), seq))
	n := 16 + r.IntN(8000)
	b := make([]byte, n)
	binary.LittleEndian.PutUint32(b[0:], gen)
	binary.LittleEndian.PutUint32(b[4:], w)
	binary.LittleEndian.PutUint64(b[8:], seq)
	for i := 16; i < n; i++ {
		b[i] = byte(r.Uint32())
	}
	return b
}

type crashID struct {
	gen, w uint32
	seq    uint64
}

// parseCrashPayload checks a payload against crashPayload and names it.
func parseCrashPayload(b []byte) (crashID, error) {
	if len(b) < 16 {
		return crashID{}, fmt.Errorf("payload of %d bytes", len(b))
	}
	id := crashID{binary.LittleEndian.Uint32(b[0:]), binary.LittleEndian.Uint32(b[4:]), binary.LittleEndian.Uint64(b[8:])}
	if want := crashPayload(id.gen, id.w, id.seq); string(want) != string(b) {
		return id, fmt.Errorf("payload of %+v differs from what was written", id)
	}
	return id, nil
}

// TestCrashChild is the child process of TestCrashRecovery: it appends and
// syncs from several writers, consumes and releases, until it is killed.
// For each Sync that returned it prints "S lsn gen writer seq" (the last
// record that writer appended, which the Sync covered).
func TestCrashChild(t *testing.T) {
	dir := os.Getenv(crashDirEnv)
	if dir == "" {
		t.Skip("runs only as the child of TestCrashRecovery")
	}
	gen, err := strconv.Atoi(os.Getenv(crashGenEnv))
	require.NoError(t, err)
	opts := testOptions(dir)
	opts.SegmentSize = crashSeg
	opts.SyncInterval = 20 * time.Millisecond
	l := openTest(t, opts)
	c, err := l.Consumer("c")
	require.NoError(t, err)

	var outMu sync.Mutex
	say := func(s string) {
		outMu.Lock()
		defer outMu.Unlock()
		os.Stdout.WriteString(s)
	}
	go func() { // the consumer acks what it reads; the owner releases lagging behind
		for {
			recs, err := c.Next(context.Background(), 100, 1<<20)
			if err != nil {
				return
			}
			last := recs[len(recs)-1].LSN
			if c.Ack(last) != nil {
				return
			}
			if last > crashKeep && l.Release(last-crashKeep) != nil {
				return
			}
		}
	}()
	for w := uint32(0); w < 4; w++ {
		go func() {
			r := rand.New(rand.NewPCG(uint64(gen), uint64(w)))
			for seq := uint64(0); ; seq++ {
				var lsn LSN
				var err error
				if r.IntN(5) == 0 { // a batch of two records
					lsn, err = l.AppendBatch([][]byte{crashPayload(uint32(gen), w, seq), crashPayload(uint32(gen), w, seq+1)})
					seq++
					lsn++
				} else {
					lsn, err = l.Append(crashPayload(uint32(gen), w, seq))
				}
				if err != nil {
					say(fmt.Sprintf("E %v\n", err))
					return
				}
				if r.IntN(3) == 0 {
					if err := l.Sync(context.Background(), lsn); err != nil {
						say(fmt.Sprintf("E %v\n", err))
						return
					}
					say(fmt.Sprintf("S %d %d %d %d\n", lsn, gen, w, seq))
				}
			}
		}()
	}
	select {} // until SIGKILL
}

// TestCrashRecovery SIGKILLs a child appending and syncing at random
// points, several times, and checks after each kill that every record whose
// Sync returned is present and intact, that the log is a prefix of what was
// appended, and that segment deletion never outran the persisted positions.
func TestCrashRecovery(t *testing.T) {
	if os.Getenv(crashDirEnv) != "" {
		t.Skip("child")
	}
	dir := t.TempDir()
	model := map[LSN]crashID{} // what each acknowledged LSN must hold
	for gen := 1; gen <= *crashRounds; gen++ {
		// Kill at a random point: after a random number of acknowledged
		// syncs, plus a random delay (progress-based, so a slow machine
		// only makes the test slower).
		synced := runCrashChild(t, dir, gen, 1+rand.IntN(1500), time.Duration(rand.IntN(20))*time.Millisecond)
		for lsn, id := range synced {
			if old, ok := model[lsn]; ok && old != id {
				t.Fatalf("LSN %d acknowledged twice: %+v then %+v", lsn, old, id)
			}
			model[lsn] = id
		}
		checkCrashedLog(t, dir, model, gen)
	}
}

// runCrashChild runs one child generation until it has reported n synced
// records, lets it run for d more, kills it, and returns what it reported
// as synced.
func runCrashChild(t *testing.T, dir string, gen, n int, d time.Duration) map[LSN]crashID {
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashDirEnv+"="+dir, crashGenEnv+"="+strconv.Itoa(gen))
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	synced := map[LSN]crashID{}
	reached := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(out)
		var err error
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "S "):
				var lsn LSN
				var id crashID
				if _, perr := fmt.Sscanf(line, "S %d %d %d %d", &lsn, &id.gen, &id.w, &id.seq); perr != nil && err == nil {
					err = fmt.Errorf("bad line %q: %v", line, perr)
				}
				synced[lsn] = id
				if len(synced) == n {
					close(reached)
				}
			case strings.HasPrefix(line, "E ") && err == nil:
				err = fmt.Errorf("child: %s", line)
			}
		}
		done <- err
	}()
	select {
	case <-reached:
	case err := <-done:
		cmd.Wait()
		t.Fatalf("child gen %d exited before it was killed: %v", gen, err)
	}
	time.Sleep(d)
	require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
	require.NoError(t, <-done)
	require.Error(t, cmd.Wait(), "killed")
	return synced
}

// checkCrashedLog reopens the log after a kill and checks it.
func checkCrashedLog(t *testing.T, dir string, model map[LSN]crashID, gen int) {
	opts := testOptions(dir)
	opts.SegmentSize = crashSeg
	l := openTest(t, opts)
	defer func() { require.NoError(t, l.Close()) }()
	first, last := l.FirstLSN(), l.LastLSN()
	c, err := l.Consumer("c")
	require.NoError(t, err)
	// Deletion is justified by persisted positions only.
	require.LessOrEqual(t, first-1, c.Position(), "gen %d: consumer position below the log", gen)
	require.LessOrEqual(t, first-1, l.Released(), "gen %d: release point below the log", gen)

	stored := map[LSN]crashID{}
	lastSeq := map[[2]uint32]uint64{}
	prev, prevGen := first-1, uint32(0)
	require.NoError(t, l.ReadFrom(first, func(r Record) error {
		require.Equal(t, prev+1, r.LSN, "LSNs are contiguous")
		prev = r.LSN
		id, err := parseCrashPayload(r.Data)
		require.NoError(t, err, "LSN %d", r.LSN)
		require.GreaterOrEqual(t, id.gen, prevGen, "generations in order")
		prevGen = id.gen
		// Each writer's records are a gap-free run: the log is a prefix of
		// what was appended (a writer's records are appended in order).
		k := [2]uint32{id.gen, id.w}
		if s, ok := lastSeq[k]; ok {
			require.Equal(t, s+1, id.seq, "writer %v: LSN %d", k, r.LSN)
		}
		lastSeq[k] = id.seq
		stored[r.LSN] = id
		return nil
	}))
	require.Equal(t, last, prev)
	checked := 0
	for lsn, id := range model {
		if lsn < first {
			continue // consumed, released and deleted
		}
		checked++
		got, ok := stored[lsn]
		require.True(t, ok, "gen %d: synced LSN %d lost (log ends at %d)", gen, lsn, last)
		require.Equal(t, id, got, "gen %d: synced LSN %d", gen, lsn)
	}
	t.Logf("gen %d: records %d..%d stored, %d acknowledged records still stored and intact; recovery %+v",
		gen, first, last, checked, l.Recovered())
}
