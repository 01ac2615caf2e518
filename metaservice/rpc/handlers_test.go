package rpc

import (
	"context"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/vmihailenco/msgpack/v5"
	"google.golang.org/grpc/status"

	ms "github.com/lis-fs/lis/metaservice"
	"github.com/lis-fs/lis/metaservice/kv"
	"github.com/lis-fs/lis/metaservice/msgrpc"
)

// TestEveryMetaMethodIsServed: the service registers exactly one method
// per Meta method, so Client (which calls them by name) and Server agree.
func TestEveryMetaMethodIsServed(t *testing.T) {
	var want []string
	mt := reflect.TypeFor[Meta]()
	for i := range mt.NumMethod() {
		want = append(want, mt.Method(i).Name)
	}
	var got []string
	srv := NewServer(nil, Options{Logger: quiet})
	defer srv.Stop()
	for _, m := range srv.serviceDesc().Methods {
		got = append(got, m.MethodName)
	}
	sort.Strings(want)
	sort.Strings(got)
	require.Equal(t, want, got)
}

// handlerServer is a Server whose handlers tests call directly, on a
// memory engine.
func handlerServer(t testing.TB) *Server {
	eng, err := kv.Open(context.Background(), "memory:")
	require.NoError(t, err)
	t.Cleanup(func() { eng.Close() })
	svc, err := ms.Open(context.Background(), eng, ms.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { svc.Close() })
	s := NewServer(svc, Options{Logger: quiet})
	t.Cleanup(s.Stop)
	return s
}

// invokeAll runs every handler of s with a request decoded by dec, and
// fails the test if one panicked (the server turns a panic into an error
// that says so).
func invokeAll(t testing.TB, s *Server, dec func(any) error) {
	for _, m := range s.serviceDesc().Methods {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		_, err := m.Handler(nil, ctx, dec, nil)
		cancel()
		if err != nil && strings.Contains(status.Convert(err).Message(), "panic") {
			t.Fatalf("%s: %v", m.MethodName, err)
		}
	}
}

// TestZeroRequests runs each handler with the zero value of its request.
func TestZeroRequests(t *testing.T) {
	s := handlerServer(t)
	invokeAll(t, s, func(any) error { return nil })
}

// requestSamples are well-formed requests of every shape, the fuzzer's
// starting points.
func requestSamples() []any {
	cr := wireCred{Uid: 1000, Gid: 1000, Groups: []uint32{1, 2}, Pid: 9}
	return []any{
		&empty{}, &inoReq{Ino: ms.RootIno},
		&entryReq{Cred: cr, Parent: ms.RootIno, Name: "a"},
		&createReq{Cred: cr, Parent: ms.RootIno, Name: "a", Mode: 0644, Target: "t", Exclusive: true, Session: 1},
		&setAttrReq{Cred: cr, Ino: ms.RootIno, Valid: ms.SetMode | ms.SetSize, Mode: 0755, Size: 10},
		&linkReq{Cred: cr, Ino: 2, Parent: ms.RootIno, Name: "l"},
		&renameReq{Cred: cr, SrcDir: 1, SrcName: "a", DstDir: 1, DstName: "b", Flags: ms.RenameExchange},
		&readDirReq{Cred: cr, Dir: 1, Cookie: 3, Limit: 1 << 40, Plus: true},
		&xattrReq{Cred: cr, Ino: 1, Name: "user.x", Value: []byte("v"), Flags: ms.XattrCreate},
		&accessReq{Cred: cr, Ino: 1, Mask: 7},
		&openReq{Cred: cr, Ino: 1, Flags: 2, Session: 1},
		&releaseReq{Ino: 2, Session: 1},
		&registerReq{Info: ms.SessionInfo{Host: "h", Pid: 1, MountPoint: "/m", Version: "v"}},
		&idReq{ID: 1},
		&flockReq{Ino: 1, Holder: ms.LockOwner{Session: 1, Owner: 2}, Type: ms.WriteLock, Block: true},
		&lockReq{Ino: 1, Lock: ms.PosixLock{Holder: ms.LockOwner{Session: 1}, Type: ms.ReadLock, End: ms.MaxOffset}, Block: true},
		&ownerReq{Ino: 1, Holder: ms.LockOwner{Session: 1, Owner: 2}},
		&chunkReq{Ino: 2, Index: 3, Dataserver: "ds", Lease: int64(time.Second)},
		&chunksReq{Ino: 2, From: 0, To: ^uint32(0)},
		&commitReq{Ino: 2, Size: 1 << 40, Mtime: 5, Chunks: []ms.ChunkVersion{{Index: 1, Version: 2, Dataserver: "ds"}}},
		&limitReq{Limit: -1},
		&ackReq{Chunks: []ms.ChunkID{1, 2}},
		&createShardReq{Cred: cr, Dir: 2, Path: "/x"},
		&siteReq{Shard: 1, Site: "perth"},
		&placementReq{Group: "g", LabelKey: "zone", Voters: 3},
		&setPolicyReq{Cred: cr, Dir: 1, Source: []byte("target_copies: 2\n")},
	}
}

// FuzzDecodeRequests feeds arbitrary bytes, as the body of a call, to
// every method: decoding (msgrpc.Decode into the method's request type),
// validation and the core must never panic, whatever decodes.
func FuzzDecodeRequests(f *testing.F) {
	for _, r := range requestSamples() {
		b, err := msgpack.Marshal(r)
		require.NoError(f, err)
		f.Add(b)
	}
	f.Add([]byte{0xc0})
	f.Add([]byte{0x93, 0x90, 0x01, 0xc6, 0xff, 0xff, 0xff, 0xff})
	s := handlerServer(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		invokeAll(t, s, func(v any) error { return msgrpc.Decode(data, v) })
	})
}
