package metaservice

import (
	"encoding/binary"
	"fmt"
	"sort"
	"syscall"
)

// POSIX ACLs are stored as the xattrs Linux uses for them, in the kernel's
// binary format (little-endian version 2 header, then {tag u16, perm u16,
// id u32} entries), so getfacl/setfacl work unchanged through FUSE.
const (
	xattrACLAccess  = "system.posix_acl_access"
	xattrACLDefault = "system.posix_acl_default"

	aclVersion  = 2
	aclUserObj  = 0x01
	aclUser     = 0x02
	aclGroupObj = 0x04
	aclGroup    = 0x08
	aclMask     = 0x10
	aclOther    = 0x20
	aclNoID     = 0xffffffff
)

type aclEntry struct {
	Tag  uint16
	Perm uint16
	ID   uint32
}

// acl is a parsed ACL, entries sorted by (tag, id) as the kernel keeps them.
type acl []aclEntry

func parseACL(b []byte) (acl, error) {
	if len(b) < 4 || (len(b)-4)%8 != 0 {
		return nil, errnof(syscall.EINVAL, "acl: bad length %d", len(b))
	}
	if v := binary.LittleEndian.Uint32(b); v != aclVersion {
		return nil, errnof(syscall.EINVAL, "acl: version %d, want %d", v, aclVersion)
	}
	var a acl
	for p := b[4:]; len(p) > 0; p = p[8:] {
		a = append(a, aclEntry{
			Tag:  binary.LittleEndian.Uint16(p),
			Perm: binary.LittleEndian.Uint16(p[2:]),
			ID:   binary.LittleEndian.Uint32(p[4:]),
		})
	}
	return a, a.validate()
}

// validate applies the kernel's posix_acl_valid rules.
func (a acl) validate() error {
	var n [0x40]int
	seen := map[[2]uint32]bool{}
	for _, e := range a {
		if e.Perm&^7 != 0 {
			return errnof(syscall.EINVAL, "acl: bad permission %o", e.Perm)
		}
		switch e.Tag {
		case aclUserObj, aclGroupObj, aclMask, aclOther:
		case aclUser, aclGroup:
			k := [2]uint32{uint32(e.Tag), e.ID}
			if seen[k] {
				return errnof(syscall.EINVAL, "acl: duplicate entry for id %d", e.ID)
			}
			seen[k] = true
		default:
			return errnof(syscall.EINVAL, "acl: unknown tag %#x", e.Tag)
		}
		n[e.Tag]++
	}
	if n[aclUserObj] != 1 || n[aclGroupObj] != 1 || n[aclOther] != 1 || n[aclMask] > 1 {
		return errnof(syscall.EINVAL, "acl: needs exactly one user, group and other entry")
	}
	if (n[aclUser] > 0 || n[aclGroup] > 0) && n[aclMask] == 0 {
		return errnof(syscall.EINVAL, "acl: named entries need a mask entry")
	}
	return nil
}

func (a acl) encode() []byte {
	sort.Slice(a, func(i, j int) bool {
		if a[i].Tag != a[j].Tag {
			return a[i].Tag < a[j].Tag
		}
		return a[i].ID < a[j].ID
	})
	b := binary.LittleEndian.AppendUint32(nil, aclVersion)
	for _, e := range a {
		b = binary.LittleEndian.AppendUint16(b, e.Tag)
		b = binary.LittleEndian.AppendUint16(b, e.Perm)
		b = binary.LittleEndian.AppendUint32(b, e.ID)
	}
	return b
}

func (a acl) find(tag uint16) *aclEntry {
	for i := range a {
		if a[i].Tag == tag {
			return &a[i]
		}
	}
	return nil
}

// isMinimal reports whether the ACL says no more than the mode bits do.
func (a acl) isMinimal() bool { return len(a) == 3 }

// modeBits returns the permission bits the ACL implies: the group class is
// the mask when there is one.
func (a acl) modeBits() uint32 {
	g := a.find(aclGroupObj)
	if m := a.find(aclMask); m != nil {
		g = m
	}
	return uint32(a.find(aclUserObj).Perm)<<6 | uint32(g.Perm)<<3 | uint32(a.find(aclOther).Perm)
}

// applyMode rewrites the owner, group-class and other entries from mode,
// as chmod does to an inode with an ACL.
func (a acl) applyMode(mode uint32) {
	a.find(aclUserObj).Perm = uint16(mode>>6) & 7
	g := a.find(aclGroupObj)
	if m := a.find(aclMask); m != nil {
		g = m
	}
	g.Perm = uint16(mode>>3) & 7
	a.find(aclOther).Perm = uint16(mode) & 7
}

// inherit computes a new inode's access ACL from its parent's default ACL
// and the mode the creator asked for (posix_acl_create): the creation mode
// masks the owner, group-class and other entries, and the resulting mode
// follows the ACL.
func (a acl) inherit(mode uint32) (acl, uint32) {
	c := append(acl(nil), a...)
	u, o := c.find(aclUserObj), c.find(aclOther)
	g := c.find(aclGroupObj)
	if m := c.find(aclMask); m != nil {
		g = m
	}
	u.Perm &= uint16(mode>>6) & 7
	g.Perm &= uint16(mode>>3) & 7
	o.Perm &= uint16(mode) & 7
	return c, mode&^0777 | c.modeBits()
}

// check evaluates the ACL for cred wanting mask (POSIX 1003.1e order).
func (a acl) check(attr *Attr, c *Cred, want uint32) bool {
	if c.Uid == attr.Uid {
		return uint32(a.find(aclUserObj).Perm)&want == want
	}
	var mask uint16 = 7
	if m := a.find(aclMask); m != nil {
		mask = m.Perm
	}
	for _, e := range a {
		if e.Tag == aclUser && e.ID == c.Uid {
			return uint32(e.Perm&mask)&want == want
		}
	}
	matched := false
	for _, e := range a {
		var in bool
		switch e.Tag {
		case aclGroupObj:
			in = c.inGroup(attr.Gid)
		case aclGroup:
			in = c.inGroup(e.ID)
		}
		if in {
			matched = true
			if uint32(e.Perm&mask)&want == want {
				return true
			}
		}
	}
	if matched {
		return false
	}
	return uint32(a.find(aclOther).Perm)&want == want
}

func (a acl) String() string { return fmt.Sprintf("%v", []aclEntry(a)) }
