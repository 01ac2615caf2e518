package msgrpc

import (
	"context"
	"errors"
	"fmt"
	"syscall"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// ErrnoCodeBase offsets errno values into the gRPC status code space, above
// every code gRPC itself defines.
const ErrnoCodeBase = 1000

// Error is a remote handler's error as the caller sees it.
type Error struct {
	Errno syscall.Errno // 0 when the remote error carried no errno
	Code  codes.Code
	Msg   string
}

func (e *Error) Error() string { return e.Msg }

// Unwrap lets errors.Is match the remote errno.
func (e *Error) Unwrap() error {
	if e.Errno != 0 {
		return e.Errno
	}
	return nil
}

// toStatus converts a handler error into the gRPC status sent on the wire.
func toStatus(err error) error {
	if err == nil {
		return nil
	}
	if _, ok := status.FromError(err); ok {
		return err
	}
	var errno syscall.Errno
	if errors.As(err, &errno) && errno != 0 {
		return status.Error(codes.Code(ErrnoCodeBase+uint32(errno)), err.Error())
	}
	switch {
	case errors.Is(err, context.Canceled):
		return status.Error(codes.Canceled, err.Error())
	case errors.Is(err, context.DeadlineExceeded):
		return status.Error(codes.DeadlineExceeded, err.Error())
	}
	return status.Error(codes.Internal, err.Error())
}

// fromStatus converts an error returned by a gRPC call into an *Error (or
// passes through context errors of the caller's own context).
func fromStatus(method string, err error) error {
	if err == nil {
		return nil
	}
	st, ok := status.FromError(err)
	if !ok {
		return fmt.Errorf("%s: %w", method, err)
	}
	e := &Error{Code: st.Code(), Msg: fmt.Sprintf("%s: %s", method, st.Message())}
	if c := uint32(st.Code()); c > ErrnoCodeBase && c < ErrnoCodeBase+4096 {
		e.Errno = syscall.Errno(c - ErrnoCodeBase)
	}
	switch st.Code() {
	case codes.Unavailable:
		e.Errno = syscall.ENOTCONN
	case codes.DeadlineExceeded:
		e.Errno = syscall.ETIMEDOUT
	case codes.Canceled:
		e.Errno = syscall.EINTR
	case codes.ResourceExhausted:
		e.Errno = syscall.E2BIG
	}
	return e
}

// WireError is err as a stream message carries it: the status code a
// unary handler's error would have been sent with, and its text. Streams
// that multiplex many requests answer each with these fields instead of
// ending the stream; FromWire turns them back into the caller's error.
func WireError(err error) (code uint32, msg string) {
	st, _ := status.FromError(toStatus(err))
	return uint32(st.Code()), st.Message()
}

// FromWire is the caller's error for a code and text made by WireError: the
// same *Error a unary call of method would have returned. Code 0 is no
// error.
func FromWire(method string, code uint32, msg string) error {
	if code == 0 {
		return nil
	}
	return fromStatus(method, status.Error(codes.Code(code), msg))
}
