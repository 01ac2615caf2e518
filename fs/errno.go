package fs

import (
	"context"
	"errors"
	"log/slog"
	"syscall"

	"github.com/hanwen/go-fuse/v2/fuse"
)

// status turns an internal error into the FUSE status the kernel gets.
// It is the only place that does: errors that carry a syscall.Errno
// (directly, wrapped, or across RPC as *msgrpc.Error) keep it; context
// ends become EINTR/ETIMEDOUT; anything else is logged and becomes EIO, so
// no Go error string ever reaches the kernel.
func status(op string, err error) fuse.Status {
	if err == nil {
		return fuse.OK
	}
	var errno syscall.Errno
	switch {
	case errors.As(err, &errno) && errno != 0:
		return fuse.Status(errno)
	case errors.Is(err, context.Canceled):
		return fuse.EINTR
	case errors.Is(err, context.DeadlineExceeded):
		return fuse.Status(syscall.ETIMEDOUT)
	}
	slog.Error("lis fs: unexpected error", "op", op, "err", err)
	return fuse.EIO
}

func isErrno(err error, errno syscall.Errno) bool { return errors.Is(err, errno) }
