package copier

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestParseSize(t *testing.T) {
	tests := []struct {
		in      string
		want    int64
		wantErr bool
	}{
		{"4096", 4096, false},
		{"8MiB", 8 << 20, false},
		{"64M", 64 << 20, false},
		{"1G", 1 << 30, false},
		{"512k", 512 << 10, false},
		{"1.5KiB", 1536, false},
		{"", 0, true},
		{"lots", 0, true},
		{"-1M", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseSize(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("ParseSize(%q) error = %v, wantErr %v", tt.in, err, tt.wantErr)
			}
			if got != tt.want {
				t.Fatalf("ParseSize(%q) = %d, want %d", tt.in, got, tt.want)
			}
		})
	}
}

func TestReadResume(t *testing.T) {
	tests := []struct {
		name  string
		input string
		want  int
	}{
		{"empty", "", 0},
		{"array", `[{"file":"a","chunk":0,"offset":0,"len":4,"sha256":"x"}]`, 1},
		{"lines skip file events", `{"event":"chunk","file":"a","chunk":1,"offset":4,"len":4,"sha256":"y"}
{"event":"file","file":"a","size":8,"sha256":"z"}`, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			set, err := ReadResume(strings.NewReader(tt.input))
			if err != nil {
				t.Fatal(err)
			}
			if len(set) != tt.want {
				t.Fatalf("got %d entries, want %d", len(set), tt.want)
			}
		})
	}
}

func randomFile(t testing.TB, path string, size int) []byte {
	t.Helper()
	data := make([]byte, size)
	if _, err := rand.Read(data); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return data
}

// runCopy copies src to dst and returns the events it printed.
func runCopy(t *testing.T, src, dst string, opt Options) []Event {
	t.Helper()
	var out bytes.Buffer
	opt.Out = &out
	files, err := Plan(context.Background(), http.DefaultClient, src, dst)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Run(context.Background(), files, opt); err != nil {
		t.Fatal(err)
	}
	var events []Event
	dec := json.NewDecoder(&out)
	for dec.More() {
		var ev Event
		if err := dec.Decode(&ev); err != nil {
			t.Fatal(err)
		}
		events = append(events, ev)
	}
	return events
}

// chunkListDigest is the documented file digest, computed here without the copier: the plain
// sha256 of a file of at most one chunk, else the sha256 of its raw chunk digests in order.
func chunkListDigest(data []byte, chunk int64) string {
	if int64(len(data)) <= chunk {
		sum := sha256.Sum256(data)
		return hex.EncodeToString(sum[:])
	}
	var list []byte
	for off := int64(0); off < int64(len(data)); off += chunk {
		sum := sha256.Sum256(data[off:min(off+chunk, int64(len(data)))])
		list = append(list, sum[:]...)
	}
	sum := sha256.Sum256(list)
	return hex.EncodeToString(sum[:])
}

// TestFileDigestKnownAnswers pins the definition the Python engine shares (same vectors there).
func TestFileDigestKnownAnswers(t *testing.T) {
	tests := []struct {
		name   string
		chunks []string
		want   string
	}{
		{"empty file", nil, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
		{"one chunk is the plain sha256", []string{"abcd"}, "88d4266fd4e6338d13b845fcf289579d209c897823b9217da3e161936f031589"},
		{"two chunks hash their digests", []string{"abcd", "ef"}, "b5fa4759333bd36a437e2527181d6ca7d002ab5776b503575fe77af5608a7c79"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var sums [][sha256.Size]byte
			for _, c := range tt.chunks {
				sums = append(sums, sha256.Sum256([]byte(c)))
			}
			if got := FileDigest(sums); got != tt.want {
				t.Fatalf("FileDigest = %s, want %s", got, tt.want)
			}
		})
	}
}

func count(events []Event, kind string, resumed bool) int {
	n := 0
	for _, ev := range events {
		if ev.Event == kind && (ev.Resumed != nil && *ev.Resumed == resumed) {
			n++
		}
	}
	return n
}

func TestRunCopiesTreesAndFiles(t *testing.T) {
	tests := []struct {
		name    string
		sizes   map[string]int
		chunk   int64
		streams int
	}{
		{"one chunk per file", map[string]int{"a": 10, "b/c": 100}, 1 << 10, 2},
		{"many chunks uneven tail", map[string]int{"big": 10_000, "x/y/z": 3}, 1000, 4},
		{"empty file", map[string]int{"empty": 0, "one": 1}, 64, 1},
		{"more streams than chunks", map[string]int{"f": 5000}, 4096, 16},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			want := map[string][]byte{}
			for name, size := range tt.sizes {
				want[name] = randomFile(t, filepath.Join(dir, "src", name), size)
			}
			events := runCopy(t, filepath.Join(dir, "src"), filepath.Join(dir, "dst"),
				Options{Streams: tt.streams, ChunkSize: tt.chunk})
			for name, data := range want {
				got, err := os.ReadFile(filepath.Join(dir, "dst", name))
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got, data) {
					t.Fatalf("%s differs after copy", name)
				}
				if _, err := os.Stat(filepath.Join(dir, "dst", name+PartialSuffix)); !os.IsNotExist(err) {
					t.Fatalf("%s: partial file left behind", name)
				}
			}
			for _, ev := range events {
				if ev.Event != "file" {
					continue
				}
				if want := chunkListDigest(want[ev.File], tt.chunk); ev.SHA256 != want {
					t.Fatalf("%s: file digest %s, want %s", ev.File, ev.SHA256, want)
				}
			}
		})
	}
}

