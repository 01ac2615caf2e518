//go:build race

package dataserver

// raceEnabled: the race detector slows everything about tenfold, so the
// heavy tests scale themselves down.
const raceEnabled = true
