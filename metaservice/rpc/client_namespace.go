package rpc

import (
	"context"
	"time"

	ms "github.com/lis-fs/lis/metaservice"
)

// Namespace operations of Client; each is documented on the
// metaservice.Service method of the same name.

func (c *Client) entry(ctx context.Context, method string, cr *ms.Cred, parent ms.Ino, name string) (*ms.Attr, error) {
	wc, err := cred(cr)
	if err != nil {
		return nil, err
	}
	return call[entryReq, ms.Attr](ctx, c, method, &entryReq{Cred: wc, Parent: parent, Name: name})
}

func (c *Client) Lookup(ctx context.Context, cr *ms.Cred, parent ms.Ino, name string) (*ms.Attr, error) {
	return c.entry(ctx, "Lookup", cr, parent, name)
}

func (c *Client) GetAttr(ctx context.Context, ino ms.Ino) (*ms.Attr, error) {
	return call[inoReq, ms.Attr](ctx, c, "GetAttr", &inoReq{Ino: ino})
}

func (c *Client) SetAttr(ctx context.Context, cr *ms.Cred, ino ms.Ino, in ms.SetAttrIn) (*ms.Attr, error) {
	wc, err := cred(cr)
	if err != nil {
		return nil, err
	}
	return call[setAttrReq, ms.Attr](ctx, c, "SetAttr", &setAttrReq{Cred: wc, Ino: ino, Valid: in.Valid,
		Mode: in.Mode, Uid: in.Uid, Gid: in.Gid, Size: in.Size, Atime: in.Atime, Mtime: in.Mtime, Ctime: in.Ctime})
}

func (c *Client) create(ctx context.Context, method string, cr *ms.Cred, parent ms.Ino, name string, n ms.NewNode, session uint64) (*ms.Attr, error) {
	wc, err := cred(cr)
	if err != nil {
		return nil, err
	}
	return call[createReq, ms.Attr](ctx, c, method, &createReq{Cred: wc, Parent: parent, Name: name,
		Mode: n.Mode, Umask: n.Umask, Rdev: n.Rdev, Target: n.Target, Exclusive: n.Exclusive, Session: session})
}

func (c *Client) Mknod(ctx context.Context, cr *ms.Cred, parent ms.Ino, name string, n ms.NewNode) (*ms.Attr, error) {
	return c.create(ctx, "Mknod", cr, parent, name, n, 0)
}

func (c *Client) Mkdir(ctx context.Context, cr *ms.Cred, parent ms.Ino, name string, n ms.NewNode) (*ms.Attr, error) {
	return c.create(ctx, "Mkdir", cr, parent, name, n, 0)
}

func (c *Client) Create(ctx context.Context, cr *ms.Cred, parent ms.Ino, name string, n ms.NewNode, session uint64) (*ms.Attr, error) {
	return c.create(ctx, "Create", cr, parent, name, n, session)
}

func (c *Client) CreateFile(ctx context.Context, cr *ms.Cred, parent ms.Ino, name string, n ms.NewNode, session uint64, dataserver string, lease time.Duration) (*ms.CreatedFile, error) {
	wc, err := cred(cr)
	if err != nil {
		return nil, err
	}
	return call[createFileReq, ms.CreatedFile](ctx, c, "CreateFile", &createFileReq{Create: createReq{Cred: wc,
		Parent: parent, Name: name, Mode: n.Mode, Umask: n.Umask, Exclusive: n.Exclusive, Session: session},
		Dataserver: dataserver, Lease: int64(lease)})
}

func (c *Client) Symlink(ctx context.Context, cr *ms.Cred, parent ms.Ino, name, target string) (*ms.Attr, error) {
	return c.create(ctx, "Symlink", cr, parent, name, ms.NewNode{Target: target}, 0)
}

func (c *Client) ReadLink(ctx context.Context, ino ms.Ino) (string, error) {
	r, err := call[inoReq, stringResp](ctx, c, "ReadLink", &inoReq{Ino: ino})
	if err != nil {
		return "", err
	}
	return r.S, nil
}

func (c *Client) Link(ctx context.Context, cr *ms.Cred, ino, parent ms.Ino, name string) (*ms.Attr, error) {
	wc, err := cred(cr)
	if err != nil {
		return nil, err
	}
	return call[linkReq, ms.Attr](ctx, c, "Link", &linkReq{Cred: wc, Ino: ino, Parent: parent, Name: name})
}

