package diskblob

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/artifacts/blob"
	"github.com/wharfhq/wharf/artifacts/blob/blobtest"
)

func open(t *testing.T, dir string) *Backend {
	t.Helper()
	b, err := New(Options{Dir: dir})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

func TestConformance(t *testing.T) {
	blobtest.Run(t, func(t *testing.T) blob.Backend { return open(t, t.TempDir()) })
}

func TestPresignNotSupported(t *testing.T) {
	b := open(t, t.TempDir())
	if _, err := b.PresignGet(t.Context(), "a", time.Minute); !errors.Is(err, blob.ErrNotSupported) {
		t.Fatalf("PresignGet: want ErrNotSupported, got %v", err)
	}
}

// A crashed Put leaves a temporary file that nothing lists and that
// CleanupIncomplete removes once it is old enough.
func TestCleanupRemovesCrashLeftovers(t *testing.T) {
	dir := t.TempDir()
	b := open(t, dir)
	old := filepath.Join(dir, incomingDir, "crashed"+tmpSuffix)
	young := filepath.Join(dir, incomingDir, "running"+tmpSuffix)
	for _, p := range []string{old, young} {
		if err := os.WriteFile(p, []byte("half a body"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	past := time.Now().Add(-2 * time.Hour)
	if err := os.Chtimes(old, past, past); err != nil {
		t.Fatal(err)
	}
	page, err := b.List(t.Context(), "", blob.ListOptions{})
	if err != nil || len(page.Items) != 0 {
		t.Fatalf("List sees temporary files: %+v, %v", page.Items, err)
	}
	n, err := b.CleanupIncomplete(t.Context(), time.Hour)
	if err != nil || n != 1 {
		t.Fatalf("CleanupIncomplete(1h): %d, %v; want 1", n, err)
	}
	if _, err := os.Stat(old); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("old leftover still there: %v", err)
	}
	if _, err := os.Stat(young); err != nil {
		t.Fatalf("young temporary file removed: %v", err)
	}
}

// While a Put is writing, the blob's final path does not exist; the body
// appears there whole, in one step.
func TestNoHalfWrittenFileVisible(t *testing.T) {
	dir := t.TempDir()
	b := open(t, dir)
	final := filepath.Join(dir, objectsDir, "app", "v1"+blobSuffix)
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		_, err := b.Put(context.Background(), "app/v1", pr, -1, blob.PutOptions{})
		done <- err
	}()
	for i := range 50 {
		if _, err := pw.Write(bytes.Repeat([]byte{byte(i)}, 64<<10)); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(final); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("final path visible while the body is still being written: %v", err)
		}
		if _, err := b.Stat(t.Context(), "app/v1"); !errors.Is(err, blob.ErrNotFound) {
			t.Fatalf("Stat while writing: want ErrNotFound, got %v", err)
		}
	}
	pw.Close()
	if err := <-done; err != nil {
		t.Fatalf("Put: %v", err)
	}
	st, err := os.Stat(final)
	if err != nil || st.Size() != headerSize+50*64<<10 {
		t.Fatalf("final file: %v, %v", st, err)
	}
	ents, _ := os.ReadDir(filepath.Join(dir, incomingDir))
	if len(ents) != 0 {
		t.Fatalf("temporary files left: %v", ents)
	}
}

// A corrupt or truncated blob file is reported, not served.
func TestCorruptFileDetected(t *testing.T) {
	dir := t.TempDir()
	b := open(t, dir)
	if _, err := b.Put(t.Context(), "x", strings.NewReader("hello"), 5, blob.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, objectsDir, "x"+blobSuffix)
	if err := os.Truncate(p, headerSize+2); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Stat(t.Context(), "x"); !errors.Is(err, blob.ErrUnavailable) || !strings.Contains(err.Error(), "corrupt") {
		t.Fatalf("Stat of a truncated file: %v", err)
	}
}
