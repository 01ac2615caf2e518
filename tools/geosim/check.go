package geosim

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"sync/atomic"
	"time"
)

// listenIn opens a listener (network "tcp" or "udp") on host h's address.
func listenIn(h *Host, network string) (l net.Listener, pc net.PacketConn, err error) {
	err = inNetns(h.NS, func() error {
		var err error
		if network == "udp" {
			pc, err = net.ListenPacket("udp", h.IP+":0")
		} else {
			l, err = net.Listen("tcp", h.IP+":0")
		}
		return err
	})
	return l, pc, err
}

// dialFrom connects from host h to addr.
func dialFrom(ctx context.Context, h *Host, network, addr string) (c net.Conn, err error) {
	err = inNetns(h.NS, func() error {
		var err error
		c, err = (&net.Dialer{}).DialContext(ctx, network, addr)
		return err
	})
	return c, err
}

// Ping sends count UDP echoes from host a to host b, one at a time, and
// returns their round-trip times (a lost echo is retried after 2 s).
func (w *World) Ping(ctx context.Context, a, b *Host, count int) ([]time.Duration, error) {
	_, pc, err := listenIn(b, "udp")
	if err != nil {
		return nil, fmt.Errorf("ping server on %s: %w", b.Name, err)
	}
	defer pc.Close()
	go func() {
		buf := make([]byte, 64)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			pc.WriteTo(buf[:n], from)
		}
	}()
	c, err := dialFrom(ctx, a, "udp", pc.LocalAddr().String())
	if err != nil {
		return nil, fmt.Errorf("ping from %s: %w", a.Name, err)
	}
	defer c.Close()
	var rtts []time.Duration
	buf := make([]byte, 64)
	for i := 0; len(rtts) < count; i++ {
		if ctx.Err() != nil || i > 3*count {
			return rtts, fmt.Errorf("ping %s → %s: %d of %d echoes came back", a.Name, b.Name, len(rtts), count)
		}
		start := time.Now()
		c.SetDeadline(start.Add(2 * time.Second))
		if _, err := c.Write([]byte{byte(i)}); err != nil {
			return rtts, err
		}
		if n, err := c.Read(buf); err == nil && n == 1 && buf[0] == byte(i) {
			rtts = append(rtts, time.Since(start))
		}
	}
	return rtts, nil
}

// Median returns the median of ds.
func Median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

// Throughput streams TCP from host a to host b for dur and returns the
// receiver's rate in bits/s over the time after warmup (so slow start on a
// long pipe does not count), as iperf's later intervals show it.
func (w *World) Throughput(ctx context.Context, a, b *Host, warmup, dur time.Duration) (float64, error) {
	l, _, err := listenIn(b, "tcp")
	if err != nil {
		return 0, fmt.Errorf("throughput server on %s: %w", b.Name, err)
	}
	defer l.Close()
	var received atomic.Int64
	go func() {
		c, err := l.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		buf := make([]byte, 1<<20)
		for {
			n, err := c.Read(buf)
			received.Add(int64(n))
			if err != nil {
				return
			}
		}
	}()
	c, err := dialFrom(ctx, a, "tcp", l.Addr().String())
	if err != nil {
		return 0, fmt.Errorf("throughput from %s: %w", a.Name, err)
	}
	// Reset rather than drain at the end: what the socket still holds must
	// not go on loading the link after the measurement.
	defer func() { c.(*net.TCPConn).SetLinger(0); c.Close() }()
	sendCtx, stop := context.WithTimeout(ctx, dur)
	defer stop()
	go func() { <-sendCtx.Done(); c.SetWriteDeadline(time.Now()) }()
	var from int64
	var fromAt time.Time
	start := time.Now()
	buf := make([]byte, 1<<20)
	for sendCtx.Err() == nil {
		if fromAt.IsZero() && time.Since(start) >= warmup {
			from, fromAt = received.Load(), time.Now()
		}
		if _, err := c.Write(buf); err != nil && !errors.Is(err, io.EOF) && sendCtx.Err() == nil {
			return 0, fmt.Errorf("throughput %s → %s: %w", a.Name, b.Name, err)
		}
	}
	end := received.Load()
	if fromAt.IsZero() {
		return 0, fmt.Errorf("throughput: run of %v shorter than its warm-up %v", dur, warmup)
	}
	return float64(end-from) * 8 / time.Since(fromAt).Seconds(), nil
}
