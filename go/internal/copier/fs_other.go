//go:build !linux

package copier

import "os"

// preallocate sets the final size; without fallocate the file is sparse until written.
func preallocate(f *os.File, size int64) error {
	return f.Truncate(size)
}

// openFile is os.OpenFile; the Linux version skips the poller registration.
func openFile(path string, flags int, perm uint32) (*os.File, error) {
	return os.OpenFile(path, flags, os.FileMode(perm))
}

// rename is os.Rename.
func rename(from, to string) error { return os.Rename(from, to) }
