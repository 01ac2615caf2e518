package dataserver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/lis-fs/lis/metaservice/msgrpc"
	"google.golang.org/grpc"
)

// ServiceName is the gRPC service of the dataserver.
const ServiceName = "lis.dataserver.v1.DataServer"

// Server is a dataserver: the storage engine, its replication senders, and
// the RPC service on a unix socket (co-located client) and/or TCP (peers).
//
// Lifecycle: New opens the store (replaying the journal), starts the
// background work (applier, checkpoints, replication) and opens the
// listeners; Serve serves RPCs until its context ends or Close is called;
// Close stops everything and leaves a clean checkpoint behind.
type Server struct {
	cfg  Config
	e    *engine
	repl *replicator
	grpc *grpc.Server
	lis  []net.Listener
	shm  *shmWindows // nil without a unix socket

	// listLocks serialize, per chunk (striped by id), a change of the
	// chunk's replica list or its deletion with the matching change of
	// the senders, so that two such calls racing on one chunk leave the
	// senders tracking what the journal recorded last. Taken before any
	// engine or replicator lock.
	listLocks [64]sync.Mutex

	rates   censusRates // the heartbeat's census (census.go)
	started time.Time

	stopScrub func() // stops the scrubber (scrub.go)

	closeOnce sync.Once
	closeErr  error
	closed    chan struct{}
}

// New opens a dataserver as cfg says.
func New(cfg Config) (*Server, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	m, err := newMetrics(cfg.Registerer)
	if err != nil {
		return nil, fmt.Errorf("dataserver: metrics: %w", err)
	}
	s := &Server{cfg: cfg, closed: make(chan struct{}), started: time.Now()}
	// The journal's OverLimit hook needs the replicator, which needs the
	// engine: route it through a variable set below.
	var repl *replicator
	e, err := openEngine(&s.cfg, m, func(consumer string, size int64) {
		if repl != nil {
			repl.overLimit(consumer, size)
		}
	})
	if err != nil {
		return nil, err
	}
	repl = newReplicator(e)
	e.afterCheckpoint = repl.enforceLimit
	s.e, s.repl = e, repl
	for _, addr := range s.listenAddrs() {
		l, err := msgrpc.Listen(addr)
		if err != nil {
			s.closeListeners()
			e.close()
			return nil, fmt.Errorf("dataserver: %w", err)
		}
		s.lis = append(s.lis, l)
	}
	if cfg.Unix != "" {
		if s.shm, err = listenShm(cfg.Unix+shmSuffix, cfg.Logger); err != nil {
			s.closeListeners()
			e.close()
			return nil, fmt.Errorf("dataserver: write window socket: %w", err)
		}
	}
	s.grpc = grpc.NewServer(append(msgrpc.ServerOptions(cfg.serverCreds()), m.calls.ServerOptions()...)...)
	s.grpc.RegisterService(s.serviceDesc(), nil)
	e.start()
	repl.start()
	s.stopScrub = startScrubber(e, &s.cfg)
	cfg.Logger.Info("dataserver open", "id", cfg.ID, "dir", cfg.Dir, "site", cfg.Site, "region", cfg.Region,
		"listen", cfg.Listen, "unix", cfg.Unix)
	return s, nil
}

func (s *Server) listenAddrs() []string {
	var out []string
	if s.cfg.Unix != "" {
		out = append(out, "unix:"+s.cfg.Unix)
	}
	if s.cfg.Listen != "" {
		out = append(out, s.cfg.Listen)
	}
	return out
}

// Addr returns the TCP address peers reach this server at (with the
// actual port when Config.Listen asked for port 0), or "" without TCP.
func (s *Server) Addr() string {
	for _, l := range s.lis {
		if l.Addr().Network() == "tcp" {
			return l.Addr().String()
		}
	}
	return ""
}

// ID returns the dataserver's ID.
func (s *Server) ID() string { return s.cfg.ID }

// Serve serves RPCs on the listeners until ctx ends or Close is called,
// then closes the server.
func (s *Server) Serve(ctx context.Context) error {
	errc := make(chan error, len(s.lis))
	for _, l := range s.lis {
		go func() { errc <- s.grpc.Serve(l) }()
	}
	var err error
	select {
	case <-ctx.Done():
	case <-s.closed:
	case err = <-errc:
	}
	if cerr := s.Close(); err == nil {
		err = cerr
	}
	if errors.Is(err, grpc.ErrServerStopped) {
		err = nil
	}
	return err
}

// Close stops serving, stops replication, applies and checkpoints every
// durable mutation and closes the journal. Idempotent.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		close(s.closed)
		s.grpc.Stop()
		s.closeListeners()
		if s.shm != nil {
			s.shm.close() // after Stop: no write is copying from a window
		}
		s.repl.close()
		s.stopScrub()
		s.closeErr = s.e.close()
	})
	return s.closeErr
}

func (s *Server) closeListeners() {
	for _, l := range s.lis {
		l.Close()
	}
}

// stat describes the server, its replication included.
func (s *Server) stat() *Stat {
	st := s.e.stat()
	st.Peers = s.repl.peerStats()
	return st
}

// chunkInfo describes a chunk and what each of its replicas acknowledged.
func (s *Server) chunkInfo(chunk uint64) (*ChunkInfo, error) {
	ci, err := s.e.info(chunk)
	if err != nil {
		return nil, err
	}
	ci.Replicas = s.repl.info(chunk)
	s.e.fillLag(chunk, ci.Replicas)
	return ci, nil
}

// setReplicas journals chunk's new replica list, points the senders at
// it, and makes the record durable. The senders follow the journaled list
// even when the sync fails: the list is in force in memory either way.
func (s *Server) setReplicas(ctx context.Context, req *SetReplicasReq) error {
	mu := &s.listLocks[req.Chunk%uint64(len(s.listLocks))]
	mu.Lock()
	defer mu.Unlock()
	old, lsn, err := s.e.journalReplicas(req)
	if err != nil {
		return err
	}
	s.repl.replicasChanged(req.Chunk, old, req.Replicas, req.Mode)
	return s.e.syncJournal(ctx, req.Chunk, lsn)
}

// deleteChunk journals chunk's deletion, stops replicating it, and makes
// the record durable.
func (s *Server) deleteChunk(ctx context.Context, chunk uint64, quarantine bool) error {
	mu := &s.listLocks[chunk%uint64(len(s.listLocks))]
	mu.Lock()
	defer mu.Unlock()
	lsn, err := s.e.journalDelete(chunk, quarantine)
	if err != nil || lsn == 0 {
		return err
	}
	s.repl.chunkDeleted(chunk)
	return s.e.syncJournal(ctx, chunk, lsn)
}
