package main

import (
	"fmt"
	"io"
	"time"

	ms "github.com/lis-fs/lis/metaservice"
)

// quarantined is a chunk copy a dataserver took out of service because
// it diverged (writes only it saw, as a primary later failed over). It is
// never served; lis status lists it with where its files are, beside the
// LOST entry of those writes, so that an operator can recover them. It
// is not a warning: what was lost is reported as such already.
type quarantined struct {
	Dataserver string  `json:"dataserver"`
	Chunk      string  `json:"chunk"`
	Version    uint64  `json:"version"`
	AgeSeconds float64 `json:"age_seconds"`
	Path       string  `json:"path"` // its data file, on the dataserver's host
}

// addQuarantined lists the quarantined copies the dataservers reported.
func (r *statusReport) addQuarantined(list []ms.DataserverStatus, now time.Time) {
	for _, d := range list {
		for _, q := range d.Quarantined {
			r.Quarantined = append(r.Quarantined, quarantined{Dataserver: d.ID, Chunk: fmt.Sprintf("%x", q.Chunk),
				Version: q.Version, AgeSeconds: secondsSince(now, q.At), Path: q.Path})
		}
	}
}

func writeQuarantined(w io.Writer, qs []quarantined) {
	if len(qs) == 0 {
		return
	}
	fmt.Fprintf(w, "\nQuarantined copies (diverged: never served, kept for recovery by hand)\n")
	for _, q := range qs {
		fmt.Fprintf(w, "  %s\tchunk %s\tversion %d\t%s ago\t%s\n", q.Dataserver, q.Chunk, q.Version, ageText(q.AgeSeconds), q.Path)
	}
}
