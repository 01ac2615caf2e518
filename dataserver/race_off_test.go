//go:build !race

package dataserver

const raceEnabled = false
