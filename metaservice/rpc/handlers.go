package rpc

import (
	"context"
	"time"

	"google.golang.org/grpc"

	ms "github.com/lis-fs/lis/metaservice"
	"github.com/lis-fs/lis/metaservice/msgrpc"
)

// serviceDesc declares every lis.Meta method. The method names are the
// wire contract with Client (client.go), which calls them by name.
func (s *Server) serviceDesc() *grpc.ServiceDesc {
	m := s.meta
	var methods []grpc.MethodDesc
	add := func(d ...grpc.MethodDesc) { methods = append(methods, d...) }
	add(
		method(s, "Lookup", func(ctx context.Context, r *entryReq) (*ms.Attr, error) {
			return m.Lookup(ctx, r.Cred.cred(), r.Parent, r.Name)
		}),
		method(s, "GetAttr", func(ctx context.Context, r *inoReq) (*ms.Attr, error) {
			return m.GetAttr(ctx, r.Ino)
		}),
		method(s, "SetAttr", func(ctx context.Context, r *setAttrReq) (*ms.Attr, error) {
			return m.SetAttr(ctx, r.Cred.cred(), r.Ino, r.in())
		}),
		method(s, "Mknod", func(ctx context.Context, r *createReq) (*ms.Attr, error) {
			return m.Mknod(ctx, r.Cred.cred(), r.Parent, r.Name, r.node())
		}),
		method(s, "Mkdir", func(ctx context.Context, r *createReq) (*ms.Attr, error) {
			return m.Mkdir(ctx, r.Cred.cred(), r.Parent, r.Name, r.node())
		}),
		method(s, "Create", func(ctx context.Context, r *createReq) (*ms.Attr, error) {
			return m.Create(ctx, r.Cred.cred(), r.Parent, r.Name, r.node(), r.Session)
		}),
		method(s, "CreateFile", func(ctx context.Context, r *createFileReq) (*ms.CreatedFile, error) {
			c := &r.Create
			return m.CreateFile(ctx, c.Cred.cred(), c.Parent, c.Name, c.node(), c.Session, r.Dataserver, time.Duration(r.Lease))
		}),
		method(s, "Symlink", func(ctx context.Context, r *createReq) (*ms.Attr, error) {
			return m.Symlink(ctx, r.Cred.cred(), r.Parent, r.Name, r.Target)
		}),
		method(s, "ReadLink", func(ctx context.Context, r *inoReq) (*stringResp, error) {
			t, err := m.ReadLink(ctx, r.Ino)
			return &stringResp{S: t}, err
		}),
		method(s, "Link", func(ctx context.Context, r *linkReq) (*ms.Attr, error) {
			return m.Link(ctx, r.Cred.cred(), r.Ino, r.Parent, r.Name)
		}),
		method(s, "Unlink", func(ctx context.Context, r *entryReq) (*empty, error) {
			return &empty{}, m.Unlink(ctx, r.Cred.cred(), r.Parent, r.Name)
		}),
		method(s, "Rmdir", func(ctx context.Context, r *entryReq) (*empty, error) {
			return &empty{}, m.Rmdir(ctx, r.Cred.cred(), r.Parent, r.Name)
		}),
		method(s, "Rename", func(ctx context.Context, r *renameReq) (*empty, error) {
			return &empty{}, m.Rename(ctx, r.Cred.cred(), r.SrcDir, r.SrcName, r.DstDir, r.DstName, r.Flags)
		}),
		method(s, "ReadDir", func(ctx context.Context, r *readDirReq) (*readDirResp, error) {
			es, err := m.ReadDir(ctx, r.Cred.cred(), r.Dir, r.Cookie, int(r.Limit), r.Plus)
			return &readDirResp{Entries: toWireEntries(es)}, err
		}),
		method(s, "StatFS", func(ctx context.Context, _ *empty) (*statFSResp, error) {
			st, err := m.StatFS(ctx)
			if err != nil {
				return nil, err
			}
			return &statFSResp{Capacity: st.Capacity, UsedBytes: st.UsedBytes, UsedInodes: st.UsedInodes, MaxInodes: st.MaxInodes,
				FreeBytes: st.FreeBytes}, nil
		}),
		method(s, "GetXattr", func(ctx context.Context, r *xattrReq) (*bytesResp, error) {
			v, err := m.GetXattr(ctx, r.Cred.cred(), r.Ino, r.Name)
			return &bytesResp{B: v}, err
		}),
		method(s, "SetXattr", func(ctx context.Context, r *xattrReq) (*empty, error) {
			return &empty{}, m.SetXattr(ctx, r.Cred.cred(), r.Ino, r.Name, r.Value, r.Flags)
		}),
		method(s, "ListXattr", func(ctx context.Context, r *xattrReq) (*namesResp, error) {
			names, err := m.ListXattr(ctx, r.Cred.cred(), r.Ino)
			return &namesResp{Names: names}, err
		}),
		method(s, "RemoveXattr", func(ctx context.Context, r *xattrReq) (*empty, error) {
			return &empty{}, m.RemoveXattr(ctx, r.Cred.cred(), r.Ino, r.Name)
		}),
		method(s, "Access", func(ctx context.Context, r *accessReq) (*empty, error) {
			return &empty{}, m.Access(ctx, r.Cred.cred(), r.Ino, r.Mask)
		}),
		method(s, "Sync", func(ctx context.Context, _ *empty) (*empty, error) {
			return &empty{}, m.Sync(ctx)
		}),
	)
	add(s.sessionMethods()...)
	add(s.invalidationMethods()...)
	add(s.chunkMethods()...)
	add(s.policyMethods()...)
	add(s.adminMethods()...)
	add(s.registryMethods()...)
	return msgrpc.ServiceDesc(ServiceName, methods...)
}
