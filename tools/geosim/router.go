package geosim

import (
	"context"
	"errors"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// queueDepth bounds the packets waiting on one directed link: 64 Ki
// packets hold a 250 ms × 1 Gbit/s pipe at any MTU from 1,000 bytes.
const queueDepth = 1 << 16

// Router forwards IP packets between the sites' TUN devices through one
// linkModel per direction per pair of sites. It owns one read loop per
// site and one delivery loop per directed link; Close stops them all.
type Router struct {
	ports []*os.File // by site index: that site's gateway TUN
	pool  sync.Pool  // packet buffers, MTU-sized

	mu    sync.Mutex // guards links (models and their stats)
	links [][]*linkModel

	queues    [][]chan packet
	delivered [][]deliveredCount // written into the far site's TUN, per link
	ctx       context.Context
	cancel    context.CancelFunc
	wg        sync.WaitGroup
}

// deliveredCount is what a link has handed to the far end: the bytes on
// the wire as a receiver sees them (a burst admitted faster than the rate
// waits in the link's queue and is not counted until it leaves).
type deliveredCount struct{ packets, bytes atomic.Int64 }

// packet is one IP packet on its way, due at its far end at at.
type packet struct {
	buf *[]byte
	n   int
	at  time.Time
}

// NewRouter starts forwarding between ports (one per site, in site order)
// with params(from, to) for each direction. mtu is the largest packet.
func NewRouter(ports []*os.File, mtu int, params func(from, to int) LinkParams) *Router {
	r := &Router{ports: ports}
	r.pool.New = func() any { b := make([]byte, mtu+64); return &b }
	r.ctx, r.cancel = context.WithCancel(context.Background())
	n := len(ports)
	r.links, r.queues, r.delivered = make([][]*linkModel, n), make([][]chan packet, n), make([][]deliveredCount, n)
	for from := range n {
		r.links[from], r.queues[from], r.delivered[from] = make([]*linkModel, n), make([]chan packet, n), make([]deliveredCount, n)
		for to := range n {
			if from == to {
				continue
			}
			r.links[from][to] = newLinkModel(params(from, to), uint64(from*n+to+1))
			r.queues[from][to] = make(chan packet, queueDepth)
			r.wg.Add(1)
			go r.deliverLoop(r.queues[from][to], ports[to], &r.delivered[from][to])
		}
		r.wg.Add(1)
		go r.readLoop(from)
	}
	return r
}

// Close stops forwarding and closes the TUN devices (which removes them).
func (r *Router) Close() {
	r.cancel()
	for _, p := range r.ports {
		p.Close()
	}
	r.wg.Wait()
}

// SetPartitioned cuts (or heals) both directions between sites a and b.
func (r *Router) SetPartitioned(a, b int, cut bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.links[a][b].partitioned = cut
	r.links[b][a].partitioned = cut
}

// SetLink changes the parameters of the link from → to from now on.
func (r *Router) SetLink(from, to int, p LinkParams) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.links[from][to].p = p
}

// Stats returns what the link from → to has done so far; Packets and
// Bytes count what it delivered.
func (r *Router) Stats(from, to int) LinkStats {
	r.mu.Lock()
	st := r.links[from][to].stats
	r.mu.Unlock()
	st.Packets, st.Bytes = r.delivered[from][to].packets.Load(), r.delivered[from][to].bytes.Load()
	return st
}

// readLoop takes the packets site from sends to other sites.
func (r *Router) readLoop(from int) {
	defer r.wg.Done()
	for {
		buf := r.pool.Get().(*[]byte)
		n, err := r.ports[from].Read(*buf)
		if err != nil {
			r.pool.Put(buf)
			if errors.Is(err, os.ErrClosed) || r.ctx.Err() != nil {
				return
			}
			continue
		}
		r.route(from, packet{buf: buf, n: n})
	}
}

// route admits p to the link towards its destination site, or drops it.
func (r *Router) route(from int, p packet) {
	to, ok := destSite((*p.buf)[:p.n])
	if !ok || to == from || to >= len(r.ports) {
		r.pool.Put(p.buf) // not for another site of ours: dropped
		return
	}
	r.mu.Lock()
	at, ok := r.links[from][to].admit(time.Now(), p.n)
	r.mu.Unlock()
	if !ok {
		r.pool.Put(p.buf)
		return
	}
	p.at = at
	select {
	case r.queues[from][to] <- p:
	default: // more packets in flight than the queue holds: a drop, as a full router makes
		r.mu.Lock()
		r.links[from][to].stats.QueueDrops++
		r.mu.Unlock()
		r.pool.Put(p.buf)
	}
}

// destSite reads the site index from an IPv4 destination 10.77.S.H.
func destSite(pkt []byte) (int, bool) {
	if len(pkt) < 20 || pkt[0]>>4 != 4 || pkt[16] != 10 || pkt[17] != 77 || pkt[18] == 0 {
		return 0, false
	}
	return int(pkt[18]) - 1, true
}

// deliverLoop writes each packet of one link into the far site's TUN when
// it is due. Packets are due in queue order (linkModel's invariant).
func (r *Router) deliverLoop(q chan packet, out *os.File, count *deliveredCount) {
	defer r.wg.Done()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		var p packet
		select {
		case p = <-q:
		case <-r.ctx.Done():
			return
		}
		// Waits under 20 µs are not worth a timer: the write itself takes that.
		if d := time.Until(p.at); d > 20*time.Microsecond {
			timer.Reset(d)
			select {
			case <-timer.C:
			case <-r.ctx.Done():
				return
			}
		}
		out.Write((*p.buf)[:p.n]) // a full device drops it, as a wire would
		count.packets.Add(1)
		count.bytes.Add(int64(p.n))
		r.pool.Put(p.buf)
	}
}
