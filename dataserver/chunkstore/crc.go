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
