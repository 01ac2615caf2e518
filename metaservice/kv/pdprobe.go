package kv

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"
)

// PDConnectTimeout bounds how long opening a TiKV volume waits for one of
// its PD endpoints to accept a connection. client-go itself would retry
// for over a minute, logging a warning per endpoint per second.
const PDConnectTimeout = 10 * time.Second

// probePD waits until one of addrs (host:port, optionally with an http://
// or https:// scheme) accepts a TCP connection, trying every half second
// for at most within. The error names every endpoint and what it said.
func probePD(ctx context.Context, addrs []string, within time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, within)
	defer cancel()
	last := map[string]error{}
	for {
		for _, a := range addrs {
			hostPort := strings.TrimPrefix(strings.TrimPrefix(a, "http://"), "https://")
			var d net.Dialer
			c, err := d.DialContext(ctx, "tcp", hostPort)
			if err == nil {
				c.Close()
				return nil
			}
			last[a] = err
		}
		select {
		case <-ctx.Done():
			var errs []string
			for _, a := range addrs {
				errs = append(errs, fmt.Sprintf("%s (%v)", a, errors.Unwrap(last[a])))
			}
			return fmt.Errorf("no PD endpoint answered within %s: tried %s", within, strings.Join(errs, ", "))
		case <-time.After(500 * time.Millisecond):
		}
	}
}
