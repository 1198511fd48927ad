// Package copier copies files in parallel chunks, checkpoints every chunk as a JSON line,
// and skips chunks a previous run already verified (after re-hashing them on the destination).
package copier

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
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

// chunkJob is one byte range of one file; n is -1 for an empty file, which has no chunk.
type chunkJob struct {
	file   *fileState
	n      int
	off    int64
	length int64
	want   string // digest from the resume list, "" when the chunk is new
}

// fileState tracks one file while its chunks are in flight. The first worker to reach the file
// opens both ends, so opening thousands of small files is spread over the workers.
type fileState struct {
	spec   FileSpec
	chunks int
	fresh  bool // nothing of it is in the resume list: what is at the destination can be dropped

	once    sync.Once
	openErr error
	src     source
	dst     sink

	sums                    [][sha256.Size]byte // each worker writes only its own chunk's slot
	left                    atomic.Int64        // chunks not finished yet; the last one finishes the file
	copied, resumed, redone atomic.Int64
}

// copyState is shared by the workers of one Run.
type copyState struct {
	opt     Options
	out     *emitter
	jobs    chan chunkJob
	errc    chan error
	cancel  context.CancelFunc
	dirs    sync.Map        // destination directories already created
	resumed map[string]bool // files with at least one chunk in the resume list

	files, copied, reused, redone atomic.Int64
	bytes                         atomic.Int64
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
	out := newEmitter(opt.Out, 2*opt.Streams)
	defer out.close() // every event is on the writer before the caller prints its summary
	if opt.DryRun {
		return dryRun(files, opt, out), nil
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	c := &copyState{
		opt: opt, out: out, cancel: cancel, resumed: opt.Resume.files(),
		jobs: make(chan chunkJob, 4*opt.Streams),
		errc: make(chan error, 1),
	}
	bufSize := bufferSize(files, opt.ChunkSize)
	var wg sync.WaitGroup
	for i := 0; i < opt.Streams; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.work(ctx, make([]byte, bufSize))
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
		Resumed: int(c.reused.Load()), Redone: int(c.redone.Load()), Bytes: c.bytes.Load(),
	}, nil
}

func chunkCount(size, chunk int64) int {
	return int((size + chunk - 1) / chunk)
}

// bufferSize is one chunk, or the largest file when every file is smaller: a tree of small
// files then costs kilobytes per worker, not a full chunk each.
func bufferSize(files []FileSpec, chunk int64) int64 {
	largest := int64(0)
	for _, f := range files {
		largest = max(largest, f.Size)
	}
	return min(chunk, largest)
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

// dispatch queues every chunk of every file in order; opening is left to the workers.
func (c *copyState) dispatch(ctx context.Context, files []FileSpec) {
	for _, spec := range files {
		n := chunkCount(spec.Size, c.opt.ChunkSize)
		f := &fileState{spec: spec, chunks: n, fresh: !c.resumed[spec.Rel], sums: make([][sha256.Size]byte, n)}
		f.left.Store(int64(n))
		if n == 0 {
			if !c.send(ctx, chunkJob{file: f, n: -1}) {
				return
			}
			continue
		}
		for i := 0; i < n; i++ {
			off := int64(i) * c.opt.ChunkSize
			length := min(c.opt.ChunkSize, spec.Size-off)
			want, _ := c.opt.Resume.lookup(spec.Rel, i, off, length)
			if !c.send(ctx, chunkJob{file: f, n: i, off: off, length: length, want: want}) {
				return
			}
		}
	}
}

func (c *copyState) send(ctx context.Context, job chunkJob) bool {
	select {
	case c.jobs <- job:
		return true
	case <-ctx.Done():
		return false
	}
}

// open reaches both ends of a file once, whichever worker gets there first.
func (c *copyState) open(ctx context.Context, f *fileState) error {
	f.once.Do(func() {
		src, err := openSource(ctx, c.opt.Client, f.spec)
		if err != nil {
			f.openErr = fmt.Errorf("open source %s: %w", f.spec.Rel, err)
			return
		}
		if urls, ok := c.opt.PutURLs[f.spec.Rel]; ok {
			f.src, f.dst = src, &putSink{client: c.opt.Client, urls: urls}
			return
		}
		dst, err := openLocalSink(f.spec.Dst, f.spec.Size, f.fresh && f.chunks <= 1, &c.dirs)
		if err != nil {
			src.Close()
			f.openErr = err
			return
		}
		f.src, f.dst = src, dst
	})
	return f.openErr
}

// work copies chunks with one buffer of its own, reused for every chunk it takes.
func (c *copyState) work(ctx context.Context, buf []byte) {
	for job := range c.jobs {
		if err := c.doJob(ctx, job, buf); err != nil {
			c.fail(fmt.Errorf("%s: %w", job.file.spec.Rel, err))
			return
		}
	}
}

func (c *copyState) doJob(ctx context.Context, job chunkJob, buf []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	f := job.file
	if err := c.open(ctx, f); err != nil {
		return err
	}
	if job.n < 0 {
		return c.finish(f)
	}
	sum, err := c.doChunk(ctx, job, buf[:job.length])
	if err != nil {
		return err
	}
	f.sums[job.n] = sum
	if f.left.Add(-1) > 0 {
		return nil
	}
	return c.finish(f)
}
