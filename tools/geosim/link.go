package geosim

import (
	"math/rand/v2"
	"time"
)

// LinkParams describe one direction of a link between two sites.
type LinkParams struct {
	Delay      time.Duration // one way
	Rate       int64         // bits per second; 0 is unlimited
	Loss       float64       // probability that a packet is dropped
	QueueBytes int           // drop-tail buffer ahead of the rate; 0: one round trip's worth at Rate
}

// queueLimit is the drop-tail buffer in bytes.
func (p LinkParams) queueLimit() int64 {
	if p.QueueBytes > 0 {
		return int64(p.QueueBytes)
	}
	if p.Rate == 0 {
		return 1 << 62
	}
	// The classic rule for a router port: one round trip's worth at the
	// rate (the delay both ways), at least 1 MiB.
	return max(p.Rate/8*int64(2*p.Delay)/int64(time.Second), 1<<20)
}

// LinkStats count what a link did with the packets offered to it.
type LinkStats struct {
	Packets, Bytes   int64 // admitted by the model (Router.Stats: delivered)
	LossDrops        int64
	QueueDrops       int64
	PartitionDrops   int64
	MaxQueueBytes    int64
	lastDeliveryTime time.Time
}

// linkModel is one direction of a link: a FIFO served at Rate after which
// each packet travels for Delay. It decides, for each packet as it
// arrives, whether it is dropped and when it is delivered. It does no I/O
// and reads no clock: the caller passes the time, so it is tested by
// table. Not safe for concurrent use: the Router serialises calls.
//
// Invariant: delivery times never go backwards, so a link is a FIFO and
// its deliveries can be made by one loop in arrival order.
type linkModel struct {
	p           LinkParams
	partitioned bool
	busyUntil   time.Time // when the last admitted packet finishes serialising
	rng         *rand.Rand
	stats       LinkStats
}

func newLinkModel(p LinkParams, seed uint64) *linkModel {
	return &linkModel{p: p, rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
}

// admit offers a packet of size bytes to the link at now. It returns when
// the packet reaches the far end, or false if it is dropped.
func (l *linkModel) admit(now time.Time, size int) (time.Time, bool) {
	if l.partitioned {
		l.stats.PartitionDrops++
		return time.Time{}, false
	}
	if l.p.Loss > 0 && l.rng.Float64() < l.p.Loss {
		l.stats.LossDrops++
		return time.Time{}, false
	}
	start := now
	if l.busyUntil.After(now) {
		start = l.busyUntil
	}
	if l.p.Rate > 0 {
		backlog := int64(start.Sub(now)) * l.p.Rate / 8 / int64(time.Second)
		if backlog+int64(size) > l.p.queueLimit() {
			l.stats.QueueDrops++
			return time.Time{}, false
		}
		l.stats.MaxQueueBytes = max(l.stats.MaxQueueBytes, backlog+int64(size))
		start = start.Add(time.Duration(int64(size) * 8 * int64(time.Second) / l.p.Rate))
	}
	l.busyUntil = start
	at := start.Add(l.p.Delay)
	if at.Before(l.stats.lastDeliveryTime) { // a lowered delay: keep FIFO order
		at = l.stats.lastDeliveryTime
	}
	l.stats.lastDeliveryTime = at
	l.stats.Packets++
	l.stats.Bytes += int64(size)
	return at, true
}
