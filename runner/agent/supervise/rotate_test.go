package supervise

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// logFiles returns the sizes of path, path.1, path.2, ... that exist, and
// fails if a file beyond keep exists.
func logFiles(t *testing.T, path string, keep int) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	matches, err := filepath.Glob(path + "*")
	if err != nil {
		t.Fatal(err)
	}
	allowed := map[string]bool{path: true}
	for i := 1; i <= keep; i++ {
		allowed[rotatedName(path, i)] = true
	}
	for _, m := range matches {
		if !allowed[m] {
			t.Errorf("unexpected log file %s (keep %d)", m, keep)
		}
		st, err := os.Stat(m)
		if err != nil {
			t.Fatal(err)
		}
		out[m] = st.Size()
	}
	return out
}

func TestRotatingWriterKeepsBoundedFiles(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "app.log")
	const maxBytes, keep = 1000, 3
	w, err := NewRotatingWriter(path, maxBytes, keep)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 500 {
		if _, err := fmt.Fprintf(w, "line %04d %s\n", i, strings.Repeat("x", 40)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	files := logFiles(t, path, keep)
	if len(files) != keep+1 {
		t.Fatalf("files %v, want %d", files, keep+1)
	}
	for name, size := range files {
		if size > maxBytes || size == 0 {
			t.Errorf("%s has %d bytes, limit %d", name, size, maxBytes)
		}
	}
	// Every kept file holds whole lines, in order, ending with the last one.
	var all []byte
	for i := keep; i >= 0; i-- {
		name := path
		if i > 0 {
			name = rotatedName(path, i)
		}
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.HasSuffix(b, []byte("\n")) {
			t.Errorf("%s does not end at a line boundary", name)
		}
		all = append(all, b...)
	}
	lines := strings.Split(strings.TrimSuffix(string(all), "\n"), "\n")
	if !strings.HasPrefix(lines[len(lines)-1], "line 0499 ") {
		t.Fatalf("last line %q", lines[len(lines)-1])
	}
	for i := 1; i < len(lines); i++ {
		var a, b int
		fmt.Sscanf(lines[i-1], "line %d", &a)
		fmt.Sscanf(lines[i], "line %d", &b)
		if b != a+1 {
			t.Fatalf("line %d: %q follows %q", i, lines[i], lines[i-1])
		}
	}
}

func TestRotatingWriterSplitsOversizeWrite(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "big.log")
	w, err := NewRotatingWriter(path, 100, 5)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	p := bytes.Repeat([]byte("abcdefghij"), 25) // 250 bytes
	if n, err := w.Write(p); err != nil || n != len(p) {
		t.Fatalf("Write = %d, %v", n, err)
	}
	files := logFiles(t, path, 5)
	var total int64
	for name, size := range files {
		if size > 100 {
			t.Errorf("%s has %d bytes", name, size)
		}
		total += size
	}
	if total != 250 {
		t.Fatalf("total %d bytes, want 250 (%v)", total, files)
	}
}

func TestRotatingWriterKeepZeroTruncates(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "z.log")
	w, err := NewRotatingWriter(path, 10, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	for _, s := range []string{"aaaa\n", "bbbb\n", "cccc\n"} {
		if _, err := w.Write([]byte(s)); err != nil {
			t.Fatal(err)
		}
	}
	logFiles(t, path, 0)
	b, _ := os.ReadFile(path)
	if string(b) != "cccc\n" {
		t.Fatalf("content %q", b)
	}
}

func TestRotatingWriterAppendsAndClose(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "a.log")
	for _, s := range []string{"one\n", "two\n"} {
		w, err := NewRotatingWriter(path, 1<<20, 1)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte(s)); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatalf("second Close: %v", err)
		}
		if _, err := w.Write([]byte("late\n")); !errors.Is(err, os.ErrClosed) {
			t.Fatalf("Write after Close: %v", err)
		}
		if lines, err := w.Tail(5); err != nil || lines[len(lines)-1] != strings.TrimSpace(s) {
			t.Fatalf("Tail after Close = %q, %v", lines, err)
		}
	}
	b, _ := os.ReadFile(path)
	if string(b) != "one\ntwo\n" {
		t.Fatalf("content %q", b)
	}
	if _, err := NewRotatingWriter(path, 0, 1); err == nil {
		t.Fatal("zero limit accepted")
	}
	if _, err := NewRotatingWriter(path, 10, -1); err == nil {
		t.Fatal("negative keep accepted")
	}
}

func TestRotatingWriterConcurrentWriters(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "c.log")
	const keep = 4
	w, err := NewRotatingWriter(path, 4096, keep)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 300 {
				fmt.Fprintf(w, "g%d-%03d %s\n", g, i, strings.Repeat("y", 20))
			}
		})
	}
	wg.Go(func() { // tails run against rotations
		for range 50 {
			if _, err := w.Tail(20); err != nil {
				t.Error(err)
			}
		}
	})
	wg.Wait()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	for name, size := range logFiles(t, path, keep) {
		if size > 4096 {
			t.Errorf("%s has %d bytes", name, size)
		}
		b, _ := os.ReadFile(name)
		for _, l := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
			var g, i int
			if n, _ := fmt.Sscanf(l, "g%d-%d", &g, &i); n != 2 || len(l) != len("g0-000 ")+20 {
				t.Fatalf("%s: torn line %q", name, l)
			}
		}
	}
}

func TestRotatingWriterTailAcrossRotation(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "t.log")
	w, err := NewRotatingWriter(path, 64, 3)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	// A line split over two writes lands in two files; Tail joins it.
	for _, s := range []string{"first line\n", strings.Repeat("a", 50), strings.Repeat("b", 30) + "\n", "last\n"} {
		if _, err := w.Write([]byte(s)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := os.Stat(rotatedName(path, 1)); err != nil {
		t.Fatalf("no rotation happened: %v", err)
	}
	lines, err := w.Tail(3)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"first line", strings.Repeat("a", 50) + strings.Repeat("b", 30), "last"}
	if fmt.Sprint(lines) != fmt.Sprint(want) {
		t.Fatalf("Tail(3) = %q, want %q", lines, want)
	}
	if lines, _ := w.Tail(1); len(lines) != 1 || lines[0] != "last" {
		t.Fatalf("Tail(1) = %q", lines)
	}
	if lines, _ := w.Tail(100); len(lines) != 3 {
		t.Fatalf("Tail(100) = %q", lines)
	}
}