func (c *Client) Unlink(ctx context.Context, cr *ms.Cred, parent ms.Ino, name string) error {
	wc, err := cred(cr)
	if err != nil {
		return err
	}
	return callErr(ctx, c, "Unlink", &entryReq{Cred: wc, Parent: parent, Name: name})
}

func (c *Client) Rmdir(ctx context.Context, cr *ms.Cred, parent ms.Ino, name string) error {
	wc, err := cred(cr)
	if err != nil {
		return err
	}
	return callErr(ctx, c, "Rmdir", &entryReq{Cred: wc, Parent: parent, Name: name})
}

func (c *Client) Rename(ctx context.Context, cr *ms.Cred, srcDir ms.Ino, srcName string, dstDir ms.Ino, dstName string, flags uint32) error {
	wc, err := cred(cr)
	if err != nil {
		return err
	}
	return callErr(ctx, c, "Rename", &renameReq{Cred: wc, SrcDir: srcDir, SrcName: srcName,
		DstDir: dstDir, DstName: dstName, Flags: flags})
}

// ReadDir returns at most MaxReadDirEntries entries, whatever limit asks
// (as the core, it may always return fewer than asked: resume from the
// last entry's cookie).
func (c *Client) ReadDir(ctx context.Context, cr *ms.Cred, dir ms.Ino, cookie uint64, limit int, plus bool) ([]ms.DirEntry, error) {
	wc, err := cred(cr)
	if err != nil {
		return nil, err
	}
	r, err := call[readDirReq, readDirResp](ctx, c, "ReadDir", &readDirReq{Cred: wc, Dir: dir, Cookie: cookie,
		Limit: int64(limit), Plus: plus})
	if err != nil {
		return nil, err
	}
	return fromWireEntries(r.Entries), nil
}

func (c *Client) StatFS(ctx context.Context) (*ms.StatFS, error) {
	r, err := call[empty, statFSResp](ctx, c, "StatFS", &empty{})
	if err != nil {
		return nil, err
	}
	return &ms.StatFS{Capacity: r.Capacity, UsedBytes: r.UsedBytes, UsedInodes: r.UsedInodes, MaxInodes: r.MaxInodes,
		FreeBytes: r.FreeBytes}, nil
}

// withCred fills in an xattr request's credential.
func withCred(cr *ms.Cred, req xattrReq) (*xattrReq, error) {
	wc, err := cred(cr)
	if err != nil {
		return nil, err
	}
	req.Cred = wc
	return &req, nil
}

func (c *Client) GetXattr(ctx context.Context, cr *ms.Cred, ino ms.Ino, name string) ([]byte, error) {
	req, err := withCred(cr, xattrReq{Ino: ino, Name: name})
	if err != nil {
		return nil, err
	}
	r, err := call[xattrReq, bytesResp](ctx, c, "GetXattr", req)
	if err != nil {
		return nil, err
	}
	return r.B, nil
}

func (c *Client) SetXattr(ctx context.Context, cr *ms.Cred, ino ms.Ino, name string, value []byte, flags uint32) error {
	req, err := withCred(cr, xattrReq{Ino: ino, Name: name, Value: value, Flags: flags})
	if err != nil {
		return err
	}
	return callErr(ctx, c, "SetXattr", req)
}

func (c *Client) ListXattr(ctx context.Context, cr *ms.Cred, ino ms.Ino) ([]string, error) {
	req, err := withCred(cr, xattrReq{Ino: ino})
	if err != nil {
		return nil, err
	}
	r, err := call[xattrReq, namesResp](ctx, c, "ListXattr", req)
	if err != nil {
		return nil, err
	}
	return r.Names, nil
}

func (c *Client) RemoveXattr(ctx context.Context, cr *ms.Cred, ino ms.Ino, name string) error {
	req, err := withCred(cr, xattrReq{Ino: ino, Name: name})
	if err != nil {
		return err
	}
	return callErr(ctx, c, "RemoveXattr", req)
}

func (c *Client) Access(ctx context.Context, cr *ms.Cred, ino ms.Ino, mask uint32) error {
	wc, err := cred(cr)
	if err != nil {
		return err
	}
	return callErr(ctx, c, "Access", &accessReq{Cred: wc, Ino: ino, Mask: mask})
}

func (c *Client) Sync(ctx context.Context) error {
	return callErr(ctx, c, "Sync", &empty{})
}
