package kv

import "sync"

// closeGate lets an engine's Close refuse new calls and wait for the
// running ones. The zero value is open.
type closeGate struct {
	mu       sync.Mutex // guards closed; inflight.Add happens under it
	closed   bool
	inflight sync.WaitGroup
}

// enter registers a call; it fails with ErrClosed once the gate closed.
// Every successful enter is paired with a leave.
func (g *closeGate) enter() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return ErrClosed
	}
	g.inflight.Add(1)
	return nil
}

// leave ends a call registered by enter.
func (g *closeGate) leave() { g.inflight.Done() }

// close refuses further calls; it returns ErrClosed if the gate was
// already closed. Callers wait for running calls with drain.
func (g *closeGate) close() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return ErrClosed
	}
	g.closed = true
	return nil
}

// drain waits for the calls running when the gate closed.
func (g *closeGate) drain() { g.inflight.Wait() }
