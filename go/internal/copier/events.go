package copier

import (
	"encoding/json"
	"io"
	"sync"
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
	Redone   *int    `json:"redone,omitempty"`
	DryRun   bool    `json:"dry_run,omitempty"`
	Streams  int     `json:"streams,omitempty"`
	ChunkLen int64   `json:"chunk_size,omitempty"`
}

// emitter serialises events from many workers onto one writer, one line each.
type emitter struct {
	mu  sync.Mutex
	enc *json.Encoder
}

func newEmitter(w io.Writer) *emitter {
	return &emitter{enc: json.NewEncoder(w)}
}

func (e *emitter) emit(ev Event) {
	e.mu.Lock()
	defer e.mu.Unlock()
	_ = e.enc.Encode(ev) // stdout gone means our reader died; nothing left to tell
}

func ptr[T any](v T) *T { return &v }
