package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"etlcopy/internal/copier"
)

func TestFailureExitCodes(t *testing.T) {
	missing := &os.PathError{Op: "stat", Path: "/nope", Err: syscall.ENOENT}
	tests := []struct {
		name      string
		err       error
		wantCode  int
		wantCause string
		wantDst   string
	}{
		{"bad arguments", usageError{errors.New("-streams must be at least 1")}, exitSetup, "", ""},
		{"missing source", fmt.Errorf("source /nope: %w", missing), exitSetup, "", ""},
		{"unsupported scheme", fmt.Errorf("%w ftp", copier.ErrUnsupportedScheme), exitSetup, "", ""},
		{"disk full", fmt.Errorf("a.bin: copy chunk 2: %w",
			&copier.DestinationError{Path: "/mnt/a.bin", Err: syscall.ENOSPC}), exitSetup, "no_space", "/mnt/a.bin"},
		{"read-only", &copier.DestinationError{Path: "/ro/a.bin", Err: syscall.EROFS}, exitSetup, "read_only", "/ro/a.bin"},
		{"other destination failure", &copier.DestinationError{Path: "/x", Err: syscall.EIO}, exitSetup, "", "/x"},
		{"http refusal", fmt.Errorf("range GET: %w", &copier.HTTPStatusError{Code: 503}), exitUnreachable, "", ""},
		{"network", &url.Error{Op: "Get", URL: "http://x", Err: syscall.ECONNREFUSED}, exitUnreachable, "", ""},
		{"interrupted", fmt.Errorf("a.bin: %w", context.Canceled), exitInterrupted, "", ""},
		{"interrupted request", &url.Error{Op: "Get", URL: "http://x", Err: context.Canceled}, exitInterrupted, "", ""},
		{"source changed", errors.New("short read at 0: got 1 of 4 bytes (source changed?)"), exitFailed, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := failure(tt.err)
			if ev.Code != tt.wantCode || ev.Cause != tt.wantCause || ev.Dst != tt.wantDst {
				t.Fatalf("failure(%v) = code %d cause %q dst %q, want %d %q %q",
					tt.err, ev.Code, ev.Cause, ev.Dst, tt.wantCode, tt.wantCause, tt.wantDst)
			}
			if ev.Event != "error" || ev.Message != tt.err.Error() {
				t.Fatalf("failure(%v) = %+v, want an error event with the message", tt.err, ev)
			}
		})
	}
}

func TestRunFailuresAreOneErrorLineAndAnExitCode(t *testing.T) {
	dir := t.TempDir()
	blocker := filepath.Join(dir, "a-file")
	if err := os.WriteFile(blocker, []byte("data"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantDst  string
	}{
		{"zero streams", []string{"-streams", "0", blocker, dir}, exitSetup, ""},
		{"unknown flag", []string{"-bogus", blocker, dir}, exitSetup, ""},
		{"missing source", []string{filepath.Join(dir, "missing"), filepath.Join(dir, "out")}, exitSetup, ""},
		{"ftp source", []string{"ftp://host/a", filepath.Join(dir, "out")}, exitSetup, ""},
		{"destination under a file", []string{blocker, filepath.Join(blocker, "x", "y")}, exitSetup,
			filepath.Join(blocker, "x", "y")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			err := run(tt.args, bytes.NewReader(nil), &out)
			if err == nil {
				t.Fatalf("run(%v) succeeded, want a failure", tt.args)
			}
			var line bytes.Buffer
			if code := report(&line, err); code != tt.wantCode {
				t.Fatalf("report(%v) = %d, want %d", err, code, tt.wantCode)
			}
			var ev copier.Event
			if err := json.Unmarshal(line.Bytes(), &ev); err != nil || bytes.Count(line.Bytes(), []byte("\n")) != 1 {
				t.Fatalf("error line %q is not one JSON line: %v", line.String(), err)
			}
			if ev.Code != tt.wantCode || ev.Dst != tt.wantDst {
				t.Fatalf("error line %+v, want code %d dst %q", ev, tt.wantCode, tt.wantDst)
			}
		})
	}
}
