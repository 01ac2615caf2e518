package policy

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// FileName is the name of the file that gives a directory its policy.
const FileName = ".lis-policy.yaml"

// DefaultName names the built-in policy Default returns.
const DefaultName = "balanced"

// Bounds the parser and Validate enforce.
const (
	MaxCopies           = 16   // target_copies, total or per region
	MaxRegions          = 16   // entries of regions
	MaxLimitBytesPerSec = 1e12 // bandwidth.limit (1 TB/s)
	MaxFileSize         = 64 << 10
)

// WriteAck says when a write is acknowledged to the client.
type WriteAck string

// The write_ack values.
const (
	LocalOnly    WriteAck = "local_only"     // durable on the writer's site
	LocalPlusOne WriteAck = "local_plus_one" // ... and on one more dataserver
	Geographic   WriteAck = "geographic"     // ... and in another region
)

var writeAcks = []WriteAck{LocalOnly, LocalPlusOne, Geographic}

// Replication says how the copies beyond the acknowledged ones are made.
type Replication string

// The replication values.
const (
	AsyncLazy     Replication = "async_lazy"     // in the background, when the link is idle
	AsyncPriority Replication = "async_priority" // in the background, as soon as possible
	Sync          Replication = "sync"           // all copies before the write is acknowledged
)

var replications = []Replication{AsyncLazy, AsyncPriority, Sync}

// Policy is the replication policy of a directory's subtree. The zero value
// is not valid; start from Default or Parse.
//
// Invariants of a valid policy (Validate): WriteAck and Replication are
// among the constants above; 1 <= TargetCopies <= MaxCopies; Regions holds
// distinct region names and is nil rather than empty; when Regions is
// listed and PerRegion is false, TargetCopies >= len(Regions);
// local_plus_one has at least two copies; geographic has PerRegion or at
// least two Regions.
type Policy struct {
	WriteAck    WriteAck
	Replication Replication
	// TargetCopies is the number of copies of every chunk: in total, or in
	// each region when PerRegion is set (target_copies: "N_per_region").
	TargetCopies int
	PerRegion    bool
	// Regions lists the regions that hold copies; nil means any (or, with
	// PerRegion, every region of the cluster).
	Regions   []string
	Bandwidth Bandwidth
}

// Bandwidth bounds the replication traffic of files under a policy. The
// zero value is unlimited.
type Bandwidth struct {
	// LimitBytesPerSec caps replication traffic leaving a site outside
	// priority hours; 0 means unlimited.
	LimitBytesPerSec int64
	// PriorityHours is the daily window in which the limit is lifted and
	// lazy replication is scheduled; nil means no window.
	PriorityHours *HourRange
	// BurstAllowed lets replication exceed the limit briefly while the
	// link is otherwise idle.
	BurstAllowed bool
}

// HourRange is a daily window of local time, [StartMin, EndMin) in minutes
// after midnight. It wraps past midnight when EndMin < StartMin.
// Invariant: 0 <= StartMin < 1440, 0 <= EndMin <= 1440, StartMin != EndMin.
type HourRange struct{ StartMin, EndMin int }

// Default returns the built-in "balanced" policy, the root's policy when it
// has no policy file: two copies, a write acknowledged once it is on a
// second dataserver, the rest replicated in the background as soon as
// possible, no bandwidth limit.
func Default() Policy {
	return Policy{WriteAck: LocalPlusOne, Replication: AsyncPriority, TargetCopies: 2}
}

// defaultWriteAck is write_ack's value when a file does not give it: the
// balanced default unless that cannot be met with the copies asked for.
func defaultWriteAck(p Policy) WriteAck {
	if p.TargetCopies == 1 && !p.PerRegion {
		return LocalOnly
	}
	return LocalPlusOne
}

