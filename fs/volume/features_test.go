package volume

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// sharedMount mounts one volume for a group of subtests.
func sharedMount(t *testing.T) string {
	v, mnt := mountForTest(t, t.TempDir())
	t.Cleanup(func() { require.NoError(t, v.Unmount(context.Background())) })
	return mnt
}

func TestClientFeatures(t *testing.T) {
	mnt := sharedMount(t)
	for name, test := range map[string]func(t *testing.T, dir string){
		"Mmap":            testMmap,
		"Append":          testAppend,
		"DirectIO":        testDirectIO,
		"SparseBeyond4G":  testSparseBeyond4G,
		"UnlinkedOpen":    testUnlinkedOpen,
		"Fallocate":       testFallocate,
		"Xattrs":          testXattrs,
		"Locks":           testLocks,
		"Fsync":           testFsync,
		"RenameExchange":  testRenameExchange,
		"NameTooLong":     testNameTooLong,
		"OverwriteMiddle": testOverwriteMiddle,
	} {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(mnt, name)
			require.NoError(t, os.Mkdir(dir, 0o755))
			test(t, dir)
		})
	}
}

func testMmap(t *testing.T, dir string) {
	p := filepath.Join(dir, "m")
	require.NoError(t, os.WriteFile(p, bytes.Repeat([]byte{'a'}, 8192), 0o644))
	f, err := os.OpenFile(p, os.O_RDWR, 0)
	require.NoError(t, err)
	defer f.Close()
	shared, err := unix.Mmap(int(f.Fd()), 0, 8192, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	require.NoError(t, err)
	copy(shared[4096:], "shared write")
	require.NoError(t, unix.Msync(shared, unix.MS_SYNC))
	require.NoError(t, unix.Munmap(shared))
	private, err := unix.Mmap(int(f.Fd()), 0, 8192, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE)
	require.NoError(t, err)
	copy(private, "private write")
	require.NoError(t, unix.Munmap(private))
	require.NoError(t, f.Close())

	got, err := os.ReadFile(p)
	require.NoError(t, err)
	require.Equal(t, "shared write", string(got[4096:4096+12]))
	require.Equal(t, byte('a'), got[0], "a private mapping's writes stay private")
}

func testAppend(t *testing.T, dir string) {
	p := filepath.Join(dir, "log")
	for _, line := range []string{"one\n", "two\n", "three\n"} {
		f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		require.NoError(t, err)
		_, err = f.WriteString(line)
		require.NoError(t, err)
		require.NoError(t, f.Close())
	}
	got, err := os.ReadFile(p)
	require.NoError(t, err)
	require.Equal(t, "one\ntwo\nthree\n", string(got))
}

func alignedBuf(n int) []byte {
	b := make([]byte, n+4096)
	off := 4096 - int(uintptr(unsafe.Pointer(&b[0]))%4096)
	return b[off : off+n]
}

func testDirectIO(t *testing.T, dir string) {
	p := filepath.Join(dir, "direct")
	f, err := os.OpenFile(p, os.O_CREATE|os.O_RDWR|syscall.O_DIRECT, 0o644)
	require.NoError(t, err)
	defer f.Close()
	buf := alignedBuf(1 << 16)
	for i := range buf {
		buf[i] = byte(i * 7)
	}
	_, err = f.WriteAt(buf, 1<<16)
	require.NoError(t, err)
	back := alignedBuf(1 << 16)
	_, err = f.ReadAt(back, 1<<16)
	require.NoError(t, err)
	require.Equal(t, buf, back)
	st, err := f.Stat()
	require.NoError(t, err)
	require.Equal(t, int64(2<<16), st.Size())
}

func testSparseBeyond4G(t *testing.T, dir string) {
	p := filepath.Join(dir, "sparse")
	f, err := os.Create(p)
	require.NoError(t, err)
	const far = 5<<30 + 123 // past 4 GiB and across chunk boundaries
	_, err = f.WriteAt([]byte("far away"), far)
	require.NoError(t, err)
	_, err = f.WriteAt([]byte("near"), 10)
	require.NoError(t, err)
	require.NoError(t, f.Close())
	st, err := os.Stat(p)
	require.NoError(t, err)
	require.Equal(t, int64(far+8), st.Size())
	f, err = os.Open(p)
	require.NoError(t, err)
	defer f.Close()
	buf := make([]byte, 16)
	_, err = f.ReadAt(buf, far-8)
	require.NoError(t, err)
	require.Equal(t, append(make([]byte, 8), "far away"...), buf)
	hole := make([]byte, 4096)
	_, err = f.ReadAt(hole, 3<<30) // a hole in a chunk never written
	require.NoError(t, err)
	require.Equal(t, make([]byte, 4096), hole)
	_, err = f.ReadAt(buf[:4], 10)
	require.NoError(t, err)
	require.Equal(t, "near", string(buf[:4]))
}

func testUnlinkedOpen(t *testing.T, dir string) {
	p := filepath.Join(dir, "tmp")
	f, err := os.Create(p)
	require.NoError(t, err)
	defer f.Close()
	_, err = f.WriteString("still here")
	require.NoError(t, err)
	require.NoError(t, os.Remove(p))
	_, err = os.Stat(p)
	require.ErrorIs(t, err, syscall.ENOENT)
	_, err = f.WriteString(", and more")
	require.NoError(t, err)
	buf := make([]byte, 20)
	n, err := f.ReadAt(buf, 0)
	require.Equal(t, "still here, and more", string(buf[:n]))
	st, err := f.Stat()
	require.NoError(t, err)
	require.Equal(t, uint64(0), st.Sys().(*syscall.Stat_t).Nlink)
}

func testFallocate(t *testing.T, dir string) {
	p := filepath.Join(dir, "fa")
	require.NoError(t, os.WriteFile(p, bytes.Repeat([]byte{'x'}, 10000), 0o644))
	f, err := os.OpenFile(p, os.O_RDWR, 0)
	require.NoError(t, err)
	defer f.Close()
	require.NoError(t, unix.Fallocate(int(f.Fd()), 0, 0, 20000))
	st, err := f.Stat()
	require.NoError(t, err)
	require.Equal(t, int64(20000), st.Size())
	require.NoError(t, unix.Fallocate(int(f.Fd()), unix.FALLOC_FL_PUNCH_HOLE|unix.FALLOC_FL_KEEP_SIZE, 100, 200))
	got := make([]byte, 20000)
	_, err = f.ReadAt(got, 0)
	require.NoError(t, err)
	require.Equal(t, bytes.Repeat([]byte{'x'}, 100), got[:100])
	require.Equal(t, make([]byte, 200), got[100:300])
	require.Equal(t, bytes.Repeat([]byte{'x'}, 9700), got[300:10000])
	require.Equal(t, make([]byte, 10000), got[10000:])
	require.ErrorIs(t, unix.Fallocate(int(f.Fd()), unix.FALLOC_FL_COLLAPSE_RANGE, 0, 4096), syscall.EOPNOTSUPP)
}

func testXattrs(t *testing.T, dir string) {
	p := filepath.Join(dir, "x")
	require.NoError(t, os.WriteFile(p, nil, 0o644))
	require.NoError(t, unix.Setxattr(p, "user.color", []byte("blue"), 0))
	require.ErrorIs(t, unix.Setxattr(p, "user.color", []byte("red"), unix.XATTR_CREATE), syscall.EEXIST)
	buf := make([]byte, 64)
	n, err := unix.Getxattr(p, "user.color", buf)
	require.NoError(t, err)
	require.Equal(t, "blue", string(buf[:n]))
	n, err = unix.Getxattr(p, "user.color", buf[:2])
	require.ErrorIs(t, err, syscall.ERANGE)
	n, err = unix.Listxattr(p, buf)
	require.NoError(t, err)
	require.Equal(t, "user.color\x00", string(buf[:n]))
	require.NoError(t, unix.Removexattr(p, "user.color"))
	_, err = unix.Getxattr(p, "user.color", buf)
	require.ErrorIs(t, err, syscall.ENODATA)
}

func testLocks(t *testing.T, dir string) {
	p := filepath.Join(dir, "lock")
	require.NoError(t, os.WriteFile(p, []byte("0123456789"), 0o644))
	a, err := os.OpenFile(p, os.O_RDWR, 0)
	require.NoError(t, err)
	defer a.Close()
	b, err := os.OpenFile(p, os.O_RDWR, 0)
	require.NoError(t, err)
	defer b.Close()
	// flock: two open file descriptions exclude each other.
	require.NoError(t, unix.Flock(int(a.Fd()), unix.LOCK_EX|unix.LOCK_NB))
	require.ErrorIs(t, unix.Flock(int(b.Fd()), unix.LOCK_EX|unix.LOCK_NB), syscall.EWOULDBLOCK)
	require.NoError(t, unix.Flock(int(a.Fd()), unix.LOCK_UN))
	require.NoError(t, unix.Flock(int(b.Fd()), unix.LOCK_SH|unix.LOCK_NB))
	require.NoError(t, unix.Flock(int(b.Fd()), unix.LOCK_UN))
	// fcntl: locks of one process never conflict with themselves, so
	// F_GETLK from this process on a range it holds says unlocked.
	lk := unix.Flock_t{Type: unix.F_WRLCK, Whence: 0, Start: 0, Len: 5}
	require.NoError(t, unix.FcntlFlock(a.Fd(), unix.F_SETLK, &lk))
	probe := unix.Flock_t{Type: unix.F_WRLCK, Start: 0, Len: 10}
	require.NoError(t, unix.FcntlFlock(b.Fd(), unix.F_GETLK, &probe))
	require.Equal(t, int16(unix.F_UNLCK), probe.Type)
}

func testFsync(t *testing.T, dir string) {
	f, err := os.Create(filepath.Join(dir, "synced"))
	require.NoError(t, err)
	defer f.Close()
	for i := 0; i < 20; i++ {
		_, err := f.WriteAt(bytes.Repeat([]byte{byte(i)}, 4096), int64(i)*4096)
		require.NoError(t, err)
		require.NoError(t, f.Sync())
	}
	st, err := f.Stat()
	require.NoError(t, err)
	require.Equal(t, int64(20*4096), st.Size())
	d, err := os.Open(dir)
	require.NoError(t, err)
	require.NoError(t, d.Sync())
	d.Close()
}

func testRenameExchange(t *testing.T, dir string) {
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	require.NoError(t, os.WriteFile(a, []byte("A"), 0o644))
	require.NoError(t, os.WriteFile(b, []byte("B"), 0o644))
	require.ErrorIs(t, unix.Renameat2(unix.AT_FDCWD, a, unix.AT_FDCWD, b, unix.RENAME_NOREPLACE), syscall.EEXIST)
	require.NoError(t, unix.Renameat2(unix.AT_FDCWD, a, unix.AT_FDCWD, b, unix.RENAME_EXCHANGE))
	got, err := os.ReadFile(a)
	require.NoError(t, err)
	require.Equal(t, "B", string(got))
	got, err = os.ReadFile(b)
	require.NoError(t, err)
	require.Equal(t, "A", string(got))
}

func testNameTooLong(t *testing.T, dir string) {
	long := filepath.Join(dir, string(bytes.Repeat([]byte{'n'}, 256)))
	require.ErrorIs(t, os.WriteFile(long, nil, 0o644), syscall.ENAMETOOLONG)
	ok := filepath.Join(dir, string(bytes.Repeat([]byte{'n'}, 255)))
	require.NoError(t, os.WriteFile(ok, nil, 0o644))
}

func testOverwriteMiddle(t *testing.T, dir string) {
	p := filepath.Join(dir, "ow")
	require.NoError(t, os.WriteFile(p, bytes.Repeat([]byte{'-'}, 100), 0o644))
	f, err := os.OpenFile(p, os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = f.WriteAt([]byte("XYZ"), 50)
	require.NoError(t, err)
	require.NoError(t, f.Close())
	got, err := os.ReadFile(p)
	require.NoError(t, err)
	require.Equal(t, 100, len(got))
	require.Equal(t, "--XYZ--", string(got[48:55]))
}
