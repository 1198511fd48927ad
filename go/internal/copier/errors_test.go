package copier

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
)

func TestDestinationErrorCause(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"disk full", &os.PathError{Op: "write", Path: "x", Err: syscall.ENOSPC}, "no_space"},
		{"quota", &os.PathError{Op: "write", Path: "x", Err: syscall.EDQUOT}, "no_space"},
		{"read-only mount", &os.PathError{Op: "open", Path: "x", Err: syscall.EROFS}, "read_only"},
		{"mode bits", &os.PathError{Op: "open", Path: "x", Err: syscall.EACCES}, "permission_denied"},
		{"immutable", &os.PathError{Op: "open", Path: "x", Err: syscall.EPERM}, "permission_denied"},
		{"wrapped twice", fmt.Errorf("write chunk 3: %w", fmt.Errorf("write at 0: %w", syscall.ENOSPC)), "no_space"},
		{"other", &os.PathError{Op: "open", Path: "x", Err: syscall.ENOTDIR}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := &DestinationError{Path: "/mnt/a.bin", Err: tt.err}
			if got := err.Cause(); got != tt.want {
				t.Fatalf("Cause() = %q, want %q", got, tt.want)
			}
			if !errors.Is(err, tt.err) {
				t.Fatalf("errors.Is(%v, %v) = false: the cause must stay reachable", err, tt.err)
			}
		})
	}
}

// TestLocalSinkFailuresNameTheDestination checks that every way of failing to open a local
// destination comes back as a DestinationError naming the final path, not the partial file.
func TestLocalSinkFailuresNameTheDestination(t *testing.T) {
	dir := t.TempDir()
	blocker := filepath.Join(dir, "a-file")
	if err := os.WriteFile(blocker, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		dst        string
		freshSmall bool
	}{
		{"parent is a file", filepath.Join(blocker, "sub", "out.bin"), false},
		{"partial under a file", filepath.Join(blocker, "out.bin"), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := openLocalSink(tt.dst, 10, tt.freshSmall, &sync.Map{})
			var dest *DestinationError
			if !errors.As(err, &dest) {
				t.Fatalf("openLocalSink(%s) = %v, want a DestinationError", tt.dst, err)
			}
			if dest.Path != tt.dst {
				t.Fatalf("DestinationError.Path = %q, want %q", dest.Path, tt.dst)
			}
		})
	}
}

func TestPlanRefusesUnsupportedSchemes(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name     string
		src, dst string
		wantErr  error
	}{
		{"ftp source", "ftp://files.example.com/a", dir, ErrUnsupportedScheme},
		{"sftp destination", filepath.Join(dir, "missing"), "sftp://host/x", ErrUnsupportedScheme},
		{"missing local source", filepath.Join(dir, "missing"), dir, fs.ErrNotExist},
		{"colon in a path is not a scheme", filepath.Join(dir, "a://b"), dir, fs.ErrNotExist},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Plan(context.Background(), http.DefaultClient, tt.src, tt.dst)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Plan(%s, %s) = %v, want %v", tt.src, tt.dst, err, tt.wantErr)
			}
		})
	}
}

func TestHTTPRefusalsCarryTheirStatus(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "no", http.StatusForbidden)
	}))
	defer srv.Close()
	tests := []struct {
		name string
		call func() error
	}{
		{"size of a source", func() error {
			_, err := httpSize(context.Background(), srv.Client(), srv.URL+"/a")
			return err
		}},
		{"range read", func() error {
			src := &httpSource{ctx: context.Background(), client: srv.Client(), url: srv.URL + "/a"}
			_, err := src.ReadAt(make([]byte, 4), 0)
			return err
		}},
		{"chunk upload", func() error {
			sink := &putSink{client: srv.Client(), urls: map[int]string{0: srv.URL + "/a"}}
			_, err := sink.writeChunk(context.Background(), 0, 0, []byte("data"))
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var status *HTTPStatusError
			if err := tt.call(); !errors.As(err, &status) || status.Code != http.StatusForbidden {
				t.Fatalf("got %v, want an HTTPStatusError 403", err)
			}
		})
	}
}