// Contains reports whether t's wall-clock time, in t's location, falls in
// the window. Callers pass the time in the sending site's local zone.
func (h HourRange) Contains(t time.Time) bool {
	m := t.Hour()*60 + t.Minute()
	if h.StartMin < h.EndMin {
		return h.StartMin <= m && m < h.EndMin
	}
	return m >= h.StartMin || m < h.EndMin
}

// String returns the window as "HH:MM-HH:MM".
func (h HourRange) String() string {
	return fmt.Sprintf("%02d:%02d-%02d:%02d", h.StartMin/60, h.StartMin%60, h.EndMin/60, h.EndMin%60)
}

// Equal reports whether p and q are the same policy.
func (p Policy) Equal(q Policy) bool {
	hp, hq := p.Bandwidth.PriorityHours, q.Bandwidth.PriorityHours
	return p.WriteAck == q.WriteAck && p.Replication == q.Replication &&
		p.TargetCopies == q.TargetCopies && p.PerRegion == q.PerRegion &&
		slices.Equal(p.Regions, q.Regions) &&
		p.Bandwidth.LimitBytesPerSec == q.Bandwidth.LimitBytesPerSec &&
		p.Bandwidth.BurstAllowed == q.Bandwidth.BurstAllowed &&
		(hp == nil) == (hq == nil) && (hp == nil || *hp == *hq)
}

// String summarizes the policy on one line, for logs and status output.
func (p Policy) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "write_ack=%s replication=%s copies=%s", p.WriteAck, p.Replication, p.copiesString())
	if len(p.Regions) > 0 {
		fmt.Fprintf(&b, " regions=%s", strings.Join(p.Regions, ","))
	}
	if p.Bandwidth.LimitBytesPerSec > 0 {
		fmt.Fprintf(&b, " limit=%s", FormatRate(p.Bandwidth.LimitBytesPerSec))
	}
	if h := p.Bandwidth.PriorityHours; h != nil {
		fmt.Fprintf(&b, " priority_hours=%s", h)
	}
	if p.Bandwidth.BurstAllowed {
		b.WriteString(" burst_allowed")
	}
	return b.String()
}

func (p Policy) copiesString() string {
	if p.PerRegion {
		return fmt.Sprintf("%d_per_region", p.TargetCopies)
	}
	return fmt.Sprint(p.TargetCopies)
}

// Validate checks the invariants of Policy. Its error is a *ParseError
// without a line number (wrapping syscall.EINVAL).
func (p Policy) Validate() error {
	if pr := p.check(); pr != nil {
		return &ParseError{Field: pr.field, Msg: pr.msg}
	}
	return nil
}

// problem is one violated rule: the key it is about, an alternative key to
// point at when the file does not mention the first, and what is wrong.
type problem struct{ field, alt, msg string }