// TestResumeSkipsIntactChunksAndRecopiesCorrupted simulates an interrupted copy: the partial file
// holds every chunk, one of them is then corrupted; only that one must be copied again.
func TestResumeSkipsIntactChunksAndRecopiesCorrupted(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "src.bin")
	dst := filepath.Join(dir, "dst.bin")
	data := randomFile(t, src, 10_000)
	first := runCopy(t, src, dst, Options{Streams: 3, ChunkSize: 1000})
	var resume bytes.Buffer
	enc := json.NewEncoder(&resume)
	for _, ev := range first {
		if ev.Event == "chunk" {
			_ = enc.Encode(ev)
		}
	}
	tests := []struct {
		name        string
		corrupt     int64 // byte offset to flip, -1 for none
		wantCopied  int
		wantResumed int
	}{
		{"intact partial", -1, 0, 10},
		{"one corrupted chunk", 4321, 1, 9},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			partial := append([]byte(nil), data...)
			if tt.corrupt >= 0 {
				partial[tt.corrupt] ^= 0xff
			}
			if err := os.WriteFile(dst+PartialSuffix, partial, 0o644); err != nil {
				t.Fatal(err)
			}
			set, err := ReadResume(bytes.NewReader(resume.Bytes()))
			if err != nil {
				t.Fatal(err)
			}
			events := runCopy(t, src, dst, Options{Streams: 2, ChunkSize: 1000, Resume: set})
			if got := count(events, "chunk", false); got != tt.wantCopied {
				t.Fatalf("copied %d chunks, want %d", got, tt.wantCopied)
			}
			if got := count(events, "chunk", true); got != tt.wantResumed {
				t.Fatalf("resumed %d chunks, want %d", got, tt.wantResumed)
			}
			got, _ := os.ReadFile(dst)
			if !bytes.Equal(got, data) {
				t.Fatal("destination differs from source after resume")
			}
		})
	}
}

func TestHTTPSourceAndPutDestination(t *testing.T) {
	data := make([]byte, 5000)
	_, _ = rand.Read(data)
	src := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.ServeContent(w, r, "blob", time.Time{}, bytes.NewReader(data))
	}))
	defer src.Close()
	var mu sync.Mutex
	parts := map[string][]byte{}
	dst := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		parts[r.URL.Query().Get("part")] = body
		mu.Unlock()
		w.Header().Set("ETag", `"etag-`+r.URL.Query().Get("part")+`"`)
	}))
	defer dst.Close()

	dir := t.TempDir()
	events := runCopy(t, src.URL+"/blob", filepath.Join(dir, "out.bin"), Options{Streams: 3, ChunkSize: 1024})
	got, _ := os.ReadFile(filepath.Join(dir, "out.bin"))
	if !bytes.Equal(got, data) {
		t.Fatal("range-GET copy differs from the source")
	}
	if n := count(events, "chunk", false); n != 5 {
		t.Fatalf("got %d chunk events, want 5", n)
	}

	urls := map[int]string{}
	for n := 0; n < 5; n++ {
		urls[n] = dst.URL + "/?part=" + string(rune('0'+n))
	}
	local := filepath.Join(dir, "out.bin")
	events = runCopy(t, local, dst.URL, Options{
		Streams: 2, ChunkSize: 1024, PutURLs: map[string]map[int]string{"out.bin": urls},
	})
	var joined []byte
	for n := 0; n < 5; n++ {
		joined = append(joined, parts[string(rune('0'+n))]...)
	}
	if !bytes.Equal(joined, data) {
		t.Fatal("PUT parts do not reassemble into the source")
	}
	for _, ev := range events {
		if ev.Event == "chunk" && !strings.HasPrefix(ev.ETag, `"etag-`) {
			t.Fatalf("chunk %d has no ETag from the server", *ev.Chunk)
		}
	}
}

func TestMissingSourceFails(t *testing.T) {
	_, err := Plan(context.Background(), http.DefaultClient, filepath.Join(t.TempDir(), "nope"), "x")
	if err == nil {
		t.Fatal("want an error for a missing source")
	}
}
