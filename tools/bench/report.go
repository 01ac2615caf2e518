package main

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// Metric keys, in report order.
const (
	mSeqWrite   = "seqwrite"
	mSeqRead    = "seqread"
	mRandWrite  = "randwrite"
	mCreate     = "create"
	mStat       = "stat"
	mUnlink     = "unlink"
	mTar        = "tar"
	mManyCreate = "many-create"
	mManyList   = "many-readdir"
	mManyStat   = "many-stat"
)

// metricInfo says how to print a metric and what the issue asks of it.
type metricInfo struct {
	key, unit string
	title     func(c Config) string
	lower     bool    // lower is better (a time)
	goal      float64 // Lis/loopback ratio asked for; 0: none
}

var metricInfos = []metricInfo{
	{mSeqWrite, "MB/s", func(c Config) string { return "sequential write " + human(c.SeqSize) + " + fsync" }, false, 0.9},
	{mSeqRead, "MB/s", func(c Config) string { return "sequential read " + human(c.SeqSize) + ", cold" }, false, 1.0},
	{mRandWrite, "IOPS", func(c Config) string {
		return fmt.Sprintf("4 KiB random write + fsync (%d in %s)", c.RandWrites, human(c.RandFile))
	}, false, 0.7},
	{mCreate, "files/s", func(c Config) string { return fmt.Sprintf("create %d × %d B files", c.SmallFiles, c.SmallSize) }, false, 0.8},
	{mStat, "files/s", func(c Config) string { return fmt.Sprintf("stat %d files (caches expired)", c.SmallFiles) }, false, 1.0},
	{mUnlink, "files/s", func(c Config) string { return fmt.Sprintf("unlink %d files", c.SmallFiles) }, false, 0.5},
	{mTar, "s", func(c Config) string { return "tar -x " + c.TarSource }, true, 1.5},
	{mManyCreate, "files/s", func(c Config) string {
		return fmt.Sprintf("create %d empty files in one dir (%d workers)", c.ManyFiles, c.Workers)
	}, false, 0},
	{mManyList, "entries/s", func(c Config) string { return fmt.Sprintf("readdir of the %d-file dir", c.ManyFiles) }, false, 0},
	{mManyStat, "files/s", func(c Config) string { return "stat 10,000 random files of it" }, false, 0},
}

// memRow is the Lis daemon's resident memory over one phase.
type memRow struct {
	Phase     string
	Peak, End uint64 // bytes: highest sampled VmRSS during, VmRSS at the end
}

// memoryGoal is the ceiling on the client's RSS.
const memoryGoal = 300 << 20

// Report is the result of a run.
type Report struct {
	Command        string
	Config         Config
	Machine        string
	LoadBefore     string
	LoadAfter      string
	Started        time.Time
	Elapsed        time.Duration
	TarSource      string
	Values         map[string]map[string]float64 // metric → target → value
	Txns           map[string]float64            // metric → Lis's metadata transactions per operation
	Memory         []memRow
	HighWater      uint64 // largest VmHWM of a Lis daemon
	ManyCreateTime time.Duration
	Notes          []string
}

func newReport(cfg Config, work string) *Report {
	return &Report{Config: cfg, Machine: machine(work), LoadBefore: loadAvg(), Started: time.Now(),
		Values: map[string]map[string]float64{}, Txns: map[string]float64{}}
}

func (r *Report) record(metric, target string, v float64) {
	if r.Values[metric] == nil {
		r.Values[metric] = map[string]float64{}
	}
	r.Values[metric][target] = v
}

func (r *Report) finish() {
	r.LoadAfter = loadAvg()
	r.Elapsed = time.Since(r.Started)
}

