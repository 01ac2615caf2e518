package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// writeStatusText prints r for people.
func writeStatusText(out io.Writer, r *statusReport) error {
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	m := r.Metaservice
	fmt.Fprintf(w, "Lis status at %s\n", r.Time.Format("2006-01-02 15:04:05 MST"))
	fmt.Fprintf(w, "metaservice %s: %s engine, up %s; %d client session(s); queued: %d placement review(s), %d chunk deletion(s)\n",
		m.Address, m.Engine, ageText(m.UptimeSeconds), r.Sessions, m.PendingReviews, m.PendingDeletions)
	writeRereplication(w, m.Rereplication, m.PendingReviews)
	for _, s := range r.Sites {
		fmt.Fprintf(w, "\nsite %s (region %s)\n", orDash(s.Site), orDash(s.Region))
		for _, d := range s.Dataservers {
			writeDataserver(w, d)
		}
	}
	if len(r.Sites) == 0 {
		fmt.Fprintln(w, "\nno dataserver has registered")
	}
	writeClients(w, r.Clients)
	writeFiles(w, "Danger zones (data on one dataserver only)", r.Danger)
	writeFiles(w, "Below target_copies", r.UnderTarget)
	writeFiles(w, "Lost while their dataserver is down", r.Lost)
	writeLostWrites(w, r.LostWrites)
	writeDamaged(w, r.Damaged)
	writeQuarantined(w, r.Quarantined)
	if len(r.Warnings) > 0 {
		fmt.Fprintln(w)
	}
	for _, warn := range r.Warnings {
		fmt.Fprintln(w, warn)
	}
	if r.Healthy {
		fmt.Fprintln(w, "\nall data is where its policy wants it")
	}
	return w.Flush()
}

func writeDataserver(w io.Writer, d dataserverReport) {
	state := d.State
	if d.State != "up" {
		state += fmt.Sprintf(" (silent %s)", ageText(d.LastHeartbeatSeconds))
	}
	fmt.Fprintf(w, "  %s\t%s\tfree %s of %s\tjournal %s\treplication %s\t%s\n", d.ID, state,
		bytesIEC(d.FreeBytes), bytesIEC(d.CapacityBytes), bytesIEC(d.JournalBytes), rateText(d), d.Address)
	for _, l := range d.Lag {
		fmt.Fprintf(w, "    → %s\t%s\t%s\n", l.Peer, lagText(l.Chunks, l.Bytes, l.OldestSeconds), linkText(l))
	}
}

func rateText(d dataserverReport) string {
	rate := bytesIEC(d.ReplicationRate) + "/s"
	if d.ReplicationLimit > 0 {
		return rate + " of " + bytesIEC(d.ReplicationLimit) + "/s"
	}
	return rate + " (no limit)"
}

// lagText says how far behind a copy (or a peer's copies) is.
func lagText(chunks int, bytes int64, oldest float64) string {
	if chunks == 0 && bytes == 0 {
		return "current"
	}
	s := fmt.Sprintf("%s behind (%s", ageText(oldest), bytesIEC(bytes))
	if chunks > 0 {
		s += fmt.Sprintf(" in %d chunk(s)", chunks)
	}
	return s + ")"
}

func linkText(l peerLagUI) string {
	switch {
	case l.Connected:
		return "connected"
	case l.Error != "":
		return "not connected: " + firstLine(l.Error)
	}
	return "not connected"
}

func writeFiles(w io.Writer, title string, files []fileAtRisk) {
	if len(files) == 0 {
		return
	}
	fmt.Fprintf(w, "\n%s\n", title)
	for _, f := range files {
		copies := fmt.Sprintf("%d current cop%s", f.Current, plural(f.Current, "y", "ies"))
		if f.Target > 0 {
			copies += fmt.Sprintf(" of %d", f.Target)
		}
		only := fmt.Sprintf("%d chunk(s)", f.Chunks)
		if f.Bytes > 0 {
			only = fmt.Sprintf("%s in %s, oldest %s", bytesIEC(f.Bytes), only, ageText(f.OldestSeconds))
		}
		fmt.Fprintf(w, "  %s\t%s\t%s\t%s\n", f.Dataserver, f.Path, only, copies)
	}
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// writeClients lists the mounts, the first ten of them.
func writeClients(w io.Writer, clients []clientReport) {
	if len(clients) == 0 {
		return
	}
	fmt.Fprintf(w, "\nclients\n")
	for i, c := range clients {
		if i == 10 {
			fmt.Fprintf(w, "  ... and %d more\n", len(clients)-i)
			break
		}
		fmt.Fprintf(w, "  %s:%s\tpid %d\tsession %d\n", c.Host, c.MountPoint, c.Pid, c.Session)
	}
}

// writeRereplication says what the redundancy sweep found, while some
// dataserver is lost.
func writeRereplication(w io.Writer, rr rereplicationReport, reviews int) {
	if len(rr.LostDataservers) == 0 {
		return
	}
	pass := "sweeping the chunk records"
	if rr.PassDone {
		pass = "every chunk record swept"
	}
	fmt.Fprintf(w, "re-replicating the copies of lost %s: %d chunk(s), %s, with copies there (%d failed over); %s; %d placement review(s) to go\n",
		strings.Join(rr.LostDataservers, ", "), rr.Chunks, bytesIEC(rr.Bytes), rr.Failovers, pass, reviews)
}

func writeLostWrites(w io.Writer, lost []lostWrite) {
	if len(lost) == 0 {
		return
	}
	fmt.Fprintf(w, "\nWrites lost with their dataserver\n")
	for _, l := range lost {
		what := fmt.Sprintf("versions %d-%d", l.FromVersion, l.ToVersion)
		if l.NoLiveCopy {
			what = "no live copy at all"
		}
		fmt.Fprintf(w, "  %s\t%s\tbytes [%d, %d)\t%s\tfound %s ago\n", l.Dataserver, l.Path, l.RangeStart, l.RangeEnd,
			what, ageText(l.FoundSeconds))
	}
}

func writeDamaged(w io.Writer, damaged []damagedCopy) {
	if len(damaged) == 0 {
		return
	}
	fmt.Fprintf(w, "\nCopies with bad blocks (found by the scrubber or a reader)\n")
	for _, d := range damaged {
		fmt.Fprintf(w, "  %s\tchunk %s\t%s\tblocks %v\n", d.Dataserver, d.Chunk, orDash(d.Path), d.Blocks)
	}
}
