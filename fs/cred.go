package fs

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hanwen/go-fuse/v2/fuse"

	ms "github.com/lis-fs/lis/metaservice"
)

// groupCache remembers processes' supplementary groups for a moment: the
// kernel sends only uid, gid and pid, and the metaservice's permission
// checks (group bits, ACL group entries) need the rest.
type groupCache struct {
	mu      sync.Mutex // guards entries
	entries map[uint32]groupEntry
}

type groupEntry struct {
	groups []uint32
	at     time.Time
}

const groupTTL = time.Second

func (g *groupCache) get(pid uint32) []uint32 {
	if pid == 0 {
		return nil
	}
	now := time.Now()
	g.mu.Lock()
	e, ok := g.entries[pid]
	g.mu.Unlock()
	if ok && now.Sub(e.at) < groupTTL {
		return e.groups
	}
	groups, _ := readGroups(pid) // a process that exited has no groups to add
	g.mu.Lock()
	if len(g.entries) > 4096 {
		clear(g.entries)
	}
	g.entries[pid] = groupEntry{groups: groups, at: now}
	g.mu.Unlock()
	return groups
}

func readGroups(pid uint32) ([]uint32, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), "Groups:")
		if !ok {
			continue
		}
		var out []uint32
		for _, field := range strings.Fields(rest) {
			if g, err := strconv.ParseUint(field, 10, 32); err == nil {
				out = append(out, uint32(g))
			}
		}
		return out, nil
	}
	return nil, sc.Err()
}

// cred is the caller of a request.
func (f *FS) cred(h *fuse.InHeader) *ms.Cred {
	return &ms.Cred{Uid: h.Uid, Gid: h.Gid, Pid: h.Pid, Groups: f.groups.get(h.Pid)}
}