// locationName is the rule for site and region names, wherever they
// appear: policies, dataservers, shards.
var locationName = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,62}$`)

const locationRule = "lower-case letters, digits, '-' and '_', starting with a letter, at most 63 long"

// CheckLocation checks a site or region name (kind says which, for the
// message) against the one rule Lis has for them.
func CheckLocation(kind, name string) error {
	if !locationName.MatchString(name) {
		return fmt.Errorf("%s names are %s; got %s", kind, locationRule, quote(name))
	}
	return nil
}

// check returns the first rule p breaks, in the order the keys appear in a
// canonical file, or nil.
func (p Policy) check() *problem {
	if !slices.Contains(writeAcks, p.WriteAck) {
		return &problem{field: "write_ack", msg: oneOf(writeAcks, quote(string(p.WriteAck)))}
	}
	if !slices.Contains(replications, p.Replication) {
		return &problem{field: "replication", msg: oneOf(replications, quote(string(p.Replication)))}
	}
	if p.TargetCopies < 1 || p.TargetCopies > MaxCopies {
		return &problem{field: "target_copies", msg: fmt.Sprintf("must be between 1 and %d, got %d", MaxCopies, p.TargetCopies)}
	}
	if pr := checkRegions(p.Regions); pr != nil {
		return pr
	}
	if n := len(p.Regions); n > 0 && !p.PerRegion && p.TargetCopies < n {
		return &problem{field: "target_copies", alt: "regions", msg: fmt.Sprintf(
			"%d regions are listed but target_copies is %d: each listed region holds a copy, "+
				"so use target_copies of at least %d, or \"N_per_region\"", n, p.TargetCopies, n)}
	}
	switch {
	case p.WriteAck == LocalPlusOne && !p.PerRegion && p.TargetCopies < 2:
		return &problem{field: "write_ack", alt: "target_copies", msg: fmt.Sprintf(
			"local_plus_one needs at least 2 copies, but target_copies is %d", p.TargetCopies)}
	case p.WriteAck == Geographic && !p.PerRegion && len(p.Regions) < 2:
		return &problem{field: "write_ack", msg: `geographic needs copies in several regions: ` +
			`list at least two regions (regions: [perth, london]) or set target_copies to "N_per_region"`}
	}
	return p.Bandwidth.check()
}

func checkRegions(regions []string) *problem {
	if regions != nil && len(regions) == 0 {
		return &problem{field: "regions", msg: "must be nil rather than empty"}
	}
	if len(regions) > MaxRegions {
		return &problem{field: "regions", msg: fmt.Sprintf("at most %d regions may be listed, got %d", MaxRegions, len(regions))}
	}
	for i, r := range regions {
		field := fmt.Sprintf("regions[%d]", i)
		if err := CheckLocation("region", r); err != nil {
			return &problem{field: field, msg: err.Error()}
		}
		if j := slices.Index(regions[:i], r); j >= 0 {
			return &problem{field: field, msg: fmt.Sprintf("%s is listed twice (also regions[%d])", quote(r), j)}
		}
	}
	return nil
}

func (b Bandwidth) check() *problem {
	if l := b.LimitBytesPerSec; l < 0 || l > MaxLimitBytesPerSec {
		return &problem{field: "bandwidth.limit", msg: fmt.Sprintf("must be between 1 B/s and 1 TB/s, or unlimited; got %d B/s", l)}
	}
	if h := b.PriorityHours; h != nil {
		if h.StartMin < 0 || h.StartMin >= 24*60 || h.EndMin < 0 || h.EndMin > 24*60 {
			return &problem{field: "bandwidth.priority_hours", msg: fmt.Sprintf("minutes out of range: %d-%d", h.StartMin, h.EndMin)}
		}
		if h.StartMin == h.EndMin {
			return &problem{field: "bandwidth.priority_hours", msg: "start and end are equal: omit priority_hours for no window, or use 00:00-24:00 for all day"}
		}
	}
	return nil
}

// oneOf is the message for a value outside an enumeration; got describes
// the value found (quoted, or "a list", ...).
func oneOf[T ~string](allowed []T, got string) string {
	names := make([]string, len(allowed))
	for i, a := range allowed {
		names[i] = string(a)
	}
	return fmt.Sprintf("must be one of %s, got %s", strings.Join(names, ", "), got)
}

// quote quotes a value from a policy file for an error message, cut to a
// readable length.
func quote(s string) string {
	const max = 40
	if len(s) <= max {
		return strconv.Quote(s)
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return strconv.Quote(s[:cut]) + "..."
}

// Unapplied says which parts of p Lis takes but does not apply, so that a
// user is told rather than left to find out: replication bandwidth is
// budgeted per dataserver (the link out of a site is what it protects,
// and every policy's traffic shares it), so a policy's own bandwidth
// section is kept but not enforced.
func (p Policy) Unapplied() []string {
	if p.Bandwidth == (Bandwidth{}) {
		return nil
	}
	return []string{"bandwidth: is set per dataserver (lis dataserver --replication-limit, --priority-hours, " +
		"--replication-burst); this policy's bandwidth section is not applied"}
}
