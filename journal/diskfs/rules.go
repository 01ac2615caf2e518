package diskfs

import (
	"strings"
	"sync"
)

// Rule fails one kind of operation on matching paths.
type Rule struct {
	Op       Op
	Contains string // paths containing this ("" for every path)
	After    int    // let this many matching operations through first
	Times    int    // fail this many, then let them through again (0: for good)
	Err      error  // the error (wrap it in a TornError to tear writes)
}

// Rules is an Injector of a changing set of Rules: tests add a rule at
// the moment a fault should start, and clear them when the disk is
// "replaced". It is safe for concurrent use.
type Rules struct {
	mu    sync.Mutex
	rules []*ruleState
	hits  int
}

type ruleState struct {
	Rule
	seen, failed int
}

// Add starts failing as r says.
func (rs *Rules) Add(r Rule) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	rs.rules = append(rs.rules, &ruleState{Rule: r})
}

// Clear stops every fault.
func (rs *Rules) Clear() {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	rs.rules = nil
}

// Hits is how many operations have been failed.
func (rs *Rules) Hits() int {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	return rs.hits
}

// Inject fails op on path with the first rule that wants it.
func (rs *Rules) Inject(op Op, path string) error {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	for _, r := range rs.rules {
		if r.Op != op || !strings.Contains(path, r.Contains) {
			continue
		}
		r.seen++
		if r.seen <= r.After || (r.Times > 0 && r.failed >= r.Times) {
			continue
		}
		r.failed++
		rs.hits++
		return r.Err
	}
	return nil
}
