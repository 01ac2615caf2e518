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
// the bytes at [at, at+len(was)) changed from was to now (equal lengths).
//
// A CRC is affine over GF(2): for messages of one length, crc(X^Y) =
// crc(X) ^ crc(Y) ^ crc(0…0), which reduces the new checksum to
//
//	old ^ (crc(was) ^ crc(now)) · x^(8·(BlockSize-at-len))  mod P
//
// the product being what appending that many zero bytes does to a CRC
// register (zlib's crc32_combine). So a small write into a block costs a
// read and checksum of the bytes it replaces, not of the whole block.
func patchedBlockCRC(old uint32, was, now []byte, at int64) uint32 {
	d := crc32.Checksum(was, castagnoli) ^ crc32.Checksum(now, castagnoli)
	return old ^ multModP(xPow8n(BlockSize-at-int64(len(now))), d)
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
