package main

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Metadata transactions per operation. Lis's small-file figures are set
// by how many metaservice transactions each operation costs, so the run
// states them beside the rates: the Lis daemon is mounted with --metrics,
// and the embedded metaservice's transaction counter is read before and
// after each measured phase.

// kvTxnsMetric counts the metaservice's KV transactions.
const kvTxnsMetric = "lis_metaservice_kv_transactions_total"

// freeLoopbackAddr returns a loopback address with a port free now.
func freeLoopbackAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// scrapeCounter reads the unlabelled counter name from the Prometheus
// metrics served at addr.
func scrapeCounter(addr, name string) (float64, error) {
	c := http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get("http://" + addr + "/metrics")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			return strconv.ParseFloat(strings.TrimSpace(v), 64)
		}
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, fmt.Errorf("%s: no %s", addr, name)
}

// countTxns reads t's transaction counter, or -1 when t has none or it
// cannot be read (the figure is then left out, not guessed).
func (b *bench) countTxns(t *target) float64 {
	if t.txns == nil {
		return -1
	}
	v, err := t.txns()
	if err != nil {
		b.rep.Notes = append(b.rep.Notes, "metadata transactions not counted: "+err.Error())
		return -1
	}
	return v
}

// recordTxns records the last measured phase's transactions per
// operation under metric, for ops operations.
func (b *bench) recordTxns(metric string, ops int) {
	if b.txns >= 0 && ops > 0 {
		b.rep.Txns[metric] = b.txns / float64(ops)
	}
}
