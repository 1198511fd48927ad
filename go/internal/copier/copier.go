// Package copier copies files in parallel chunks, checkpoints every chunk as a JSON line,
// and skips chunks a previous run already verified (after re-hashing them on the destination).
package copier

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
)

// Options tune one copy.
type Options struct {
	Streams   int                       // parallel workers
	ChunkSize int64                     // bytes per chunk
	Checksum  bool                      // re-read each written chunk from the destination and compare
	DryRun    bool                      // list what would be copied, copy nothing
	Resume    ResumeSet                 // chunks a previous run verified
	PutURLs   map[string]map[int]string // file -> chunk -> URL, for destinations reached by PUT
	Client    *http.Client
	Out       io.Writer
}

// chunkJob is one byte range of one file.
type chunkJob struct {
	file   *fileState
	n      int
	off    int64
	length int64
	want   string // digest from the resume list, "" when the chunk is new
}

// fileState tracks one file while its chunks are in flight.
type fileState struct {
	spec   FileSpec
	src    source
	dst    sink
	chunks int

	mu      sync.Mutex
	next    int            // next chunk to feed into the whole-file digest
	pending map[int][]byte // finished chunks waiting for an earlier one
	sums    map[int]string // chunk digests, for single-chunk files
	whole   hash.Hash
	copied  int
	resumed int
	redone  int
}

// copyState is shared by the workers of one Run.
type copyState struct {
	opt    Options
	out    *emitter
	pool   chan []byte
	jobs   chan chunkJob
	errc   chan error
	cancel context.CancelFunc

	files, copied, resumed, redone atomic.Int64
	bytes                          atomic.Int64
}

// Summary is what Run reports when every file is in place.
type Summary struct {
	Files, Chunks, Copied, Resumed, Redone int
	Bytes                                  int64
}

// Run copies every file and returns once all are renamed into place, or at the first error.
func Run(ctx context.Context, files []FileSpec, opt Options) (Summary, error) {
	if opt.Streams < 1 {
		opt.Streams = 1
	}
	if opt.ChunkSize < 1 {
		return Summary{}, errors.New("chunk size must be positive")
	}
	if opt.Client == nil {
		opt.Client = http.DefaultClient
	}
	out := newEmitter(opt.Out)
	if opt.DryRun {
		return dryRun(files, opt, out), nil
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	c := &copyState{
		opt: opt, out: out, cancel: cancel,
		pool: make(chan []byte, 2*opt.Streams),
		jobs: make(chan chunkJob, opt.Streams),
		errc: make(chan error, 1),
	}
	for i := 0; i < 2*opt.Streams; i++ {
		c.pool <- make([]byte, opt.ChunkSize)
	}
	var wg sync.WaitGroup
	for i := 0; i < opt.Streams; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.work(ctx)
		}()
	}
	c.dispatch(ctx, files)
	close(c.jobs)
	wg.Wait()
	select {
	case err := <-c.errc:
		return Summary{}, err
	default:
	}
	if err := ctx.Err(); err != nil {
		return Summary{}, err
	}
	total := 0
	for _, f := range files {
		total += chunkCount(f.Size, opt.ChunkSize)
	}
	return Summary{
		Files: int(c.files.Load()), Chunks: total, Copied: int(c.copied.Load()),
		Resumed: int(c.resumed.Load()), Redone: int(c.redone.Load()), Bytes: c.bytes.Load(),
	}, nil
}

func chunkCount(size, chunk int64) int {
	return int((size + chunk - 1) / chunk)
}

// fail keeps the first error and stops everyone else.
func (c *copyState) fail(err error) {
	select {
	case c.errc <- err:
	default:
	}
	c.cancel()
}

func dryRun(files []FileSpec, opt Options, out *emitter) Summary {
	s := Summary{}
	for _, f := range files {
		n := chunkCount(f.Size, opt.ChunkSize)
		out.emit(Event{Event: "file", File: f.Rel, Size: ptr(f.Size), Chunks: ptr(n), DryRun: true})
		s.Files++
		s.Chunks += n
		s.Bytes += f.Size
	}
	return s
}

// dispatch opens each file and queues its chunks in order; in-order queuing bounds the memory
// the whole-file digest needs, because a chunk waits only for chunks already in flight.
func (c *copyState) dispatch(ctx context.Context, files []FileSpec) {
	for _, spec := range files {
		f, err := c.open(ctx, spec)
		if err != nil {
			c.fail(err)
			return
		}
		if f.chunks == 0 {
			if err := c.finish(f); err != nil {
				c.fail(err)
				return
			}
			continue
		}
		for n := 0; n < f.chunks; n++ {
			off := int64(n) * c.opt.ChunkSize
			length := min(c.opt.ChunkSize, spec.Size-off)
			want, _ := c.opt.Resume.lookup(spec.Rel, n, off, length)
			select {
			case c.jobs <- chunkJob{file: f, n: n, off: off, length: length, want: want}:
			case <-ctx.Done():
				return
			}
		}
	}
}

func (c *copyState) open(ctx context.Context, spec FileSpec) (*fileState, error) {
	src, err := openSource(ctx, c.opt.Client, spec)
	if err != nil {
		return nil, fmt.Errorf("open source %s: %w", spec.Rel, err)
	}
	var dst sink
	if urls, ok := c.opt.PutURLs[spec.Rel]; ok {
		dst = &putSink{client: c.opt.Client, urls: urls}
	} else if dst, err = openLocalSink(spec.Dst, spec.Size); err != nil {
		src.Close()
		return nil, err
	}
	return &fileState{
		spec: spec, src: src, dst: dst, chunks: chunkCount(spec.Size, c.opt.ChunkSize),
		pending: map[int][]byte{}, sums: map[int]string{}, whole: sha256.New(),
	}, nil
}

// work takes a buffer before a job, so the holder of the earliest unfinished chunk of a file
// always has one and the ordered digest can never deadlock on an empty pool.
func (c *copyState) work(ctx context.Context) {
	for {
		var buf []byte
		select {
		case buf = <-c.pool:
		case <-ctx.Done():
			return
		}
		job, ok := <-c.jobs
		if !ok {
			return
		}
		if err := c.doChunk(ctx, job, buf[:job.length]); err != nil {
			c.fail(fmt.Errorf("%s: %w", job.file.spec.Rel, err))
			return
		}
	}
}
