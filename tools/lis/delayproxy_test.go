package main

import (
	"net"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// delayProxy forwards TCP connections from its address to target, holding
// every byte back oneWay in each direction: distance between two hosts on
// one machine, without tc netem. Throughput is not limited; ordering is
// kept.
type delayProxy struct {
	l      net.Listener
	target string
	oneWay time.Duration
	wg     sync.WaitGroup
}

// startDelayProxy starts a proxy to target; it stops at the test's end.
func startDelayProxy(t testing.TB, target string, oneWay time.Duration) *delayProxy {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	p := &delayProxy{l: l, target: target, oneWay: oneWay}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(func() { l.Close(); p.wg.Wait() })
	return p
}

func (p *delayProxy) addr() string { return p.l.Addr().String() }

func (p *delayProxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.l.Accept()
		if err != nil {
			return
		}
		up, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		p.wg.Add(2)
		go p.pipe(up, c)
		go p.pipe(c, up)
	}
}

// delayed is bytes read at a time, to be written oneWay later.
type delayed struct {
	at   time.Time
	data []byte
}

// pipe copies src to dst, each read oneWay late, until either side closes.
func (p *delayProxy) pipe(dst, src net.Conn) {
	defer p.wg.Done()
	q := make(chan delayed, 1024)
	go func() {
		defer close(q)
		for {
			buf := make([]byte, 64<<10)
			n, err := src.Read(buf)
			if n > 0 {
				q <- delayed{at: time.Now().Add(p.oneWay), data: buf[:n]}
			}
			if err != nil {
				return
			}
		}
	}()
	for d := range q {
		time.Sleep(time.Until(d.at))
		if _, err := dst.Write(d.data); err != nil {
			break
		}
	}
	src.Close()
	dst.Close()
	for range q { // the reader ends now that src is closed
	}
}

// freePort returns a loopback address no one listens on just now.
func freePort(t testing.TB) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().String()
}
