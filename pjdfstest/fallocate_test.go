package pjdfstest

import (
	"syscall"
	"testing"
)

// TestFallocate covers posix_fallocate(3) (upstream tests/posix_fallocate)
// through the fallocate(2) call glibc makes for it (mode 0), plus the
// modes Lis supports beyond it: FALLOC_FL_KEEP_SIZE and
// FALLOC_FL_PUNCH_HOLE|FALLOC_FL_KEEP_SIZE.
func TestFallocate(t *testing.T) {
	runCases(t, []tcase{
		{name: "extends", setup: []string{"create n0 0644"}, op: "open n0 O_RDWR : fallocate 0 0 0 567",
			check: all([]check{size("n0", 567)}, []check{changed(ctime, "n0")})},
		{name: "keeps data", setup: []string{"create n0 0644"}, prep: writeFile("n0", "abc"),
			op: "open n0 O_WRONLY : fallocate 0 0 0 6", check: []check{content("n0", "abc\x00\x00\x00")}},
		{name: "inside file keeps size", setup: []string{"create n0 0644"}, prep: writeFile("n0", "abcdef"),
			op: "open n0 O_WRONLY : fallocate 0 0 1 2", check: []check{content("n0", "abcdef")}},
		{name: "beyond a hole", setup: []string{"create n0 0644"}, prep: writeFile("n0", "ab"),
			op: "open n0 O_RDWR : fallocate 0 0 4 2", check: []check{content("n0", "ab\x00\x00\x00\x00")}},
		{name: "KEEP_SIZE", setup: []string{"create n0 0644"}, prep: writeFile("n0", "abc"),
			op: "open n0 O_RDWR : fallocate 0 FALLOC_FL_KEEP_SIZE 0 4096", check: []check{content("n0", "abc")}},
		{name: "PUNCH_HOLE", setup: []string{"create n0 0644"}, prep: writeFile("n0", "abcdefghij"),
			op:    "open n0 O_RDWR : fallocate 0 FALLOC_FL_PUNCH_HOLE,FALLOC_FL_KEEP_SIZE 2 3",
			check: []check{content("n0", "ab\x00\x00\x00fghij")}},
		{name: "PUNCH_HOLE past end keeps size", setup: []string{"create n0 0644"}, prep: writeFile("n0", "abcdef"),
			op:    "open n0 O_RDWR : fallocate 0 FALLOC_FL_PUNCH_HOLE,FALLOC_FL_KEEP_SIZE 4 100",
			check: []check{content("n0", "abcd\x00\x00")}},
		{name: "EOPNOTSUPP PUNCH_HOLE without KEEP_SIZE", setup: []string{"create n0 0644"}, prep: writeFile("n0", "abc"),
			op: "open n0 O_RDWR : fallocate 0 FALLOC_FL_PUNCH_HOLE 0 1", want: syscall.EOPNOTSUPP,
			check: []check{content("n0", "abc")}},
		{name: "descriptor carries the right", setup: []string{"mkdir n0 0755", "chown n0 65534 65534"},
			op: asOwner + " open n0/n1 O_CREAT,O_RDWR 0 : fallocate 0 0 0 100", check: []check{size("n0/n1", 100)}},
		{name: "EBADF read-only descriptor", setup: []string{"create n0 0644"}, op: "open n0 O_RDONLY : fallocate 0 0 0 10",
			want: syscall.EBADF, check: []check{size("n0", 0)}},
		{name: "EINVAL zero length", setup: []string{"create n0 0644"}, op: "open n0 O_RDWR : fallocate 0 0 0 0",
			want: syscall.EINVAL},
		{name: "EINVAL negative offset", setup: []string{"create n0 0644"}, op: "open n0 O_RDWR : fallocate 0 0 -1 10",
			want: syscall.EINVAL},
		{name: "EFBIG", setup: []string{"create n0 0644"}, op: "open n0 O_RDWR : fallocate 0 0 9223372036854775800 100",
			want: syscall.EFBIG},
		{name: "ESPIPE fifo", setup: []string{"mkfifo n0 0644"}, op: "open n0 O_RDWR : fallocate 0 0 0 10",
			want: syscall.ESPIPE},
		{name: "EBADF directory", setup: []string{"mkdir n0 0755"}, op: "open n0 O_RDONLY : fallocate 0 0 0 10",
			want: syscall.EBADF},
	})
}
