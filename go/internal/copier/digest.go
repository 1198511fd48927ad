package copier

import (
	"crypto/sha256"
	"encoding/hex"
)

// FileDigest is the whole-file checksum recorded on a transfer, built from the chunk digests so
// that no byte is hashed twice: a file of at most one chunk gets the plain sha256 of its content
// (what `sha256sum` prints); a longer file gets the sha256 of its chunk digests (32 raw bytes
// each, in chunk order). The Python engine computes the same value (loaders.file_backends.base).
func FileDigest(sums [][sha256.Size]byte) string {
	if len(sums) == 1 {
		return hex.EncodeToString(sums[0][:])
	}
	h := sha256.New()
	for i := range sums {
		h.Write(sums[i][:])
	}
	return hex.EncodeToString(h.Sum(nil))
}
