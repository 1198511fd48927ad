package copier

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkSHA256 is the ceiling of any copy that hashes every byte: sha256 of an in-memory
// buffer, per core (-cpu 1) and over every core (RunParallel).
func BenchmarkSHA256(b *testing.B) {
	buf := make([]byte, blockSize)
	b.Run("one core", func(b *testing.B) {
		b.SetBytes(int64(len(buf)))
		for i := 0; i < b.N; i++ {
			sha256.Sum256(buf)
		}
	})
	b.Run("all cores", func(b *testing.B) {
		b.SetBytes(int64(len(buf)))
		b.RunParallel(func(pb *testing.PB) {
			own := make([]byte, blockSize)
			for pb.Next() {
				sha256.Sum256(own)
			}
		})
	})
}

// BenchmarkCopy measures a local copy of a 64 MiB file at several stream counts and chunk sizes.
func BenchmarkCopy(b *testing.B) {
	dir := b.TempDir()
	src := filepath.Join(dir, "src.bin")
	const size = 64 << 20
	randomFile(b, src, size)
	for _, streams := range []int{1, 2, 4} {
		for _, chunk := range []int64{1 << 20, 8 << 20} {
			b.Run(fmt.Sprintf("streams=%d/chunk=%dMiB", streams, chunk>>20), func(b *testing.B) {
				b.SetBytes(size)
				for i := 0; i < b.N; i++ {
					dst := filepath.Join(dir, fmt.Sprintf("dst-%d", i))
					files, err := Plan(context.Background(), http.DefaultClient, src, dst)
					if err != nil {
						b.Fatal(err)
					}
					opt := Options{Streams: streams, ChunkSize: chunk, Out: io.Discard}
					if _, err := Run(context.Background(), files, opt); err != nil {
						b.Fatal(err)
					}
					b.StopTimer()
					os.Remove(dst)
					b.StartTimer()
				}
			})
		}
	}
}
