package registry

import (
	"fmt"
	"strings"
	"time"

	"github.com/lis-fs/lis/metaservice/policy"
)

// Heartbeat is what a dataserver reports every few seconds; its first one
// registers it.
type Heartbeat struct {
	_msgpack struct{} `msgpack:",as_array"`

	ID     string
	Addr   string // where peers and remote clients reach it (host:port, or unix:/path on one machine)
	Site   string
	Region string
	// Capacity and Free are the bytes it may hold in all and has left,
	// free space net of the reserve it keeps for its own checkpoints.
	Capacity int64
	Free     int64
	// JournalBytes is its journal backlog: mutations not yet checkpointed
	// or not yet acknowledged by every replica.
	JournalBytes int64
	// Behind counts chunk copies on other dataservers that lag behind
	// this one's version (replication progress).
	Behind int
	// Copies reports what the replicas of chunks this dataserver ships
	// hold durably, for those whose acknowledgements moved since the
	// last heartbeat: a batch, so that the chunk records learn replica
	// versions without a metaservice transaction per write. Not kept in
	// the registry.
	Copies []CopyVersion
	// AdminToken is what the metaservice presents on the dataserver's
	// admin calls (dataserver/admin.go); never shown to clients.
	AdminToken string
	// Peers and Danger are its census (report.go); ReplRate is the
	// replication traffic it sent over the last interval, in bytes/s on
	// the wire, against ReplLimit (0: unlimited).
	Peers     []PeerLag
	Danger    Danger
	ReplRate  int64
	ReplLimit int64
	// Started is when the dataserver process started, Unix ns.
	Started int64
	// Damaged names the copies here with bad blocks (at most
	// MaxDangerChunks of them; DamagedCount counts them all).
	Damaged      []DamagedChunk
	DamagedCount int
	// Fault describes the disk faults the dataserver has now (a failed
	// journal, chunk files it cannot write, failing checkpoints), or is
	// empty. No new copies are placed on a dataserver with a fault.
	Fault string
	// Quarantined names the copies it keeps in quarantine (at most
	// MaxDangerChunks of them; QuarantinedCount counts them all).
	Quarantined      []QuarantinedCopy
	QuarantinedCount int
}

// CopyVersion is the durable version of one chunk's copy on one
// dataserver, and where the chunk's record is (its file and index).
type CopyVersion struct {
	_msgpack struct{} `msgpack:",as_array"`

	Ino        uint64
	Index      uint32
	Chunk      uint64
	Dataserver string
	Version    uint64
}

// Dataserver is a registered dataserver: its last heartbeat, and when it
// registered and last beat by the metaservice's clock (Unix nanoseconds).
type Dataserver struct {
	_msgpack struct{} `msgpack:",as_array"`

	Heartbeat
	Registered int64
	LastBeat   int64
}

// Liveness is how recently a dataserver was heard from.
type Liveness int

const (
	Up Liveness = iota
	Suspect
	Down
)

func (l Liveness) String() string {
	switch l {
	case Up:
		return "up"
	case Suspect:
		return "suspect"
	}
	return "down"
}

// Timeouts turn heartbeat age into liveness.
type Timeouts struct {
	Suspect time.Duration // silent this long: suspect (default 10s)
	Down    time.Duration // silent this long: down (default 60s)
}

// WithDefaults fills in the zero fields.
func (t Timeouts) WithDefaults() Timeouts {
	if t.Suspect <= 0 {
		t.Suspect = 10 * time.Second
	}
	if t.Down <= 0 {
		t.Down = 60 * time.Second
	}
	t.Down = max(t.Down, t.Suspect)
	return t
}

// Liveness of d at now.
func (t Timeouts) Liveness(d *Dataserver, now time.Time) Liveness {
	age := now.Sub(time.Unix(0, d.LastBeat))
	switch {
	case age >= t.Down:
		return Down
	case age >= t.Suspect:
		return Suspect
	}
	return Up
}

// CheckID validates a dataserver ID: it names the dataserver in leases,
// replica lists and the registry.
func CheckID(id string) error {
	if id == "" || len(id) > 128 || strings.ContainsAny(id, "=\n\x00/ ") {
		return fmt.Errorf("dataserver ID %q: 1 to 128 characters, none of '=', '/', space, newline or NUL", id)
	}
	return nil
}

// Check validates a heartbeat's fields.
func (h *Heartbeat) Check() error {
	if err := CheckID(h.ID); err != nil {
		return err
	}
	switch {
	case h.Addr == "" || strings.ContainsAny(h.Addr, "\n\x00"):
		return fmt.Errorf("dataserver %s: address %q", h.ID, h.Addr)
	case h.Capacity < 0 || h.Free < 0 || h.JournalBytes < 0 || h.Behind < 0:
		return fmt.Errorf("dataserver %s: negative figures in its heartbeat", h.ID)
	}
	for _, l := range [][2]string{{"site", h.Site}, {"region", h.Region}} {
		if l[1] != "" { // a dataserver of one machine may have neither
			if err := policy.CheckLocation(l[0], l[1]); err != nil {
				return fmt.Errorf("dataserver %s: %w", h.ID, err)
			}
		}
	}
	return nil
}

// ErrTaken is returned by Admit when a live dataserver holds the ID.
type ErrTaken struct {
	ID, Addr, Claimant string
	Silent             time.Duration
}

func (e *ErrTaken) Error() string {
	return fmt.Sprintf("dataserver ID %s is held by a live dataserver at %s (last heartbeat %s ago); "+
		"refusing it to %s: give this one another --id, or stop the other", e.ID, e.Addr,
		e.Silent.Round(time.Millisecond), e.Claimant)
}

// Admit applies heartbeat h, received at now, to the record old (nil for
// a new ID) and returns the new record. A heartbeat from another address
// than a record that is not down is refused with *ErrTaken: two
// dataservers must never share an ID, or each would take the other's
// leases and copies for its own.
func (t Timeouts) Admit(old *Dataserver, h Heartbeat, now time.Time) (*Dataserver, error) {
	if err := h.Check(); err != nil {
		return nil, err
	}
	d := &Dataserver{Heartbeat: h, Registered: now.UnixNano(), LastBeat: now.UnixNano()}
	if old == nil {
		return d, nil
	}
	if old.Addr != h.Addr && t.Liveness(old, now) != Down {
		return nil, &ErrTaken{ID: h.ID, Addr: old.Addr, Claimant: h.Addr, Silent: now.Sub(time.Unix(0, old.LastBeat))}
	}
	if old.Addr == h.Addr {
		d.Registered = old.Registered
	}
	return d, nil
}
