package chunkstore

import "math/bits"

// staleSet is a set of block numbers (see Chunk.stale), a bitmap sized to
// the highest block added.
type staleSet struct {
	words []uint64
	n     int // blocks in the set
}

func (s *staleSet) add(b int64) {
	w := int(b / 64)
	for w >= len(s.words) {
		s.words = append(s.words, 0)
	}
	if s.words[w]&(1<<(b%64)) == 0 {
		s.words[w] |= 1 << (b % 64)
		s.n++
	}
}

func (s *staleSet) remove(b int64) {
	if w := int(b / 64); w < len(s.words) && s.words[w]&(1<<(b%64)) != 0 {
		s.words[w] &^= 1 << (b % 64)
		s.n--
	}
}

func (s *staleSet) has(b int64) bool {
	w := int(b / 64)
	return s.n > 0 && w < len(s.words) && s.words[w]&(1<<(b%64)) != 0
}

func (s *staleSet) empty() bool { return s.n == 0 }

// cut removes every block >= from.
func (s *staleSet) cut(from int64) {
	for _, b := range s.list() {
		if b >= from {
			s.remove(b)
		}
	}
}

// list returns the blocks in the set in increasing order.
func (s *staleSet) list() []int64 {
	out := make([]int64, 0, s.n)
	for w, word := range s.words {
		for word != 0 {
			i := bits.TrailingZeros64(word)
			out = append(out, int64(w*64+i))
			word &^= 1 << i
		}
	}
	return out
}
