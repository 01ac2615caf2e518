package main

import (
	"fmt"
	"io"
	"text/tabwriter"
)

// writeChunksText prints one file chunk by chunk, or several files
// aggregated per file and dataserver.
func writeChunksText(out io.Writer, files []fileChunks) error {
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	if len(files) == 1 {
		writeFileChunks(w, files[0])
	} else {
		for _, f := range files {
			writeFileSummary(w, f)
		}
	}
	if len(files) == 0 {
		fmt.Fprintln(w, "no regular file there")
	}
	return w.Flush()
}

func writeFileChunks(w io.Writer, f fileChunks) {
	if len(f.Chunks) == 0 {
		fmt.Fprintf(w, "%s: no chunks (empty or all holes)\n", f.Path)
	}
	for _, c := range f.Chunks {
		fmt.Fprintf(w, "%s chunk %d (0x%s):\n", f.Path, c.Index, c.Chunk)
		if c.Error != "" {
			fmt.Fprintf(w, "  (%s; versions as the metaservice recorded them)\n", c.Error)
		}
		for _, cp := range c.Copies {
			fmt.Fprintf(w, "  %s\t%s\n", cp.Dataserver, copyText(cp, c.Version))
		}
	}
}

func copyText(cp copyStatus, version uint64) string {
	role := ""
	if cp.Primary {
		role = "primary, "
	}
	switch {
	case cp.Current:
		return role + "current"
	case cp.BehindBytes > 0 || cp.BehindSeconds > 0:
		return role + fmt.Sprintf("%s behind (%s)", ageText(cp.BehindSeconds), bytesIEC(cp.BehindBytes))
	}
	return role + fmt.Sprintf("behind (version %d of %d)", cp.Version, version)
}

// copySummary is one dataserver's copies of a file's chunks.
type copySummary struct {
	chunks, behind int
	bytes          int64
	oldest         float64
	primary        int
}

func writeFileSummary(w io.Writer, f fileChunks) {
	fmt.Fprintf(w, "%s\t%d chunk(s)\n", f.Path, len(f.Chunks))
	var order []string
	sums := map[string]*copySummary{}
	for _, c := range f.Chunks {
		for _, cp := range c.Copies {
			s := sums[cp.Dataserver]
			if s == nil {
				s = &copySummary{}
				sums[cp.Dataserver] = s
				order = append(order, cp.Dataserver)
			}
			s.add(cp)
		}
	}
	for _, id := range order {
		s := sums[id]
		fmt.Fprintf(w, "  %s\tprimary of %d, copies of %d\t%s\n", id, s.primary, s.chunks, lagText(s.behind, s.bytes, s.oldest))
	}
}

func (s *copySummary) add(cp copyStatus) {
	s.chunks++
	if cp.Primary {
		s.primary++
	}
	if !cp.Current {
		s.behind++
		s.bytes += cp.BehindBytes
		s.oldest = max(s.oldest, cp.BehindSeconds)
	}
}
