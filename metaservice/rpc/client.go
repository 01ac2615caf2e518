package rpc

import (
	"context"
	"fmt"
	"syscall"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"

	ms "github.com/lis-fs/lis/metaservice"
	"github.com/lis-fs/lis/metaservice/msgrpc"
)

// Client calls a remote metaservice. Its methods have the signatures of
// *metaservice.Service's and the same semantics; errors are
// *msgrpc.Error values that errors.Is-match the errno the core returned.
// A Client is safe for concurrent use: calls are multiplexed on one
// connection.
type Client struct {
	conn  grpc.ClientConnInterface
	owned *grpc.ClientConn // closed by Close when Dial made it
}

// NewClient returns a Client calling over conn, which stays the caller's.
// conn must use msgrpc's codec (msgrpc.Dial makes such connections).
func NewClient(conn grpc.ClientConnInterface) *Client { return &Client{conn: conn} }

// Dial connects to the metaservice at addr ("unix:/path" or "host:port").
// creds may be nil for plaintext (unix sockets, loopback). The connection
// is made lazily; a metaservice that is down shows as ENOTCONN on calls.
func Dial(addr string, creds credentials.TransportCredentials) (*Client, error) {
	conn, err := msgrpc.Dial(addr, creds)
	if err != nil {
		return nil, fmt.Errorf("metaservice client: %w", err)
	}
	return &Client{conn: conn, owned: conn}, nil
}

// Close closes the connection if Dial made it. Calls in flight fail.
func (c *Client) Close() error {
	if c.owned == nil {
		return nil
	}
	return c.owned.Close()
}

// call invokes one lis.Meta method.
func call[Req, Resp any](ctx context.Context, c *Client, method string, req *Req) (*Resp, error) {
	opts, deliver := ownChangesOption(ctx)
	resp, err := msgrpc.Invoke[Req, Resp](withCallerHeader(ctx), c.conn, ServiceName, method, req, opts...)
	deliver() // also after an error: a transaction may have committed
	return resp, err
}

// callErr invokes a method whose response carries nothing.
func callErr[Req any](ctx context.Context, c *Client, method string, req *Req) error {
	_, err := call[Req, empty](ctx, c, method, req)
	return err
}

// cred converts the caller's credential. The core dereferences it, so a
// nil one is refused here rather than sent as root's; the error has the
// type of the server's errors.
func cred(c *ms.Cred) (wireCred, error) {
	if c == nil {
		return wireCred{}, &msgrpc.Error{Errno: syscall.EINVAL, Code: codes.InvalidArgument, Msg: "metaservice client: nil credential"}
	}
	return toWireCred(c), nil
}
