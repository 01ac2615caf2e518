package fs

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"syscall"

	ms "github.com/lis-fs/lis/metaservice"
	"github.com/lis-fs/lis/metaservice/policy"
)

// A regular file named .lis-policy.yaml holds its directory's replication
// policy. It stays a real file (cat shows what was written), and its
// content becomes the directory's policy when a descriptor that could
// write it is closed or fsynced after data was written through it, or
// when a file is renamed to that name. Content that does not parse or
// validate is refused there, with EINVAL at close and fsync, and EBADMSG
// for a rename (mv(1) takes EINVAL for a move into a subdirectory of
// itself and would say so); the parser's message (line and key) goes to
// the log, and the previous policy stays in force. A close with nothing
// written leaves the policy alone: a shell redirection opens, truncates
// and closes a duplicate of the descriptor before it writes. Unlinking the file, or renaming it away, removes the
// policy: the metaservice does that in the same transaction.

// policyFiles remembers which inodes this client has seen named as a
// directory's policy file, and in which directory: opens name only an
// inode, and the kernel looks every name up before it opens it.
type policyFiles struct {
	mu   sync.Mutex // guards dirs
	dirs map[ms.Ino]ms.Ino
}

// saw records that name in dir is a (whose attributes were just read).
func (p *policyFiles) saw(dir ms.Ino, name string, a *ms.Attr) {
	if name != ms.PolicyFileName || a == nil || a.Type() != syscall.S_IFREG {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.dirs == nil {
		p.dirs = map[ms.Ino]ms.Ino{}
	}
	p.dirs[a.Ino] = dir
}

// dirOf returns the directory whose policy file ino is, or 0.
func (p *policyFiles) dirOf(ino ms.Ino) ms.Ino {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.dirs[ino]
}

// gone forgets dir's policy file: it was unlinked, renamed away or
// replaced. Descriptors still open on it no longer set the policy.
func (f *FS) policyFileGone(dir ms.Ino) {
	p := &f.policies
	p.mu.Lock()
	for ino, d := range p.dirs {
		if d == dir {
			delete(p.dirs, ino)
		}
	}
	p.mu.Unlock()
	for _, of := range f.files.snapshot() {
		of.mu.Lock()
		if of.policyDir == dir {
			of.policyDir = 0
		}
		of.mu.Unlock()
	}
}

// opened marks of as dir's policy file if it is one and the open may
// write it.
func (f *FS) openedPolicyFile(of *openFile, flags uint32) {
	if flags&syscall.O_ACCMODE == syscall.O_RDONLY {
		return
	}
	if dir := f.policies.dirOf(of.ino); dir != 0 {
		of.mu.Lock()
		of.policyDir = dir
		of.mu.Unlock()
	}
}

// applyPolicyFile makes the content of the policy file of open file of
// (if it is one, opened for writing) its directory's policy.
func (f *FS) applyPolicyFile(ctx context.Context, c *ms.Cred, of *openFile) error {
	of.mu.Lock()
	dir, size, written := of.policyDir, of.size, of.policyWritten
	of.mu.Unlock()
	if dir == 0 || !written {
		return nil
	}
	src, err := f.readPolicyFile(ctx, of, size)
	if err == nil {
		err = f.meta.SetPolicy(ctx, c, dir, src)
	}
	if err != nil {
		// Still unapplied: the next fsync or close says so again.
		slog.Warn("lis fs: policy file refused; the previous policy stays in force", "dir", dir, "err", err)
		return fmt.Errorf("policy of directory %d: %w", dir, err)
	}
	of.mu.Lock()
	of.policyWritten = false
	of.mu.Unlock()
	return nil
}

func (f *FS) readPolicyFile(ctx context.Context, of *openFile, size uint64) ([]byte, error) {
	if size > policy.MaxFileSize {
		return nil, fmt.Errorf("%s of %d bytes: a policy file may have at most %d: %w", ms.PolicyFileName, size, policy.MaxFileSize, syscall.EINVAL)
	}
	buf := make([]byte, size)
	if err := f.readAt(ctx, of, 0, buf); err != nil {
		return nil, err
	}
	return buf, nil
}

// policyOfRenamed reads the file named name in dir, about to be renamed to
// a policy file name, and checks it: a rename that would put a policy
// file in place that does not parse is refused (EINVAL). It returns the
// content to make the target directory's policy once the rename is done,
// and the file's attributes; nil when the file is not a regular one.
func (f *FS) policyOfRenamed(ctx context.Context, dir ms.Ino, name string) ([]byte, *ms.Attr, error) {
	a, err := f.meta.Lookup(ctx, ms.Root, dir, name)
	if err != nil || a.Type() != syscall.S_IFREG {
		return nil, nil, err
	}
	of, _, _ := f.files.open(a)
	defer f.files.release(of)
	src, err := f.readPolicyFile(ctx, of, a.Size)
	if err != nil {
		return nil, nil, err
	}
	if _, err := policy.Parse(src); err != nil {
		slog.Warn("lis fs: rename to a policy file refused", "dir", dir, "name", name, "err", err)
		return nil, nil, fmt.Errorf("%w: %w", syscall.EBADMSG, err)
	}
	return src, a, nil
}
