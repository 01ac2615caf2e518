package chunkstore

import "hash/crc32"

// BlockSize is the checksum granularity: one CRC32C per BlockSize bytes.
const BlockSize = 64 << 10

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// zeroBlock is BlockSize zero bytes, used to pad checksums past the end of
// a chunk. Never written to.
var zeroBlock = make([]byte, BlockSize)

// ZeroBlockCRC is the checksum of a block that is a hole (all zeros).
var ZeroBlockCRC = crc32.Checksum(zeroBlock, castagnoli)

// CRC returns the CRC32C of b, the checksum used for every mutation payload
// and block in Lis.
func CRC(b []byte) uint32 { return crc32.Checksum(b, castagnoli) }

// blockCRC is the checksum of one block whose first len(b) bytes are b and
// whose remaining bytes (up to BlockSize) are zeros.
func blockCRC(b []byte) uint32 {
	c := crc32.Update(0, castagnoli, b)
	if len(b) < BlockSize {
		c = crc32.Update(c, castagnoli, zeroBlock[:BlockSize-len(b)])
	}
	return c
}

// blocksFor is the number of blocks a chunk of size bytes has.
func blocksFor(size int64) int64 { return (size + BlockSize - 1) / BlockSize }

// patchedBlockCRC is the checksum of a block whose checksum was old after
// the n bytes at at changed from bytes whose CRC32C was was to bytes whose
// CRC32C is now.
//
// A CRC is affine over GF(2): for messages of one length, crc(X^Y) =
// crc(X) ^ crc(Y) ^ crc(0…0), which reduces the new checksum to
//
//	old ^ (was ^ now) · x^(8·(BlockSize-at-n))  mod P
//
// the product being what appending that many zero bytes does to a CRC
// register (zlib's crc32_combine). So a small write into a block costs a
// read and checksum of the bytes it replaces, not of the whole block.
func patchedBlockCRC(old, was, now uint32, at, n int64) uint32 {
	return old ^ multModP(xPow8n(BlockSize-at-n), was^now)
}

// PieceCRCs appends to dst the CRC32C of each piece of p, data written at
// off into a chunk, cut at the chunk's block boundaries: one pass over p
// gives both the write's checksum (JoinCRCs) and the block checksums the
// chunk store needs (Chunk.WriteAtCRCs, AdoptCRCs), which would otherwise
// each take a pass.
func PieceCRCs(dst []uint32, p []byte, off int64) []uint32 {
	for len(p) > 0 {
		n := min(int64(len(p)), BlockSize-off%BlockSize)
		dst = append(dst, CRC(p[:n]))
		p, off = p[n:], off+n
	}
	return dst
}

// JoinCRCs returns the CRC32C of n bytes written at off from their
// PieceCRCs.
func JoinCRCs(pieces []uint32, n, off int64) uint32 {
	var crc uint32
	for i, c := range pieces {
		size := min(n, BlockSize-off%BlockSize)
		if i == 0 {
			crc = c
		} else {
			crc = combineCRC(crc, c, size)
		}
		n, off = n-size, off+size
	}
	return crc
}

// piecesFit reports whether pieces are the PieceCRCs of n bytes at off.
func piecesFit(pieces []uint32, n, off int64) bool {
	return pieces != nil && int64(len(pieces)) == (off+n-1)/BlockSize-off/BlockSize+1
}

// combineCRC is the CRC32C of A followed by B, given crc(A), crc(B) and
// B's length.
func combineCRC(a, b uint32, lenB int64) uint32 {
	return multModP(xPow8n(lenB), a) ^ b
}

// paddedBlockCRC is the checksum of a block whose first n bytes have
// CRC32C c and whose other bytes are zeros (past the chunk's end).
func paddedBlockCRC(c uint32, n int64) uint32 {
	if n == BlockSize {
		return c
	}
	return combineCRC(c, zerosCRC(BlockSize-n), BlockSize-n)
}

// zerosCRC is the CRC32C of n zero bytes without reading them: the
// register starts all ones and each zero byte multiplies it by x^8.
func zerosCRC(n int64) uint32 {
	return ^multModP(xPow8n(n), ^uint32(0))
}

// castagnoliReversed is the CRC32C polynomial in the bit order Go's
// tables use (bit 31 is x^0).
const castagnoliReversed = 0x82f63b78

// multModP multiplies polynomials a and b modulo the CRC32C polynomial,
// both in reversed bit order.
func multModP(a, b uint32) uint32 {
	var p uint32
	for m := uint32(1) << 31; m != 0; m >>= 1 {
		if a&m != 0 {
			p ^= b
		}
		if b&1 != 0 {
			b = b>>1 ^ castagnoliReversed
		} else {
			b >>= 1
		}
	}
	return p
}

// x2n[k] is x^(2^k) mod P.
var x2n = func() (t [32]uint32) {
	t[0] = 1 << 30 // x^1
	for k := 1; k < len(t); k++ {
		t[k] = multModP(t[k-1], t[k-1])
	}
	return t
}()

// xPow8n returns x^(8n) mod P: the operator for n zero bytes.
func xPow8n(n int64) uint32 {
	p := uint32(1) << 31 // x^0
	for k := 3; n != 0; n, k = n>>1, k+1 {
		if n&1 != 0 {
			p = multModP(x2n[k&31], p)
		}
	}
	return p
}
