package copier

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"
)

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
					os.Remove(dst)
				}
			})
		}
	}
}
