package msgrpc

import (
	"context"
	"fmt"
	"syscall"

	"google.golang.org/grpc"
)

// Method declares one unary RPC whose request is *Req and response *Resp.
// The handler's errors are converted for the wire (see package doc).
func Method[Req, Resp any](name string, h func(ctx context.Context, req *Req) (*Resp, error)) grpc.MethodDesc {
	return grpc.MethodDesc{
		MethodName: name,
		Handler: func(srv any, ctx context.Context, dec func(any) error, icpt grpc.UnaryServerInterceptor) (any, error) {
			req := new(Req)
			if err := dec(req); err != nil {
				return nil, toStatus(fmt.Errorf("malformed %s request: %v: %w", name, err, syscall.EINVAL))
			}
			call := func(ctx context.Context, r any) (any, error) {
				resp, err := h(ctx, r.(*Req))
				if err != nil {
					return nil, toStatus(err)
				}
				return resp, nil
			}
			if icpt == nil {
				return call(ctx, req)
			}
			return icpt(ctx, req, &grpc.UnaryServerInfo{Server: srv, FullMethod: name}, call)
		},
	}
}

// ServiceDesc builds a service description from methods. The handler type
// is any: the methods close over their receiver themselves.
func ServiceDesc(name string, methods ...grpc.MethodDesc) *grpc.ServiceDesc {
	return &grpc.ServiceDesc{
		ServiceName: name,
		HandlerType: (*any)(nil),
		Methods:     methods,
		Streams:     []grpc.StreamDesc{},
	}
}

// Invoke calls service/method on conn with req and decodes the response.
func Invoke[Req, Resp any](ctx context.Context, conn grpc.ClientConnInterface, service, method string, req *Req, opts ...grpc.CallOption) (*Resp, error) {
	resp := new(Resp)
	full := "/" + service + "/" + method
	if err := conn.Invoke(ctx, full, req, resp, opts...); err != nil {
		return nil, fromStatus(method, err)
	}
	return resp, nil
}
