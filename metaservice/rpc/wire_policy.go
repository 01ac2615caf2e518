package rpc

import (
	ms "github.com/lis-fs/lis/metaservice"
)

// Policy messages. A policy travels in the compact form policy.Encode
// makes (a version byte and a msgpack array), and the receiver decodes it
// with policy.Decode, which validates it: a damaged or invalid policy is
// an EINVAL at the receiver, never a bogus Policy.

// setPolicyReq is SetPolicy (with Source) and RemovePolicy.
type setPolicyReq struct {
	_msgpack struct{} `msgpack:",as_array"`

	Cred   wireCred
	Dir    ms.Ino
	Source []byte // the policy file as written
}

type getPolicyResp struct {
	_msgpack struct{} `msgpack:",as_array"`

	Policy []byte // policy.Encode form
	Source []byte
}

type resolvePolicyResp struct {
	_msgpack struct{} `msgpack:",as_array"`

	Policy []byte // policy.Encode form
	From   ms.Ino
}
