package geosim

import (
	"os"
	"strconv"
	"strings"
)

// cpuTimes reads the machine's busy and total CPU ticks from /proc/stat.
func cpuTimes() (busy, total int64) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	for i, f := range strings.Fields(line)[1:] {
		n, _ := strconv.ParseInt(f, 10, 64)
		total += n
		if i != 3 && i != 4 { // idle, iowait
			busy += n
		}
	}
	return busy, total
}

// cpuMeter measures the share of the machine's CPU in use between its
// start and a call to busy: a figure that says when a measurement was
// bound by this machine's cores rather than by Lis or the link.
type cpuMeter struct{ busy0, total0 int64 }

func startCPU() cpuMeter {
	b, t := cpuTimes()
	return cpuMeter{b, t}
}

// busy returns the fraction of CPU time in use since start.
func (m cpuMeter) busy() float64 {
	b, t := cpuTimes()
	if t == m.total0 {
		return 0
	}
	return float64(b-m.busy0) / float64(t-m.total0)
}
