// Command etl-copy copies a file or a tree in parallel chunks and prints one JSON line per
// verified chunk, so the caller can checkpoint each chunk and resume an interrupted copy.
//
//	etl-copy [-streams N] [-chunk-size 8MiB] [-resume list.json|-] [-put-urls urls.json] SRC DST
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"syscall"
	"time"

	"etlcopy/internal/copier"
)

// Exit statuses, the same as `python -m etl.filecopy_py` and `etl copy` use for the same failures
// (docs/files.md): the error line carries the status as "code".
const (
	exitFailed      = 1   // a file could not be copied: the source changed, a checksum differs, a read failed
	exitSetup       = 2   // bad arguments, missing source, unsupported scheme, unwritable destination
	exitUnreachable = 4   // an HTTP source or PUT URL could not be reached or refused the request
	exitInterrupted = 130 // SIGINT or SIGTERM
)

// usageError is a command line that cannot be run as given.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// config is the parsed command line.
type config struct {
	streams   int
	chunkSize int64
	checksum  bool
	dryRun    bool
	resume    string
	putURLs   string
	manifest  string
	src, dst  string
}

func main() {
	if err := run(os.Args[1:], os.Stdin, os.Stdout); err != nil {
		os.Exit(report(os.Stdout, err))
	}
}

// report prints the error line for err and returns the exit status it maps to.
func report(w io.Writer, err error) int {
	ev := failure(err)
	_ = json.NewEncoder(w).Encode(ev)
	return ev.Code
}

// failure classifies err: its exit status and, for a destination, the cause and the path.
func failure(err error) copier.Event {
	ev := copier.Event{Event: "error", Message: err.Error(), Code: exitFailed}
	var dest *copier.DestinationError
	var usage usageError
	var status *copier.HTTPStatusError
	var network *url.Error
	switch {
	case errors.As(err, &dest):
		ev.Code, ev.Cause, ev.Dst = exitSetup, dest.Cause(), dest.Path
	case errors.As(err, &usage), errors.Is(err, copier.ErrUnsupportedScheme), errors.Is(err, fs.ErrNotExist):
		ev.Code = exitSetup
	case errors.Is(err, context.Canceled):
		ev.Code = exitInterrupted // before the network case: a request cut short by a signal is no outage
	case errors.As(err, &status), errors.As(err, &network):
		ev.Code = exitUnreachable
	}
	return ev
}

func parse(args []string) (config, error) {
	var cfg config
	var chunk string
	fs := flag.NewFlagSet("etl-copy", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.IntVar(&cfg.streams, "streams", 4, "parallel workers")
	fs.StringVar(&chunk, "chunk-size", "8MiB", "chunk size (8MiB, 64M, 1G)")
	fs.BoolVar(&cfg.checksum, "checksum", false, "re-read every written chunk and compare digests")
	fs.BoolVar(&cfg.dryRun, "dry-run", false, "list files and chunks, copy nothing")
	fs.StringVar(&cfg.resume, "resume", "", "verified chunks: JSON array or JSON lines file, - for stdin")
	fs.StringVar(&cfg.manifest, "manifest", "", "JSON [{file, src, dst, size}] to copy instead of SRC DST")
	fs.StringVar(&cfg.putURLs, "put-urls", "", "JSON [{file, chunk, url}] of PUT targets per chunk")
	if err := fs.Parse(args); err != nil {
		return cfg, fmt.Errorf("arguments: %w", err)
	}
	if fs.NArg() != 2 && !(cfg.manifest != "" && fs.NArg() == 0) {
		return cfg, errors.New("arguments: want SRC DST (or -manifest FILE)")
	}
	size, err := copier.ParseSize(chunk)
	if err != nil {
		return cfg, fmt.Errorf("-chunk-size: %w", err)
	}
	if cfg.streams < 1 {
		return cfg, errors.New("-streams must be at least 1")
	}
	cfg.chunkSize, cfg.src, cfg.dst = size, fs.Arg(0), fs.Arg(1)
	return cfg, nil
}

func run(args []string, stdin io.Reader, stdout io.Writer) error {
	cfg, err := parse(args)
	if err != nil {
		return usageError{err}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	resume, err := loadResume(cfg.resume, stdin)
	if err != nil {
		return err
	}
	urls, err := loadPutURLs(cfg.putURLs)
	if err != nil {
		return err
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: cfg.streams * 2}}
	files, err := plan(ctx, client, cfg)
	if err != nil {
		return err
	}
	start := time.Now()
	sum, err := copier.Run(ctx, files, copier.Options{
		Streams: cfg.streams, ChunkSize: cfg.chunkSize, Checksum: cfg.checksum, DryRun: cfg.dryRun,
		Resume: resume, PutURLs: urls, Client: client, Out: stdout,
	})
	if err != nil {
		return err
	}
	return json.NewEncoder(stdout).Encode(copier.Event{
		Event: "summary", Engine: "go", Files: &sum.Files, Chunks: &sum.Chunks, Copied: &sum.Copied,
		Redone: &sum.Redone, Bytes: &sum.Bytes, Seconds: time.Since(start).Seconds(),
		Streams: cfg.streams, ChunkLen: cfg.chunkSize, DryRun: cfg.dryRun,
		ResumedN: &sum.Resumed,
	})
}

func loadResume(path string, stdin io.Reader) (copier.ResumeSet, error) {
	switch path {
	case "":
		return copier.ResumeSet{}, nil
	case "-":
		return copier.ReadResume(stdin)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("resume list: %w", err)
	}
	defer f.Close()
	return copier.ReadResume(f)
}

func loadPutURLs(path string) (map[string]map[int]string, error) {
	if path == "" {
		return nil, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("put urls: %w", err)
	}
	var entries []struct {
		File  string `json:"file"`
		Chunk int    `json:"chunk"`
		URL   string `json:"url"`
	}
	if err := json.Unmarshal(data, &entries); err != nil {
		return nil, fmt.Errorf("put urls: %w", err)
	}
	urls := map[string]map[int]string{}
	for _, e := range entries {
		if urls[e.File] == nil {
			urls[e.File] = map[int]string{}
		}
		urls[e.File][e.Chunk] = e.URL
	}
	return urls, nil
}

// plan lists the files to copy: the caller's manifest when given, else SRC DST walked here.
func plan(ctx context.Context, client *http.Client, cfg config) ([]copier.FileSpec, error) {
	if cfg.manifest == "" {
		return copier.Plan(ctx, client, cfg.src, cfg.dst)
	}
	data, err := os.ReadFile(cfg.manifest)
	if err != nil {
		return nil, fmt.Errorf("manifest: %w", err)
	}
	var entries []struct {
		File string `json:"file"`
		Src  string `json:"src"`
		Dst  string `json:"dst"`
		Size int64  `json:"size"`
	}
	if err := json.Unmarshal(data, &entries); err != nil {
		return nil, fmt.Errorf("manifest: %w", err)
	}
	files := make([]copier.FileSpec, 0, len(entries))
	for _, e := range entries {
		files = append(files, copier.FileSpec{Rel: e.File, Src: e.Src, Dst: e.Dst, Size: e.Size})
	}
	return files, nil
}
