package supervise

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"sync"
)

// RotatingWriter is an io.Writer that appends to a file and, before a write
// would take the file past a size limit, rotates it: <file>.N-1 → <file>.N,
// …, <file> → <file>.1, keeping at most N rotated files. It is safe for
// concurrent use; a Write lands contiguously in one file unless it alone is
// larger than the limit, in which case it is split so no file ever exceeds
// the limit.
type RotatingWriter struct {
	path     string
	maxBytes int64
	keep     int

	mu     sync.Mutex
	f      *os.File // nil after a failed rotation (reopened by the next Write) or Close
	size   int64
	closed bool
}

// NewRotatingWriter opens path for appending, creating it if missing, with a
// size limit of maxBytes (> 0) and keep (>= 0) rotated files; keep 0
// truncates the file instead of rotating it.
func NewRotatingWriter(path string, maxBytes int64, keep int) (*RotatingWriter, error) {
	if maxBytes <= 0 {
		return nil, fmt.Errorf("cannot open log %s: size limit %d is not positive", path, maxBytes)
	}
	if keep < 0 {
		return nil, fmt.Errorf("cannot open log %s: negative keep %d", path, keep)
	}
	w := &RotatingWriter{path: path, maxBytes: maxBytes, keep: keep}
	if err := w.open(os.O_APPEND); err != nil {
		return nil, err
	}
	return w, nil
}

// Path returns the path of the current (newest) file.
func (w *RotatingWriter) Path() string { return w.path }

// Write appends p, rotating first when needed. After Close it fails with an
// error wrapping os.ErrClosed.
func (w *RotatingWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return 0, fmt.Errorf("cannot write log %s: %w", w.path, os.ErrClosed)
	}
	if w.f == nil {
		if err := w.open(os.O_APPEND); err != nil {
			return 0, err
		}
	}
	written := 0
	for len(p) > 0 {
		if w.size > 0 && w.size+int64(len(p)) > w.maxBytes {
			if err := w.rotate(); err != nil {
				return written, err
			}
		}
		chunk := p
		if room := w.maxBytes - w.size; int64(len(chunk)) > room {
			chunk = chunk[:room]
		}
		n, err := w.f.Write(chunk)
		written += n
		w.size += int64(n)
		p = p[n:]
		if err != nil {
			return written, fmt.Errorf("cannot write log %s: %w", w.path, err)
		}
	}
	return written, nil
}

// Tail returns the last n lines written, reading across rotated files when
// the current one holds fewer (see tailFiles for the bounds).
func (w *RotatingWriter) Tail(n int) ([]string, error) {
	w.mu.Lock() // no rotation while the files are read
	defer w.mu.Unlock()
	return tailFiles(w.path, w.keep, n)
}

// Close closes the current file; later Writes fail, Tail keeps working.
func (w *RotatingWriter) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return nil
	}
	w.closed = true
	if w.f == nil {
		return nil
	}
	err := w.f.Close()
	w.f = nil
	if err != nil {
		return fmt.Errorf("cannot close log %s: %w", w.path, err)
	}
	return nil
}

// open opens the current file with O_APPEND or O_TRUNC and records its size.
func (w *RotatingWriter) open(mode int) error {
	f, err := os.OpenFile(w.path, os.O_WRONLY|os.O_CREATE|os.O_APPEND|mode, 0o640)
	if err != nil {
		return fmt.Errorf("cannot open log %s: %w", w.path, err)
	}
	st, err := f.Stat()
	if err != nil {
		_ = f.Close()
		return fmt.Errorf("cannot stat log %s: %w", w.path, err)
	}
	w.f, w.size = f, st.Size()
	return nil
}

// rotate shifts the rotated files up by one, drops the oldest, moves the
// current file to <path>.1 and starts an empty one. Called with mu held.
func (w *RotatingWriter) rotate() error {
	err := w.f.Close()
	w.f = nil
	if err != nil {
		return fmt.Errorf("cannot close log %s for rotation: %w", w.path, err)
	}
	if w.keep > 0 {
		for i := w.keep - 1; i >= 1; i-- {
			if err := renameIfExists(rotatedName(w.path, i), rotatedName(w.path, i+1)); err != nil {
				return err
			}
		}
		if err := renameIfExists(w.path, rotatedName(w.path, 1)); err != nil {
			return err
		}
	}
	return w.open(os.O_TRUNC)
}

// rotatedName returns the name of the i-th rotated file of path (i >= 1).
func rotatedName(path string, i int) string { return path + "." + strconv.Itoa(i) }

func renameIfExists(from, to string) error {
	if err := os.Rename(from, to); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("cannot rotate log %s: %w", from, err)
	}
	return nil
}
