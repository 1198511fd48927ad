//go:build linux

package copier

import (
	"os"
	"syscall"
)

// preallocate reserves the blocks up front so parallel pwrites do not fragment the file;
// filesystems without fallocate get a sparse file of the right size instead.
func preallocate(f *os.File, size int64) error {
	if size == 0 {
		return f.Truncate(0)
	}
	if err := syscall.Fallocate(int(f.Fd()), 0, 0, size); err == nil {
		return f.Truncate(size)
	}
	return f.Truncate(size)
}
