package bundle

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/wharfhq/wharf/artifacts/blob"
	"github.com/wharfhq/wharf/artifacts/blob/diskblob"
)

type entry struct {
	name string
	body string
	typ  byte
}

// makeBundle builds a bundle by hand, in the order given.
func makeBundle(t testing.TB, c Compression, entries ...entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw, err := newWriter(&buf, c)
	if err != nil {
		t.Fatal(err)
	}
	tw := tar.NewWriter(zw)
	for _, e := range entries {
		typ := e.typ
		if typ == 0 {
			typ = tar.TypeReg
		}
		if err := tw.WriteHeader(&tar.Header{Name: e.name, Typeflag: typ, Size: int64(len(e.body)), Mode: 0o644}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(e.body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestReadManifest(t *testing.T) {
	for _, c := range []Compression{Gzip, Zstd} {
		var buf bytes.Buffer
		if _, err := Pack(t.Context(), sampleTree(t), &buf, PackOptions{Compression: c}); err != nil {
			t.Fatal(err)
		}
		m, err := ReadManifest(bytes.NewReader(buf.Bytes()))
		if err != nil || m.App != "shop" {
			t.Fatalf("%v: ReadManifest: %+v, %v", c, m, err)
		}
		// Found after other entries too, with a "./" prefix.
		b := makeBundle(t, c, entry{"./a", "x", 0}, entry{"./lib/", "", tar.TypeDir}, entry{"./wharf.yaml", minimalManifest, 0})
		if m, err := ReadManifest(bytes.NewReader(b)); err != nil || m.App != "shop" {
			t.Fatalf("%v: manifest after other entries: %+v, %v", c, m, err)
		}
	}
	cases := map[string]struct {
		data  []byte
		check func(error) bool
	}{
		"empty":        {nil, func(err error) bool { return errors.Is(err, ErrNotBundle) }},
		"plain text":   {[]byte("hello, world"), func(err error) bool { return errors.Is(err, ErrNotBundle) }},
		"no manifest":  {makeBundle(t, Gzip, entry{"a", "x", 0}), IsManifestError},
		"nested only":  {makeBundle(t, Gzip, entry{"sub/wharf.yaml", minimalManifest, 0}), IsManifestError},
		"bad manifest": {makeBundle(t, Zstd, entry{"wharf.yaml", "app: shop\n", 0}), IsManifestError},
		"dir manifest": {makeBundle(t, Gzip, entry{"wharf.yaml", "", tar.TypeDir}), IsManifestError},
		"truncated": {makeBundle(t, Gzip, entry{"a", strings.Repeat("x", 100000), 0}, entry{"wharf.yaml", minimalManifest, 0})[:200],
			func(err error) bool { return errors.Is(err, ErrCorrupt) }},
		"gzip magic only": {[]byte{0x1f, 0x8b}, func(err error) bool { return errors.Is(err, ErrCorrupt) }},
	}
	for name, c := range cases {
		if _, err := ReadManifest(bytes.NewReader(c.data)); !c.check(err) {
			t.Errorf("%s: unexpected error %v", name, err)
		}
	}
}

// writeChunks writes data to w in small pieces and returns how many bytes
// were accepted before the first error.
func writeChunks(w io.Writer, data []byte) (int, error) {
	n := 0
	for len(data) > 0 {
		k := min(len(data), 4096)
		if _, err := w.Write(data[:k]); err != nil {
			return n, err
		}
		n += k
		data = data[k:]
	}
	return n, nil
}

func TestSniffer(t *testing.T) {
	var buf bytes.Buffer
	if _, err := Pack(t.Context(), sampleTree(t), &buf, PackOptions{}); err != nil {
		t.Fatal(err)
	}
	s := NewSniffer(Limits{})
	if _, err := writeChunks(s, buf.Bytes()); err != nil {
		t.Fatalf("Write: %v", err)
	}
	m, err := s.Finish()
	if err != nil || m.App != "shop" {
		t.Fatalf("Finish: %+v, %v", m, err)
	}

	// An invalid manifest stops the stream early, not at its end.
	noise := strings.Repeat("incompressible? no, but long enough ", 300000)
	bad := makeBundle(t, Gzip, entry{"wharf.yaml", "app: shop\nprocesses: {web: ''}\n", 0}, entry{"big", noise, 0})
	s = NewSniffer(Limits{})
	n, err := writeChunks(s, bad)
	if !IsManifestError(err) || n >= len(bad) {
		t.Fatalf("invalid manifest: accepted %d of %d bytes, error %v", n, len(bad), err)
	}
	if _, err := s.Finish(); !IsManifestError(err) {
		t.Fatalf("Finish: %v", err)
	}

	// A stream without a manifest fails at Finish.
	s = NewSniffer(Limits{})
	if _, err := writeChunks(s, makeBundle(t, Zstd, entry{"a", "x", 0})); err != nil {
		t.Fatalf("Write: %v", err)
	}
	if _, err := s.Finish(); !IsManifestError(err) {
		t.Fatalf("Finish without manifest: %v", err)
	}
	s.Close() // a second Close is harmless

	// Closing a Sniffer that saw nothing ends its goroutine.
	if _, err := NewSniffer(Limits{}).Finish(); !errors.Is(err, ErrNotBundle) {
		t.Fatalf("Finish of nothing: %v", err)
	}
}

// The push path: a bundle streams into blob storage through a Sniffer and
// is kept only when its manifest is valid.
func TestSnifferWithBlobPut(t *testing.T) {
	b, err := diskblob.New(diskblob.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	var good bytes.Buffer
	if _, err := Pack(t.Context(), sampleTree(t), &good, PackOptions{}); err != nil {
		t.Fatal(err)
	}
	push := func(key string, data []byte) (*Manifest, error) {
		s := NewSniffer(Limits{})
		defer s.Close()
		var m *Manifest
		_, err := b.Put(t.Context(), key, io.TeeReader(bytes.NewReader(data), s), int64(len(data)), blob.PutOptions{
			BeforeCommit: func(blob.Info) error {
				var err error
				m, err = s.Finish()
				return err
			},
		})
		return m, err
	}
	if m, err := push("shop/1", good.Bytes()); err != nil || m.App != "shop" {
		t.Fatalf("push of a good bundle: %+v, %v", m, err)
	}
	bad := makeBundle(t, Gzip, entry{"wharf.yaml", "app: shop\n", 0}, entry{"x", strings.Repeat("y", 1<<20), 0})
	missing := makeBundle(t, Gzip, entry{"x", "y", 0})
	for name, data := range map[string][]byte{"bad": bad, "missing": missing, "not a bundle": []byte("plain")} {
		_, err := push("shop/2", data)
		if !IsManifestError(err) && !errors.Is(err, ErrNotBundle) {
			t.Fatalf("push of %s: want a manifest error, got %v", name, err)
		}
		if _, err := b.Stat(t.Context(), "shop/2"); !errors.Is(err, blob.ErrNotFound) {
			t.Fatalf("push of %s kept the blob: %v", name, err)
		}
	}
}

// The Sniffer reads the whole tar stream against its Limits: a bomb after
// a valid manifest is a *LimitError (from Write too, once the scan has
// failed, so an upload stops).
func TestSnifferRefusesBundlesBeyondTheLimits(t *testing.T) {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	mf := "app: shop\nprocesses:\n  web: ./server\n"
	_ = tw.WriteHeader(&tar.Header{Name: ManifestName, Typeflag: tar.TypeReg, Size: int64(len(mf)), Mode: 0o644})
	_, _ = tw.Write([]byte(mf))
	_ = tw.WriteHeader(&tar.Header{Name: "big", Typeflag: tar.TypeReg, Size: 8 << 20, Mode: 0o644})
	_, _ = tw.Write(make([]byte, 8<<20))
	_ = tw.Close()
	_ = zw.Close()
	for _, c := range []struct {
		lim  Limits
		want string
	}{
		{Limits{MaxBytes: 1 << 20}, "max_bytes"},
		{Limits{MaxFiles: 1}, "max_files"},
		{Limits{}, ""},
	} {
		s := NewSniffer(c.lim)
		_, werr := io.Copy(s, bytes.NewReader(buf.Bytes()))
		m, err := s.Finish()
		var le *LimitError
		switch {
		case c.want == "" && (err != nil || werr != nil || m.App != "shop"):
			t.Fatalf("within limits: %v %v", werr, err)
		case c.want != "" && (!errors.As(err, &le) || le.Limit != c.want || werr != nil && !errors.Is(werr, ErrExpandsTooMuch)):
			t.Fatalf("%+v: write %v, finish %v", c.lim, werr, err)
		}
	}
}
