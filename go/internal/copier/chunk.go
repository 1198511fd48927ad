package copier

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
)

func digest(p []byte) string {
	sum := sha256.Sum256(p)
	return hex.EncodeToString(sum[:])
}

// doChunk skips a chunk the destination already holds intact, otherwise copies it, then hands
// the bytes to the file's ordered digest.
func (c *copyState) doChunk(ctx context.Context, job chunkJob, buf []byte) error {
	f := job.file
	if job.want != "" {
		ok, err := c.alreadyThere(job, buf)
		if err != nil {
			return fmt.Errorf("verify chunk %d: %w", job.n, err)
		}
		if ok {
			c.resumed.Add(1)
			c.emitChunk(job, job.want, "", true)
			return c.feed(f, job.n, buf, job.want)
		}
		c.redone.Add(1)
		f.mu.Lock()
		f.redone++
		f.mu.Unlock()
	}
	sum, etag, err := c.copyChunk(ctx, job, buf)
	if err != nil {
		return err
	}
	c.copied.Add(1)
	c.bytes.Add(job.length)
	c.emitChunk(job, sum, etag, false)
	return c.feed(f, job.n, buf, sum)
}

// alreadyThere re-reads a resumed chunk from the destination and compares digests, so a chunk
// recorded as verified but lost or corrupted since is copied again. A destination that cannot
// be read back (PUT URLs) was checked by the caller; the source bytes still feed the file digest.
func (c *copyState) alreadyThere(job chunkJob, buf []byte) (bool, error) {
	readable, err := job.file.dst.readBack(buf, job.off)
	if !readable {
		if err := readFull(job.file.src, buf, job.off); err != nil {
			return false, err
		}
		return digest(buf) == job.want, nil
	}
	if err != nil {
		return false, nil // a short or missing partial file simply means: copy again
	}
	return digest(buf) == job.want, nil
}

func (c *copyState) copyChunk(ctx context.Context, job chunkJob, buf []byte) (string, string, error) {
	if err := ctx.Err(); err != nil {
		return "", "", err
	}
	if err := readFull(job.file.src, buf, job.off); err != nil {
		return "", "", fmt.Errorf("copy chunk %d: %w", job.n, err)
	}
	sum := digest(buf)
	etag, err := job.file.dst.writeChunk(ctx, job.n, job.off, buf)
	if err != nil {
		return "", "", fmt.Errorf("copy chunk %d: %w", job.n, err)
	}
	if c.opt.Checksum {
		if err := c.checkWritten(job, sum); err != nil {
			return "", "", err
		}
	}
	return sum, etag, nil
}

// checkWritten streams the chunk back from the destination (a second buffer would double memory).
func (c *copyState) checkWritten(job chunkJob, want string) error {
	ls, ok := job.file.dst.(*localSink)
	if !ok {
		return nil
	}
	h := sha256.New()
	if _, err := io.Copy(h, io.NewSectionReader(ls.file, job.off, job.length)); err != nil {
		return fmt.Errorf("check chunk %d: %w", job.n, err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != want {
		return fmt.Errorf("check chunk %d: destination sha256 %s, source %s", job.n, got, want)
	}
	return nil
}

func readFull(r source, buf []byte, off int64) error {
	n, err := r.ReadAt(buf, off)
	if n == len(buf) {
		return nil
	}
	if err == nil || err == io.EOF {
		return fmt.Errorf("short read at %d: got %d of %d bytes (source changed?)", off, n, len(buf))
	}
	return err
}

func (c *copyState) emitChunk(job chunkJob, sum, etag string, resumed bool) {
	c.out.emit(Event{
		Event: "chunk", File: job.file.spec.Rel, Chunk: ptr(job.n), Offset: ptr(job.off),
		Len: ptr(job.length), SHA256: sum, ETag: etag, Resumed: ptr(resumed),
	})
	job.file.mu.Lock()
	if resumed {
		job.file.resumed++
	} else {
		job.file.copied++
	}
	job.file.mu.Unlock()
}

// feed adds a finished chunk to the whole-file digest in order and returns buffers to the pool;
// the last chunk finishes the file.
func (c *copyState) feed(f *fileState, n int, buf []byte, sum string) error {
	f.mu.Lock()
	f.sums[n] = sum
	f.pending[n] = buf
	for {
		next, ok := f.pending[f.next]
		if !ok {
			break
		}
		if f.chunks > 1 {
			f.whole.Write(next)
		}
		delete(f.pending, f.next)
		f.next++
		c.pool <- next[:cap(next)]
	}
	done := f.next == f.chunks
	f.mu.Unlock()
	if !done {
		return nil
	}
	return c.finish(f)
}

// finish renames the file into place and reports it.
func (c *copyState) finish(f *fileState) error {
	f.src.Close()
	if err := f.dst.commit(); err != nil {
		return fmt.Errorf("finish: %w", err)
	}
	sum := hex.EncodeToString(f.whole.Sum(nil))
	if f.chunks == 1 {
		sum = f.sums[0]
	}
	c.files.Add(1)
	c.out.emit(Event{
		Event: "file", File: f.spec.Rel, Size: ptr(f.spec.Size), SHA256: sum,
		Chunks: ptr(f.chunks), Copied: ptr(f.copied), Redone: ptr(f.redone),
		ResumedN: ptr(f.resumed),
	})
	return nil
}
