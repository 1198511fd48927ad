//go:build !linux

package copier

import "os"

// preallocate sets the final size; without fallocate the file is sparse until written.
func preallocate(f *os.File, size int64) error {
	return f.Truncate(size)
}
