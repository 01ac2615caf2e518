package geosim

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// Timings of the fault scenarios (9 to 14): a dataserver silent for
// faultLostAfter is lost, short enough for CI, long past two heartbeats.
const (
	faultSuspectAfter = 3 * time.Second
	faultDownAfter    = 6 * time.Second
	faultLostAfter    = 8 * time.Second
)

// faultMetaArgs are the metaservice flags of the fault scenarios.
var faultMetaArgs = []string{"--suspect-after", faultSuspectAfter.String(),
	"--down-after", faultDownAfter.String(), "--rereplicate-after", faultLostAfter.String()}

// statusReport is the part of `lis status --json` the fault scenarios
// read (tools/lis/status_report.go: the field names are stable).
type statusReport struct {
	Healthy    bool          `json:"healthy"`
	LostWrites []lostWrite   `json:"lost_writes"`
	Damaged    []damagedCopy `json:"damaged"`
}

// lostWrite is writes lis status reports lost with their primary.
type lostWrite struct {
	Path        string `json:"path"`
	RangeStart  uint64 `json:"range_start"`
	RangeEnd    uint64 `json:"range_end"`
	FromVersion uint64 `json:"from_version"`
	ToVersion   uint64 `json:"to_version"`
	Dataserver  string `json:"dataserver"`
	NoLiveCopy  bool   `json:"no_live_copy"`
}

// damagedCopy is a copy lis status reports with bad blocks.
type damagedCopy struct {
	Dataserver string  `json:"dataserver"`
	Chunk      string  `json:"chunk"`
	Blocks     []int64 `json:"blocks"`
}

// statusDangerExit is lis status's exit code when something is in
// danger, lost or damaged: the report is still whole.
const statusDangerExit = 2

// status runs `lis status --json` on the metaservice's host (it dials the
// dataservers too, so it must run inside the World).
func (g *geo) status(ctx context.Context) (*statusReport, error) {
	out, err := g.lisOutput(ctx, g.Meta.Host, statusDangerExit, "status", "--meta", g.Meta.Addr, "--json")
	if err != nil {
		return nil, err
	}
	var r statusReport
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		return nil, fmt.Errorf("lis status --json: %w: %s", err, out)
	}
	return &r, nil
}

// lisOutput runs the lis binary inside host h and returns its standard
// output; exit code okCode (besides 0) is an answer, not an error.
func (g *geo) lisOutput(ctx context.Context, h *Host, okCode int, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "nsenter", append([]string{"--net=" + netnsPath(h.NS), "--", g.Spec.Lis}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	var exit *exec.ExitError
	if err != nil && !(errors.As(err, &exit) && exit.ExitCode() == okCode) {
		return string(out), fmt.Errorf("lis %s on %s: %w: %s", strings.Join(args, " "), h.Name, err, strings.TrimSpace(stderr.String()))
	}
	return string(out), nil
}

// volumePath is the path of a file in a mount as the volume names it
// (what lis status prints).
func (g *geo) volumePath(host, path string) string {
	return "/" + strings.TrimPrefix(strings.TrimPrefix(path, g.Mnt[host]), "/")
}

// chunkFile is where a dataserver keeps chunk id's data on disk
// (dataserver/chunkstore's layout).
func chunkFile(dsDir string, id uint64, ext string) string {
	return filepath.Join(dsDir, "chunks", fmt.Sprintf("%02x", id&0xff), fmt.Sprintf("%016x.%s", id, ext))
}

// holds says whether dataserver d has a copy of chunk.
func holds(ctx context.Context, d *Dataserver, chunk uint64) (bool, error) {
	_, err := d.c.ChunkInfo(ctx, chunk)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, syscall.ENOENT):
		return false, nil
	}
	return false, fmt.Errorf("chunk %x on %s: %w", chunk, d.Host.Name, err)
}

// seededBytes returns n bytes of a random stream named by seed: what the
// fault scenarios write, to compare what they read with.
func seededBytes(seed uint64, n int64) []byte {
	var key [32]byte
	binary.LittleEndian.PutUint64(key[:], seed)
	key[31] = 2 // not writeFile's streams
	src := rand.NewChaCha8(key)
	b := make([]byte, n)
	src.Read(b)
	return b
}

// writeWhole writes data to path, fsyncs and closes it.
func writeWhole(path string, data []byte) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := f.Write(data); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("fsync %s: %w", path, err)
	}
	return f.Close()
}

// readDirect reads the file at path whole with O_DIRECT, so that the
// mount, not the kernel's page cache, answers.
func readDirect(path string) ([]byte, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_DIRECT, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out bytes.Buffer
	buf := make([]byte, 1<<20)
	for {
		n, err := f.Read(buf)
		out.Write(buf[:n])
		switch {
		case errors.Is(err, io.EOF) || (err == nil && n == 0):
			return out.Bytes(), nil
		case err != nil:
			return out.Bytes(), fmt.Errorf("read %s at %d: %w", path, out.Len(), err)
		}
	}
}

// firstDifference describes where got differs from want, or "".
func firstDifference(got, want []byte) string {
	if bytes.Equal(got, want) {
		return ""
	}
	if len(got) != len(want) {
		return fmt.Sprintf("%d bytes, want %d", len(got), len(want))
	}
	for i := range got {
		if got[i] != want[i] {
			return fmt.Sprintf("byte %d is %#x, want %#x", i, got[i], want[i])
		}
	}
	return ""
}