// WriteMarkdown prints the report: the comparison table, the memory
// table, the notes and how the figures were made.
func (r *Report) WriteMarkdown(w io.Writer) {
	if r.LoadAfter == "" {
		r.finish()
	}
	cfg := r.Config
	if r.TarSource != "" {
		cfg.TarSource = r.TarSource
	}
	fmt.Fprintf(w, "## Lis benchmark, %s\n\n", r.Started.Format("2006-01-02 15:04"))
	fmt.Fprintf(w, "Command: `%s`  \n%s  \nLoad average %s before, %s after; run took %s.\n\n",
		r.Command, r.Machine, r.LoadBefore, r.LoadAfter, r.Elapsed.Round(time.Second))
	fmt.Fprintln(w, "| workload | unit | raw disk | go-fuse loopback | Lis | Lis/loopback | target | met | Lis/raw | Lis metadata txns/op |")
	fmt.Fprintln(w, "|---|---|---:|---:|---:|---:|---|---|---:|---:|")
	for _, m := range metricInfos {
		vals := r.Values[m.key]
		if vals == nil {
			continue
		}
		lis, loop, raw := vals[lisName], vals[loopbackName], vals[rawName]
		ratio, goal, met := ratioCells(m, lis, loop)
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", m.title(cfg), m.unit,
			num(raw), num(loop), num(lis), ratio, goal, met, ratioOnly(lis, raw), txnsCell(r.Txns, m.key))
	}
	r.writeMemory(w)
	if len(r.Notes) > 0 {
		fmt.Fprintln(w, "\nNotes:")
		for _, n := range r.Notes {
			fmt.Fprintf(w, "- %s\n", n)
		}
	}
	fmt.Fprintln(w, "\nRatios are Lis over loopback (for tar -x, of the times: lower is better). "+
		"Cold reads follow `echo 3 > /proc/sys/vm/drop_caches` and, for Lis, a remount. "+
		"The loopback mount is go-fuse's fs.NewLoopbackRoot in the harness process with 1 MiB requests and 1 s timeouts; "+
		"Lis is the real `lis mount` daemon (embedded volume: metaservice, dataserver and client in one process), "+
		"whose memory the RSS figures are.")
}

func (r *Report) writeMemory(w io.Writer) {
	if len(r.Memory) == 0 {
		return
	}
	fmt.Fprintf(w, "\n| Lis daemon memory | peak VmRSS (sampled) | VmRSS at end | under %s |\n|---|---:|---:|---|\n", human(memoryGoal))
	for _, m := range r.Memory {
		fmt.Fprintf(w, "| %s | %s | %s | %s |\n", m.Phase, human(int64(m.Peak)), human(int64(m.End)), yes(m.Peak < memoryGoal))
	}
	fmt.Fprintf(w, "| whole run (VmHWM) | %s | | %s |\n", human(int64(r.HighWater)), yes(r.HighWater < memoryGoal))
	if r.ManyCreateTime > 0 {
		fmt.Fprintf(w, "\nFilling the big directory took %s.\n", r.ManyCreateTime.Round(time.Second))
	}
}

func ratioCells(m metricInfo, lis, loop float64) (ratio, goal, met string) {
	if lis == 0 || loop == 0 {
		return "", "", ""
	}
	v := lis / loop
	ratio = fmt.Sprintf("%.2f×", v)
	if m.goal == 0 {
		return ratio, "", ""
	}
	if m.lower {
		return ratio, fmt.Sprintf("≤ %.1f×", m.goal), yes(v <= m.goal)
	}
	return ratio, fmt.Sprintf("≥ %.1f×", m.goal), yes(v >= m.goal)
}

func ratioOnly(a, b float64) string {
	if a == 0 || b == 0 {
		return ""
	}
	return fmt.Sprintf("%.2f×", a/b)
}

func yes(ok bool) string {
	if ok {
		return "yes"
	}
	return "**no**"
}

func num(v float64) string {
	switch {
	case v == 0:
		return "–"
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	default:
		return fmt.Sprintf("%.2f", v)
	}
}

// human prints a byte count in binary units.
func human(n int64) string {
	for _, u := range []struct {
		s string
		v int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if n >= u.v {
			s := fmt.Sprintf("%.1f", float64(n)/float64(u.v))
			return strings.TrimSuffix(s, ".0") + " " + u.s
		}
	}
	return fmt.Sprintf("%d B", n)
}

// txnsCell is the metadata transactions per operation of metric, if
// counted.
func txnsCell(txns map[string]float64, metric string) string {
	v, ok := txns[metric]
	if !ok {
		return "–"
	}
	return fmt.Sprintf("%.2f", v)
}
