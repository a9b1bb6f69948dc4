package supervise

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sync"
)

const (
	// tailMaxBytes bounds what one tail reads from disk, so a huge line or a
	// huge n cannot make it read whole log files.
	tailMaxBytes = 1 << 20
	// tailChunk is the read size when scanning a file backwards.
	tailChunk = 32 << 10
	// hookTailBytes is how much of a hook's output is kept in memory.
	hookTailBytes = 64 << 10
)

// tailFiles returns the last n lines of the logical stream
// <path>.keep, …, <path>.1, <path> (oldest first), so lines split by a
// rotation are joined again. It reads at most about tailMaxBytes; when it
// stops there the partial first line is dropped. Missing files are skipped.
func tailFiles(path string, keep, n int) ([]string, error) {
	if n <= 0 {
		return nil, nil
	}
	var chunks [][]byte // newest first
	total, newlines := 0, 0
	trailingChecked := false
	for i := 0; i <= keep; i++ {
		name := path
		if i > 0 {
			name = rotatedName(path, i)
		}
		done, err := func() (bool, error) {
			f, err := os.Open(name)
			if errors.Is(err, fs.ErrNotExist) {
				return false, nil
			}
			if err != nil {
				return false, fmt.Errorf("cannot open log %s: %w", name, err)
			}
			defer f.Close()
			st, err := f.Stat()
			if err != nil {
				return false, fmt.Errorf("cannot stat log %s: %w", name, err)
			}
			for off := st.Size(); off > 0; {
				size := min(off, tailChunk)
				off -= size
				buf := make([]byte, size)
				if _, err := f.ReadAt(buf, off); err != nil && !errors.Is(err, io.EOF) {
					return false, fmt.Errorf("cannot read log %s: %w", name, err)
				}
				if !trailingChecked {
					trailingChecked = true
					if buf[len(buf)-1] == '\n' {
						newlines-- // the final newline ends the last line, it does not start one
					}
				}
				chunks = append(chunks, buf)
				total += len(buf)
				newlines += bytes.Count(buf, []byte{'\n'})
				if newlines >= n || total >= tailMaxBytes {
					return true, nil
				}
			}
			return false, nil
		}()
		if err != nil {
			return nil, err
		}
		if done {
			return lastLines(joinReversed(chunks, total), n, true), nil
		}
	}
	return lastLines(joinReversed(chunks, total), n, false), nil
}

func joinReversed(chunks [][]byte, total int) []byte {
	out := make([]byte, 0, total)
	for i := len(chunks) - 1; i >= 0; i-- {
		out = append(out, chunks[i]...)
	}
	return out
}

// lastLines splits data into lines and returns the last n. When midLine
// says data may start inside a line, that partial first line is dropped
// unless it is all there is.
func lastLines(data []byte, n int, midLine bool) []string {
	if len(data) == 0 || n <= 0 {
		return nil
	}
	data = bytes.TrimSuffix(data, []byte{'\n'})
	lines := bytes.Split(data, []byte{'\n'})
	if midLine && len(lines) > 1 {
		lines = lines[1:]
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	out := make([]string, len(lines))
	for i, l := range lines {
		out[i] = string(l)
	}
	return out
}

// tailBuffer is an io.Writer that keeps roughly the last limit bytes
// written, for the tail of a hook's output. Safe for concurrent use.
type tailBuffer struct {
	limit int

	mu      sync.Mutex
	buf     []byte
	dropped bool // buf starts inside a line
}

func newTailBuffer(limit int) *tailBuffer { return &tailBuffer{limit: limit} }

// Write appends p, discarding old bytes beyond twice the limit.
func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	if len(b.buf) > 2*b.limit {
		cut := len(b.buf) - b.limit
		b.dropped = b.buf[cut-1] != '\n'
		n := copy(b.buf, b.buf[cut:])
		b.buf = b.buf[:n]
	}
	return len(p), nil
}

// lines returns the last n lines of at most the last limit bytes.
func (b *tailBuffer) lines(n int) []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	data, mid := b.buf, b.dropped
	if cut := len(data) - b.limit; cut > 0 {
		data, mid = data[cut:], data[cut-1] != '\n'
	}
	return lastLines(data, n, mid)
}
