package copier

import (
	"errors"
	"fmt"
	"syscall"
)

// ErrUnsupportedScheme marks a SRC or DST URL whose scheme the copier cannot reach.
var ErrUnsupportedScheme = errors.New("unsupported scheme")

// DestinationError is a failure to write one file's destination. Path is the destination as the
// caller named it, not its partial file, so that the error line names what the user typed.
type DestinationError struct {
	Path string
	Err  error
}

func (e *DestinationError) Error() string { return fmt.Sprintf("destination %s: %v", e.Path, e.Err) }

func (e *DestinationError) Unwrap() error { return e.Err }

// Cause names the failure the way the Python engine does (loaders/file_backends/failures.py),
// so that `etl copy` prints the same line whichever engine ran; "" for any other failure.
func (e *DestinationError) Cause() string {
	switch {
	case errors.Is(e.Err, syscall.ENOSPC), errors.Is(e.Err, syscall.EDQUOT):
		return "no_space"
	case errors.Is(e.Err, syscall.EROFS):
		return "read_only"
	case errors.Is(e.Err, syscall.EACCES), errors.Is(e.Err, syscall.EPERM):
		return "permission_denied"
	}
	return ""
}

// HTTPStatusError is a remote end (a source URL, a PUT URL) answering with a status we cannot use.
type HTTPStatusError struct{ Code int }

func (e *HTTPStatusError) Error() string { return fmt.Sprintf("HTTP %d", e.Code) }

// checkScheme refuses a URL the copier cannot reach; plain paths have no scheme.
func checkScheme(s string) error {
	scheme := schemeOf(s)
	switch scheme {
	case "", "file", "http", "https":
		return nil
	}
	return fmt.Errorf("%w %s (supported: a path, file://, http://, https://)", ErrUnsupportedScheme, scheme)
}

// schemeOf returns the scheme of a URL, or "" for a path: a scheme is a letter followed by
// letters, digits, "+", "-" or ".", then "://" (a Windows drive letter is not one).
func schemeOf(s string) string {
	end := -1
	for i, r := range s {
		letter := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z'
		if letter || i > 0 && (r >= '0' && r <= '9' || r == '+' || r == '-' || r == '.') {
			continue
		}
		end = i
		break
	}
	if end < 2 || len(s) < end+3 || s[end:end+3] != "://" {
		return ""
	}
	return s[:end]
}
