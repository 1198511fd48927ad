//go:build linux

package copier

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// preallocate reserves the blocks up front so parallel pwrites do not fragment the file, and so
// that a destination without room for it fails before a byte is copied; filesystems without
// fallocate get a sparse file of the right size instead.
func preallocate(f *os.File, size int64) error {
	if size == 0 {
		return f.Truncate(0)
	}
	err := syscall.Fallocate(int(f.Fd()), 0, 0, size)
	if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) {
		return fmt.Errorf("fallocate %d bytes: %w", size, err)
	}
	return f.Truncate(size)
}

// openFile opens a regular file in blocking mode. os.OpenFile first tries to register every file
// with the network poller (fstat, four fcntl, a failing epoll_ctl): a dozen wasted syscalls per
// file, which shows on trees of thousands of small files. Regular files never need the poller.
func openFile(path string, flags int, perm uint32) (*os.File, error) {
	fd, err := syscall.Open(path, flags|syscall.O_CLOEXEC, perm)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	return os.NewFile(uintptr(fd), path), nil
}

// rename moves a file into place; os.Rename would first lstat the target to refuse directories,
// one more syscall per file, and our targets are never directories we would replace.
func rename(from, to string) error {
	if err := syscall.Rename(from, to); err != nil {
		return &os.LinkError{Op: "rename", Old: from, New: to, Err: err}
	}
	return nil
}
