package copier

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sync"
)

// PartialSuffix marks a destination that is still being written; it is renamed into place
// only when every chunk is verified, so a reader never sees a half-copied file.
const PartialSuffix = ".etl-partial"

// sink is where the chunks of one file go.
type sink interface {
	writeChunk(ctx context.Context, n int, off int64, p []byte) (etag string, err error)
	// readBack fills p from the destination; ok is false when the sink cannot be read back.
	readBack(p []byte, off int64) (ok bool, err error)
	commit() error
	abort()
}

// localSink writes into a preallocated <dst>.etl-partial with pwrite and renames it at the end.
type localSink struct {
	final   string
	partial string
	file    *os.File
}

// openLocalSink opens <dst>.etl-partial. A fresh small file (nothing to resume, one chunk at
// most) is simply truncated and written; any other is preallocated to its final size, keeping
// what a previous run wrote there for the resume check. dirs remembers the directories made.
func openLocalSink(dst string, size int64, freshSmall bool, dirs *sync.Map) (*localSink, error) {
	dir := filepath.Dir(dst)
	if _, made := dirs.Load(dir); !made {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, &DestinationError{Path: dst, Err: err}
		}
		dirs.Store(dir, true)
	}
	partial := dst + PartialSuffix
	flags := os.O_RDWR | os.O_CREATE
	if freshSmall {
		flags |= os.O_TRUNC
	}
	f, err := openFile(partial, flags, 0o644)
	if err != nil {
		return nil, &DestinationError{Path: dst, Err: err}
	}
	if !freshSmall {
		if err := preallocate(f, size); err != nil {
			f.Close()
			return nil, &DestinationError{Path: dst, Err: fmt.Errorf("preallocate %s: %w", partial, err)}
		}
	}
	return &localSink{final: dst, partial: partial, file: f}, nil
}

func (s *localSink) writeChunk(_ context.Context, n int, off int64, p []byte) (string, error) {
	if _, err := s.file.WriteAt(p, off); err != nil {
		return "", &DestinationError{Path: s.final, Err: fmt.Errorf("write chunk %d: %w", n, err)}
	}
	return "", nil
}

func (s *localSink) readBack(p []byte, off int64) (bool, error) {
	got, err := s.file.ReadAt(p, off)
	if err == io.EOF && got == len(p) {
		err = nil
	}
	return true, err
}

func (s *localSink) commit() error {
	if err := s.file.Close(); err != nil {
		return &DestinationError{Path: s.final, Err: fmt.Errorf("close %s: %w", s.partial, err)}
	}
	if err := rename(s.partial, s.final); err != nil {
		return &DestinationError{Path: s.final, Err: fmt.Errorf("rename into place: %w", err)}
	}
	return nil
}

func (s *localSink) abort() { s.file.Close() } // the partial file stays: it is what resume starts from

// putSink uploads each chunk with a PUT to its own URL (presigned multipart parts, for instance).
// It cannot be read back, so resumed chunks are trusted: the caller checked them with the backend.
type putSink struct {
	client *http.Client
	urls   map[int]string
}

func (s *putSink) writeChunk(ctx context.Context, n int, _ int64, p []byte) (string, error) {
	url, ok := s.urls[n]
	if !ok {
		return "", fmt.Errorf("upload chunk %d: no PUT URL given for it", n)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, url, bytes.NewReader(p))
	if err != nil {
		return "", fmt.Errorf("upload chunk %d: %w", n, err)
	}
	req.ContentLength = int64(len(p))
	resp, err := s.client.Do(req)
	if err != nil {
		return "", fmt.Errorf("upload chunk %d: %w", n, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	if resp.StatusCode/100 != 2 {
		return "", fmt.Errorf("upload chunk %d: %w", n, &HTTPStatusError{Code: resp.StatusCode})
	}
	return resp.Header.Get("ETag"), nil
}

func (s *putSink) readBack([]byte, int64) (bool, error) { return false, nil }
func (s *putSink) commit() error                        { return nil }
func (s *putSink) abort()                               {}
