package copier

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
)

// ResumeEntry is a chunk the ledger already holds as verified.
type ResumeEntry struct {
	Event  string `json:"event,omitempty"`
	File   string `json:"file"`
	Chunk  int    `json:"chunk"`
	Offset int64  `json:"offset"`
	Len    int64  `json:"len"`
	SHA256 string `json:"sha256"`
}

// resumeKey identifies a chunk across runs: the same file, index and byte range.
type resumeKey struct {
	file  string
	chunk int
}

// ResumeSet holds the verified chunks by file and index.
type ResumeSet map[resumeKey]ResumeEntry

// lookup returns the expected digest of a chunk when the entry matches its byte range.
func (r ResumeSet) lookup(file string, n int, off, length int64) (string, bool) {
	e, ok := r[resumeKey{file, n}]
	if !ok || e.Offset != off || e.Len != length || e.SHA256 == "" {
		return "", false
	}
	return e.SHA256, true
}

// ReadResume parses a JSON array of entries or JSON lines (the tool's own chunk events work too).
func ReadResume(r io.Reader) (ResumeSet, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("read resume list: %w", err)
	}
	set := ResumeSet{}
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 {
		return set, nil
	}
	if trimmed[0] == '[' {
		var entries []ResumeEntry
		if err := json.Unmarshal(trimmed, &entries); err != nil {
			return nil, fmt.Errorf("parse resume list: %w", err)
		}
		for _, e := range entries {
			set[resumeKey{e.File, e.Chunk}] = e
		}
		return set, nil
	}
	scanner := bufio.NewScanner(bytes.NewReader(trimmed))
	scanner.Buffer(make([]byte, 1<<20), 1<<24)
	for line := 1; scanner.Scan(); line++ {
		text := bytes.TrimSpace(scanner.Bytes())
		if len(text) == 0 {
			continue
		}
		var e ResumeEntry
		if err := json.Unmarshal(text, &e); err != nil {
			return nil, fmt.Errorf("parse resume line %d: %w", line, err)
		}
		if e.Event != "" && e.Event != "chunk" {
			continue // file and summary lines of an earlier run's output carry no chunk
		}
		set[resumeKey{e.File, e.Chunk}] = e
	}
	return set, scanner.Err()
}

// files names the files that have at least one chunk in the set.
func (r ResumeSet) files() map[string]bool {
	names := map[string]bool{}
	for key := range r {
		names[key.file] = true
	}
	return names
}
