package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/grpc/credentials"

	"github.com/lis-fs/lis/dataserver"
	ms "github.com/lis-fs/lis/metaservice"
	"github.com/lis-fs/lis/metaservice/rpc"
)

func statusChunksCmd() *cobra.Command {
	var fl statusFlags
	cmd := &cobra.Command{
		Use:   "chunks PATH",
		Short: "Show each replica of a file's chunks (or of every file below a directory): current, or how far behind",
		Long: `Show, for the file at PATH (on a Lis mount), each chunk's copies: the primary
and each replica, current or how far behind (the age of the oldest change it
lacks, and the bytes written since). For a directory, every regular file below
it is shown aggregated per file and dataserver.

The lag comes from the chunk's primary dataserver (what each replica
acknowledged, against its own recent versions); a primary that cannot be
reached is said so, and the versions recorded in the metaservice are shown
instead.`,
		Example: "  lis status chunks /mnt/lis/data/vm1.img\n  lis status chunks /mnt/lis/data --json",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runStatusChunks(cmd.Context(), fl, args[0], os.Stdout)
		},
	}
	addStatusFlags(cmd, &fl)
	return cmd
}

// fileChunks is the copies of one file's chunks.
type fileChunks struct {
	Path   string        `json:"path"`
	Chunks []chunkCopies `json:"chunks"`
}

type chunkCopies struct {
	Index   uint32       `json:"index"`
	Chunk   string       `json:"chunk"` // hex id
	Version uint64       `json:"version"`
	Copies  []copyStatus `json:"copies"`
	Error   string       `json:"error,omitempty"` // the primary could not be asked
}

type copyStatus struct {
	Dataserver    string  `json:"dataserver"`
	Primary       bool    `json:"primary"`
	Current       bool    `json:"current"`
	Version       uint64  `json:"version"`
	BehindBytes   int64   `json:"behind_bytes"`
	BehindSeconds float64 `json:"behind_seconds"`
}

func runStatusChunks(ctx context.Context, fl statusFlags, path string, w io.Writer) error {
	if ctx == nil {
		ctx = context.Background()
	}
	c, creds, _, err := fl.dial(path)
	if err != nil {
		return err
	}
	defer c.Close()
	show := func() error {
		files, err := collectChunks(ctx, c, creds, path)
		if err != nil {
			return err
		}
		if fl.asJSON {
			e := json.NewEncoder(w)
			e.SetIndent("", "  ")
			return e.Encode(files)
		}
		return writeChunksText(w, files)
	}
	return repeat(ctx, fl.watch, w, show)
}

// collectChunks describes the file at path, or every regular file below it.
func collectChunks(ctx context.Context, c *rpc.Client, creds credentials.TransportCredentials, path string) ([]fileChunks, error) {
	ds := newDataserverDialer(ctx, c, creds)
	defer ds.close()
	var out []fileChunks
	err := filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		fc, err := describeFile(ctx, c, ds, p)
		if err != nil {
			return err
		}
		out = append(out, *fc)
		return nil
	})
	return out, err
}

func describeFile(ctx context.Context, c *rpc.Client, ds *dataserverDialer, path string) (*fileChunks, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	recs, err := c.Chunks(ctx, ms.Ino(st.Sys().(*syscall.Stat_t).Ino), 0, ^uint32(0))
	if err != nil {
		return nil, fmt.Errorf("chunks of %s: %w", path, err)
	}
	fc := &fileChunks{Path: path}
	for _, rec := range recs {
		fc.Chunks = append(fc.Chunks, ds.describe(ctx, rec))
	}
	return fc, nil
}

// dataserverDialer reaches the primaries by their registered addresses.
type dataserverDialer struct {
	creds   credentials.TransportCredentials
	addrs   map[string]string
	clients map[string]*dataserver.Client
	err     error
}

func newDataserverDialer(ctx context.Context, c *rpc.Client, creds credentials.TransportCredentials) *dataserverDialer {
	d := &dataserverDialer{creds: creds, addrs: map[string]string{}, clients: map[string]*dataserver.Client{}}
	list, err := c.ListDataservers(ctx)
	d.err = err
	for _, s := range list {
		d.addrs[s.ID] = s.Addr
	}
	return d
}

func (d *dataserverDialer) client(id string) (*dataserver.Client, error) {
	if c := d.clients[id]; c != nil {
		return c, nil
	}
	addr, ok := d.addrs[id]
	if !ok {
		return nil, fmt.Errorf("dataserver %s is not in the registry (%v)", id, d.err)
	}
	c, err := dataserver.DialCreds(addr, d.creds)
	if err != nil {
		return nil, err
	}
	d.clients[id] = c
	return c, nil
}

func (d *dataserverDialer) close() {
	for _, c := range d.clients {
		c.Close()
	}
}

// describe asks rec's primary how its replicas stand; without it, the
// versions the metaservice recorded stand in.
func (d *dataserverDialer) describe(ctx context.Context, rec ms.IndexedChunk) chunkCopies {
	cc := chunkCopies{Index: rec.Index, Chunk: fmt.Sprintf("%x", uint64(rec.ID)), Version: rec.Version}
	info, err := d.chunkInfo(ctx, rec.Primary, uint64(rec.ID))
	if err != nil {
		cc.Error = err.Error()
		return recordedCopies(cc, rec)
	}
	now := time.Now()
	cc.Version = info.Version
	cc.Copies = append(cc.Copies, copyStatus{Dataserver: rec.Primary, Primary: true, Current: true, Version: info.Version})
	for _, r := range info.Replicas {
		cc.Copies = append(cc.Copies, copyStatus{Dataserver: r.Peer.ID, Version: r.AckedVersion,
			Current: r.AckedVersion >= info.Version, BehindBytes: r.BehindBytes, BehindSeconds: secondsSince(now, r.BehindSince)})
	}
	return cc
}

func (d *dataserverDialer) chunkInfo(ctx context.Context, primary string, chunk uint64) (*dataserver.ChunkInfo, error) {
	if primary == "" {
		return nil, fmt.Errorf("no primary recorded")
	}
	c, err := d.client(primary)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	info, err := c.ChunkInfo(ctx, chunk)
	if err != nil {
		return nil, fmt.Errorf("ask primary %s: %w", primary, err)
	}
	return info, nil
}

// recordedCopies fills cc from the chunk record alone.
func recordedCopies(cc chunkCopies, rec ms.IndexedChunk) chunkCopies {
	for _, r := range rec.Replicas {
		cc.Copies = append(cc.Copies, copyStatus{Dataserver: r.Dataserver, Primary: r.Dataserver == rec.Primary,
			Version: r.Version, Current: r.Version >= rec.Version})
	}
	return cc
}
