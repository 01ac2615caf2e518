// Command bench is Lis's benchmark harness. In one run it drives the same
// workloads on three targets that share one disk — the raw directory, a
// go-fuse loopback mount of it, and a Lis embedded volume mounted by the
// real `lis mount` daemon — and prints each figure, the ratios Lis/loopback
// and Lis/raw, the targets of the ratios, and the resident memory of the
// Lis daemon through the run (including while one directory holds a
// million files).
//
// Workloads run one after the other and, within a workload, on each
// target in turn, so that load from other processes on a shared machine
// hits the three alike. Figures are wall-clock figures of this run; the
// report says the machine's load before and after.
//
//	go run ./tools/bench --quick
//	go run ./tools/bench --only=seqwrite,seqread --profile=/tmp/prof
//
// --profile records the Lis daemon with perf(1) during each measured
// phase and writes perf.data plus a text report per workload.
package main
