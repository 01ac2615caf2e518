// Package testlock keeps the test packages that start whole clusters of
// Lis daemons (tools/lis, tools/geosim) from running at the same time.
// `go test ./...` runs packages in parallel; two of them, each starting
// dozens of daemons on a two-core machine, starve each other's daemons
// and make timing-sensitive checks (a replica sampled while it moves)
// see nothing. Each package's TestMain holds the lock while its tests run.
package testlock
