package copier

import (
	"bufio"
	"encoding/json"
	"io"
)

// Event is one JSON line of the progress protocol that Python records in the ledger.
type Event struct {
	Event    string  `json:"event"`
	File     string  `json:"file,omitempty"`
	Chunk    *int    `json:"chunk,omitempty"`
	Offset   *int64  `json:"offset,omitempty"`
	Len      *int64  `json:"len,omitempty"`
	Size     *int64  `json:"size,omitempty"`
	SHA256   string  `json:"sha256,omitempty"`
	ETag     string  `json:"etag,omitempty"`
	Resumed  *bool   `json:"resumed,omitempty"`
	ResumedN *int    `json:"resumed_chunks,omitempty"`
	Chunks   *int    `json:"chunks,omitempty"`
	Copied   *int    `json:"copied,omitempty"`
	Files    *int    `json:"files,omitempty"`
	Bytes    *int64  `json:"bytes,omitempty"`
	Seconds  float64 `json:"seconds,omitempty"`
	Engine   string  `json:"engine,omitempty"`
	Message  string  `json:"message,omitempty"`
	Code     int     `json:"code,omitempty"`  // error lines: the exit status (docs/files.md)
	Cause    string  `json:"cause,omitempty"` // error lines: no_space, read_only, permission_denied
	Dst      string  `json:"dst,omitempty"`   // error lines: the destination that could not be written
	Redone   *int    `json:"redone,omitempty"`
	DryRun   bool    `json:"dry_run,omitempty"`
	Streams  int     `json:"streams,omitempty"`
	ChunkLen int64   `json:"chunk_size,omitempty"`
}

// emitter serialises events from many workers onto one writer, one line each. A single goroutine
// writes them through a buffer that it flushes whenever no event is waiting: lines reach the
// reader at once when the copy is slow, and several per write when it is fast. The queue stays
// short (a few events per worker) so a reader that falls behind still holds the workers back:
// the copy never runs far ahead of the checkpoints the caller has recorded.
type emitter struct {
	events chan Event
	done   chan struct{}
}

func newEmitter(w io.Writer, queue int) *emitter {
	e := &emitter{events: make(chan Event, queue), done: make(chan struct{})}
	go e.loop(bufio.NewWriterSize(w, 16<<10))
	return e
}

func (e *emitter) loop(w *bufio.Writer) {
	defer close(e.done)
	enc := json.NewEncoder(w)
	for ev := range e.events {
		_ = enc.Encode(ev) // stdout gone means our reader died; nothing left to tell
		if len(e.events) == 0 {
			_ = w.Flush()
		}
	}
	_ = w.Flush()
}

func (e *emitter) emit(ev Event) { e.events <- ev }

// close waits until every event emitted so far is written out.
func (e *emitter) close() {
	close(e.events)
	<-e.done
}

func ptr[T any](v T) *T { return &v }
