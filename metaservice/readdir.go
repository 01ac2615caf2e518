package metaservice

import (
	"context"
	"fmt"
	"syscall"
)

// DirEntry is one entry of a directory listing. Cookie is the position
// just after the entry: passing it back to ReadDir resumes there, however
// the directory changed in between (entries are ordered by a hash of their
// name, and the cookie is a hash position, not an index).
type DirEntry struct {
	Name   string
	Ino    Ino
	Type   uint32
	Cookie uint64
	Attr   *Attr // set by ReadDir with plus
}

// ReadDir lists up to limit entries of dir from cookie (0 for the start,
// where "." and ".." come first). With plus, each entry carries its
// attributes, read in one batch. Only limit entries are ever read, so
// directories of any size list in bounded memory.
func (s *Service) ReadDir(ctx context.Context, c *Cred, dir Ino, cookie uint64, limit int, plus bool) ([]DirEntry, error) {
	hold := s.holder(ctx)
	if limit <= 0 {
		limit = 1024
	}
	var out []DirEntry
	err := s.view(ctx, func(t *tx) error {
		out = out[:0]
		d, err := t.dir(dir)
		if err != nil {
			return err
		}
		if err := t.access(d, c, MayRead); err != nil {
			return err
		}
		if out, err = t.dots(d, cookie, plus); err != nil {
			return err
		}
		from := max(cookie, hashOffset)
		if err := t.scanDir(dir, from, limit-len(out), &out); err != nil {
			return err
		}
		if plus {
			return t.fillAttrs(out)
		}
		return nil
	})
	if err == nil {
		hold(AnsweredInos(out), dir)
	}
	return out, err
}

func (t *tx) dots(d *Attr, cookie uint64, plus bool) ([]DirEntry, error) {
	var out []DirEntry
	if cookie < 1 {
		out = append(out, DirEntry{Name: ".", Ino: d.Ino, Type: syscall.S_IFDIR, Cookie: 1})
	}
	if cookie < 2 {
		out = append(out, DirEntry{Name: "..", Ino: d.Parent, Type: syscall.S_IFDIR, Cookie: 2})
	}
	if plus {
		for i := range out {
			if out[i].Ino == d.Ino {
				out[i].Attr = d
			}
		}
	}
	return out, nil
}

func (t *tx) scanDir(dir Ino, from uint64, limit int, out *[]DirEntry) error {
	if limit <= 0 {
		return nil
	}
	start, end := dentryRange(dir, from)
	var derr error
	err := t.Scan(start, end, limit, func(k, v []byte) bool {
		h, name := dentryName(k)
		var d Dentry
		if derr = decode(k, v, &d); derr != nil {
			return false
		}
		*out = append(*out, DirEntry{Name: name, Ino: d.Ino, Type: d.Type, Cookie: h + 1})
		return true
	})
	if err != nil {
		return fmt.Errorf("list directory %d: %w", dir, err)
	}
	return derr
}

func (t *tx) fillAttrs(entries []DirEntry) error {
	var inos []Ino
	for _, e := range entries {
		if e.Attr == nil {
			inos = append(inos, e.Ino)
		}
	}
	attrs, err := t.attrs(inos)
	if err != nil {
		return err
	}
	for i := range entries {
		if entries[i].Attr == nil {
			entries[i].Attr = attrs[entries[i].Ino]
		}
	}
	return nil
}

// AnsweredInos are the inodes a listing answers with attributes, which
// it holds (see Caller): every entry but "." and "..", which the kernel
// takes no reference for.
func AnsweredInos(ents []DirEntry) []Ino {
	var inos []Ino
	for _, e := range ents {
		if e.Attr != nil && e.Name != "." && e.Name != ".." {
			inos = append(inos, e.Ino)
		}
	}
	return inos
}
