package copier

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// source is one readable object: a local file or an HTTP(S) URL read with range GETs.
type source interface {
	ReadAt(p []byte, off int64) (int, error)
	Close() error
}

// FileSpec is one file of a copy: where it comes from, where it goes, and its name in events.
type FileSpec struct {
	Rel  string // name in events and in the resume list ("a/b.txt"; base name for a single file)
	Src  string // local path or http(s) URL
	Dst  string // local destination path (ignored when the file goes to PUT URLs)
	Size int64
}

func isURL(s string) bool {
	return strings.HasPrefix(s, "http://") || strings.HasPrefix(s, "https://")
}

// localPath accepts plain paths and file:// URLs.
func localPath(s string) string {
	return strings.TrimPrefix(s, "file://")
}

// Plan lists the files to copy from src to dst: one file, or every regular file under a directory.
func Plan(ctx context.Context, client *http.Client, src, dst string) ([]FileSpec, error) {
	for _, end := range []string{src, dst} {
		if err := checkScheme(end); err != nil {
			return nil, err // an ftp:// URL is not a missing local file
		}
	}
	if isURL(src) {
		size, err := httpSize(ctx, client, src)
		if err != nil {
			return nil, err
		}
		name := filepath.Base(strings.SplitN(src, "?", 2)[0])
		return []FileSpec{{Rel: name, Src: src, Dst: fileTarget(dst, name), Size: size}}, nil
	}
	root := localPath(src)
	info, err := os.Stat(root)
	if err != nil {
		return nil, fmt.Errorf("source %s: %w", src, err)
	}
	if !info.IsDir() {
		name := filepath.Base(root)
		return []FileSpec{{Rel: name, Src: root, Dst: fileTarget(dst, name), Size: info.Size()}}, nil
	}
	return walkTree(root, localPath(dst))
}

// fileTarget copies a single file onto dst, or into dst when dst is a directory or ends in a slash.
func fileTarget(dst, name string) string {
	if isURL(dst) {
		return dst
	}
	path := localPath(dst)
	if strings.HasSuffix(path, "/") {
		return filepath.Join(path, name)
	}
	if info, err := os.Stat(path); err == nil && info.IsDir() {
		return filepath.Join(path, name)
	}
	return path
}

func walkTree(root, dst string) ([]FileSpec, error) {
	var files []FileSpec
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("walk %s: %w", path, err)
		}
		if !d.Type().IsRegular() {
			return nil // directories are implied by their files; links and devices are not copied
		}
		info, err := d.Info()
		if err != nil {
			return fmt.Errorf("stat %s: %w", path, err)
		}
		rel, err := filepath.Rel(root, path)
		if err != nil {
			return err
		}
		files = append(files, FileSpec{
			Rel: filepath.ToSlash(rel), Src: path, Dst: filepath.Join(dst, rel), Size: info.Size(),
		})
		return nil
	})
	sort.Slice(files, func(i, j int) bool { return files[i].Rel < files[j].Rel })
	return files, err
}

func openSource(ctx context.Context, client *http.Client, spec FileSpec) (source, error) {
	if isURL(spec.Src) {
		return &httpSource{ctx: ctx, client: client, url: spec.Src}, nil
	}
	return openFile(spec.Src, os.O_RDONLY, 0)
}

// httpSource reads byte ranges of a URL; a presigned GET URL is enough, no credentials here.
type httpSource struct {
	ctx    context.Context
	client *http.Client
	url    string
}

func (h *httpSource) ReadAt(p []byte, off int64) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	req, err := http.NewRequestWithContext(h.ctx, http.MethodGet, h.url, nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Range", fmt.Sprintf("bytes=%d-%d", off, off+int64(len(p))-1))
	resp, err := h.client.Do(req)
	if err != nil {
		return 0, fmt.Errorf("range GET: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusOK && off != 0 {
		return 0, fmt.Errorf("range GET: server ignored the Range header")
	}
	if resp.StatusCode != http.StatusPartialContent && resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("range GET: %w", &HTTPStatusError{Code: resp.StatusCode})
	}
	return io.ReadFull(resp.Body, p)
}

func (h *httpSource) Close() error { return nil }

// httpSize asks for the first byte so that presigned GET URLs (which refuse HEAD) work too.
func httpSize(ctx context.Context, client *http.Client, url string) (int64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Range", "bytes=0-0")
	resp, err := client.Do(req)
	if err != nil {
		return 0, fmt.Errorf("source %s: %w", redact(url), err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	switch resp.StatusCode {
	case http.StatusPartialContent:
		total := resp.Header.Get("Content-Range")
		slash := strings.LastIndex(total, "/")
		if slash < 0 {
			return 0, fmt.Errorf("source %s: no size in Content-Range %q", redact(url), total)
		}
		return strconv.ParseInt(total[slash+1:], 10, 64)
	case http.StatusOK:
		return resp.ContentLength, nil
	case http.StatusRequestedRangeNotSatisfiable:
		return 0, nil // an empty object has no first byte
	default:
		return 0, fmt.Errorf("source %s: %w", redact(url), &HTTPStatusError{Code: resp.StatusCode})
	}
}

// redact drops the query string, where presigned URLs carry their signature.
func redact(url string) string {
	return strings.SplitN(url, "?", 2)[0]
}
