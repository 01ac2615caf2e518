package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// rssSampler follows the resident memory of the Lis daemon (whichever
// process serves the mount at the moment: a remount starts a new one).
// It is owned by Run, which stops it through the context it started with.
type rssSampler struct {
	pid func() int

	mu   sync.Mutex // guards the fields below
	peak uint64     // highest VmRSS sampled since reset, bytes
	hwm  uint64     // highest VmHWM seen over the whole run, bytes
	last uint64     // latest VmRSS, bytes
}

// startRSS samples every 100 ms until ctx ends.
func startRSS(ctx context.Context, pid func() int) *rssSampler {
	s := &rssSampler{pid: pid}
	go func() {
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			s.sample()
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return s
}

func (s *rssSampler) sample() {
	pid := s.pid()
	if pid == 0 {
		return
	}
	rss, hwm, err := procMemory(pid)
	if err != nil {
		return // between daemons during a remount
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.peak, s.hwm, s.last = max(s.peak, rss), max(s.hwm, hwm), rss
}

// reset starts a new phase and returns the peak of the one that ended
// (sampled VmRSS, so a spike shorter than 100 ms can be missed; hwm
// catches those) and the current RSS.
func (s *rssSampler) reset() (peak, now uint64) {
	s.sample()
	s.mu.Lock()
	defer s.mu.Unlock()
	peak, now = s.peak, s.last
	s.peak = s.last
	return peak, now
}

// highWater is the largest VmHWM of any Lis daemon in the run.
func (s *rssSampler) highWater() uint64 {
	s.sample()
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hwm
}

// procMemory reads VmRSS and VmHWM of pid, in bytes.
func procMemory(pid int) (rss, hwm uint64, err error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok || (k != "VmRSS" && k != "VmHWM") {
			continue
		}
		n, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("/proc/%d/status %s: %w", pid, k, err)
		}
		if k == "VmRSS" {
			rss = n << 10
		} else {
			hwm = n << 10
		}
	}
	return rss, hwm, sc.Err()
}
