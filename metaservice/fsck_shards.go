package metaservice

// checkShardRoots compares the shard records with the directories
// (f.dirs, gathered while checking inodes): a live record whose root is
// gone or roots nothing would make `lis shard list` show a shard that
// does not exist, and let a second record claim its path.
func (f *fsck) checkShardRoots(shards []ShardInfo) {
	claimed := map[Ino]ShardID{}
	for _, sh := range shards {
		child, isDir := f.dirs[sh.Root]
		switch {
		case sh.Retired != 0:
			if isDir && child == sh.ID {
				f.report(sh.Root, "roots shard %d, whose record says it was removed", sh.ID)
			}
			continue
		case !isDir:
			f.report(sh.Root, "shard %d (made at %s) has no root: the directory is gone or unreachable", sh.ID, sh.Path)
		case child != sh.ID:
			f.report(sh.Root, "shard %d names this directory its root, but its children are born in shard %d", sh.ID, child)
		}
		if prev, dup := claimed[sh.Root]; dup {
			f.report(sh.Root, "shards %d and %d both name this directory their root", prev, sh.ID)
		}
		claimed[sh.Root] = sh.ID
	}
	for ino, child := range f.dirs {
		_, ok := claimed[ino]
		if (child != ino.Shard() || ino == RootIno) && !ok {
			f.report(ino, "roots shard %d, which has no live record", child)
		}
	}
}
