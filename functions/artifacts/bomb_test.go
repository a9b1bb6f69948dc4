package artifacts_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"testing"

	"github.com/wharfhq/wharf/artifacts/blob"
	"github.com/wharfhq/wharf/artifacts/bundle"
	"github.com/wharfhq/wharf/internal/testenv"
)

// bomb is a valid bundle (manifest first) followed by a file of expand
// zero bytes: a few hundred KiB compressed, expand bytes unpacked.
func bomb(t *testing.T, expand int64) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	tw := tar.NewWriter(zw)
	mf := manifestFor("shop")
	_ = tw.WriteHeader(&tar.Header{Name: "wharf.yaml", Typeflag: tar.TypeReg, Size: int64(len(mf)), Mode: 0o644})
	_, _ = tw.Write([]byte(mf))
	if err := tw.WriteHeader(&tar.Header{Name: "zeros", Typeflag: tar.TypeReg, Size: expand, Mode: 0o644}); err != nil {
		t.Fatal(err)
	}
	if _, err := io.CopyN(tw, zeroReader{}, expand); err != nil {
		t.Fatal(err)
	}
	_ = tw.Close()
	_ = zw.Close()
	return buf.Bytes()
}

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) { clear(p); return len(p), nil }

// manyFiles is a bundle of n empty files after the manifest.
func manyFiles(t *testing.T, n int) []byte {
	t.Helper()
	hs := []*tar.Header{reg("wharf.yaml", 0)}
	for i := range n {
		hs = append(hs, reg(fmt.Sprintf("f%05d", i), 0))
	}
	return tarGz(t, hs...)
}

// filesUnder lists the regular files under dir.
func filesUnder(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			out = append(out, p)
		}
		return nil
	})
	return out
}

// A compression bomb is refused at push, where it is checked against the
// limits agents unpack with, instead of being stored and failing on every
// agent; nothing is kept, on disk or in MinIO.
func TestCompressionBombRefusedAtPush(t *testing.T) {
	lim := bundle.Limits{MaxBytes: 32 << 20, MaxFiles: 100}
	dir := t.TempDir()
	e := newEnv(t, envOptions{backend: openDisk(t, dir), limits: lim})
	b := bomb(t, 64<<20)
	if len(b) > 256<<10 {
		t.Fatalf("the bomb should be small: %d bytes", len(b))
	}
	want(t, e.push("shop", "1.0.0", e.tok["shop"], b, ""), 413, "bundle: expands to more than 33554432 bytes")
	e.nothingStored("shop", "1.0.0")
	want(t, e.rawPut(base+"/1.0.1", e.tok["shop"], b, true), 413, "33554432")
	e.nothingStored("shop", "1.0.1")
	want(t, e.push("shop", "1.0.2", e.tok["shop"], manyFiles(t, 150), ""), 413, "bundle: more than 100 entries")
	e.nothingStored("shop", "1.0.2")
	if f := filesUnder(t, dir); len(f) > 0 {
		t.Fatalf("refused pushes left files: %v", f)
	}
	// Within the limits is fine.
	want(t, e.push("shop", "2.0.0", e.tok["shop"], bomb(t, 16<<20), ""), 201)
	want(t, e.push("shop", "2.0.1", e.tok["shop"], manyFiles(t, 90), ""), 201)
}

func TestCompressionBombRefusedAtPushToMinIO(t *testing.T) {
	m := testenv.StartMinIO(t)
	be := openS3(t, m)
	e := newEnv(t, envOptions{backend: be, limits: bundle.Limits{MaxBytes: 32 << 20}})
	want(t, e.push("shop", "1.0.0", e.tok["shop"], bomb(t, 64<<20), ""), 413, "expands to more than")
	e.nothingStored("shop", "1.0.0")
	page, err := be.List(context.Background(), "", blob.ListOptions{})
	if err != nil || len(page.Items) != 0 {
		t.Fatalf("bucket after a refused push: %+v %v", page, err)
	}
	// Nor an unfinished multipart upload: nothing older than now is left.
	if n, err := be.CleanupIncomplete(context.Background(), 0); err != nil || n != 0 {
		t.Fatalf("incomplete uploads after a refused push: %d %v", n, err)
	}
}
