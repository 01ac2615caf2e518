package geosim

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/lis-fs/lis/dataserver"
	ms "github.com/lis-fs/lis/metaservice"
	"github.com/lis-fs/lis/metaservice/registry"
	"github.com/lis-fs/lis/metaservice/rpc"
)

// Ports every host uses for its daemons.
const (
	metaPort = "7300"
	dataPort = "7400"
)

// Metaservice is a `lis metaservice` in a World. Addr is its TCP address,
// which clients in other hosts reach through the network; Sock is its
// unix socket, for observing the cluster from outside the World without
// crossing the simulated links.
type Metaservice struct {
	Host *Host
	Proc *Proc
	Addr string
	Sock string
	rpc  *rpc.Client
}

// Dataserver is a `lis dataserver` in a World; Sock is its unix socket
// (the co-located mount's way in, and an observer's).
type Dataserver struct {
	Host *Host
	Proc *Proc
	Dir  string
	Sock string
	Addr string
	args []string
	c    *dataserver.Client
}

// hostDir is host h's state directory.
func (w *World) hostDir(h *Host) string {
	if w.away(h) {
		return filepath.Join(awayRoot, filepath.Base(w.Dir), h.Name)
	}
	return filepath.Join(w.Dir, h.Name)
}

// StartMetaservice runs the metaservice on host h on an embedded store.
func (w *World) StartMetaservice(ctx context.Context, h *Host, args ...string) (*Metaservice, error) {
	dir := w.hostDir(h)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	m := &Metaservice{Host: h, Addr: h.IP + ":" + metaPort, Sock: filepath.Join(dir, "meta.sock")}
	args = append([]string{"metaservice", "--meta-url", "embedded:" + filepath.Join(dir, "meta"),
		"--listen", m.Addr, "--insecure", "--unix", m.Sock}, args...)
	p, err := w.Start(h, "metaservice", args...)
	if err != nil {
		return nil, err
	}
	m.Proc = p
	if err := waitFor(ctx, 30*time.Second, "metaservice on "+h.Name+" serving", func() bool {
		return p.Running() && socketAnswers(m.Sock)
	}); err != nil {
		return nil, fmt.Errorf("%w:\n%s", err, p.Tail(2000))
	}
	if m.rpc, err = rpc.Dial("unix:"+m.Sock, nil); err != nil {
		return nil, err
	}
	return m, nil
}

// socketAnswers reports whether something accepts on unix socket path.
func socketAnswers(path string) bool {
	fd, err := syscall.Socket(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
	if err != nil {
		return false
	}
	defer syscall.Close(fd)
	return syscall.Connect(fd, &syscall.SockaddrUnix{Name: path}) == nil
}

// StartDataserver runs host h's dataserver, registered with meta under
// the host's name, site and region, and waits until the registry has it up.
func (w *World) StartDataserver(ctx context.Context, h *Host, meta *Metaservice, args ...string) (*Dataserver, error) {
	dir := filepath.Join(w.hostDir(h), "ds")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	d := &Dataserver{Host: h, Dir: dir, Sock: filepath.Join(w.hostDir(h), "ds.sock"), Addr: h.IP + ":" + dataPort}
	d.args = append([]string{"dataserver", "--dir", dir, "--id", h.Name, "--site", h.Site.Name, "--region", h.Site.Region,
		"--listen", d.Addr, "--insecure", "--unix", d.Sock, "--meta", meta.Addr}, args...)
	if err := w.runDataserver(ctx, d, meta); err != nil {
		return nil, err
	}
	var err error
	d.c, err = dataserver.Dial("unix:" + d.Sock)
	return d, err
}

// runDataserver starts d's process and waits for it to be up in the registry.
func (w *World) runDataserver(ctx context.Context, d *Dataserver, meta *Metaservice) error {
	p, err := w.Start(d.Host, "dataserver-"+d.Host.Name, d.args...)
	if err != nil {
		return err
	}
	d.Proc = p
	if err := waitFor(ctx, 60*time.Second, "dataserver "+d.Host.Name+" up in the registry", func() bool {
		l, ok := meta.Liveness(ctx, d.Host.Name)
		return p.Running() && ok && l == registry.Up
	}); err != nil {
		return fmt.Errorf("%w:\n%s", err, p.Tail(2000))
	}
	return nil
}

// Restart starts d again (after Stop or Kill) with the same flags.
func (w *World) Restart(ctx context.Context, d *Dataserver, meta *Metaservice) error {
	return w.runDataserver(ctx, d, meta)
}

// Liveness is the registry's word on dataserver id; false if it has none.
func (m *Metaservice) Liveness(ctx context.Context, id string) (registry.Liveness, bool) {
	list, err := m.rpc.ListDataservers(ctx)
	if err != nil {
		return 0, false
	}
	for _, d := range list {
		if d.ID == id {
			return d.Liveness, true
		}
	}
	return 0, false
}

// Mount mounts the volume on host h through meta's TCP address and the
// host's dataserver, and returns the mount point. The mount's daemon runs
// in h's network namespace; the mount point is visible everywhere.
func (w *World) Mount(ctx context.Context, h *Host, meta *Metaservice, d *Dataserver, opts ...string) (string, error) {
	mnt := filepath.Join(w.Dir, "mnt", h.Name)
	if err := os.MkdirAll(mnt, 0o755); err != nil {
		return "", err
	}
	args := []string{"mount", "--meta", meta.Addr, "--dataserver", "unix:" + d.Sock}
	if len(opts) > 0 {
		args = append(args, "-o", strings.Join(opts, ","))
	}
	if _, err := w.run(ctx, h, append(args, mnt)...); err != nil {
		return "", err
	}
	w.mu.Lock()
	w.mounts = append(w.mounts, mnt)
	w.mu.Unlock()
	return mnt, nil
}

// Chunks returns the chunk records of the file at path (in a mount).
func (m *Metaservice) Chunks(ctx context.Context, path string) ([]ms.IndexedChunk, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	return m.rpc.Chunks(ctx, ms.Ino(st.Sys().(*syscall.Stat_t).Ino), 0, 1<<20)
}

// Copies names the dataservers that should hold a chunk: its primary and
// its replicas.
func Copies(rec ms.ChunkRecord) []string {
	ids := []string{rec.Primary}
	for _, r := range rec.Replicas {
		if !slices.Contains(ids, r.Dataserver) {
			ids = append(ids, r.Dataserver)
		}
	}
	return ids
}
