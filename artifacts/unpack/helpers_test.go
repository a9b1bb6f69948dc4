package unpack

import (
	"archive/tar"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// ent is one hand-made archive entry.
type ent struct {
	name string
	typ  byte
	body string
	link string
	mode int64
}

func file(name, body string) ent   { return ent{name: name, typ: tar.TypeReg, body: body} }
func dir(name string) ent          { return ent{name: name, typ: tar.TypeDir} }
func symlink(name, to string) ent  { return ent{name: name, typ: tar.TypeSymlink, link: to} }
func hardlink(name, to string) ent { return ent{name: name, typ: tar.TypeLink, link: to} }

// rawTar builds an uncompressed tar stream.
func rawTar(t testing.TB, entries ...ent) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		mode := e.mode
		if mode == 0 {
			mode = 0o644
		}
		size := int64(len(e.body))
		if e.typ != tar.TypeReg {
			size = 0
		}
		hdr := &tar.Header{Name: e.name, Typeflag: e.typ, Linkname: e.link, Mode: mode, Size: size, Format: tar.FormatPAX}
		if e.typ == tar.TypeXGlobalHeader {
			hdr = &tar.Header{Name: e.name, Typeflag: e.typ, PAXRecords: map[string]string{"comment": "git archive"}}
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatalf("header %q: %v", e.name, err)
		}
		if size > 0 {
			if _, err := io.WriteString(tw, e.body); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Flush(); err != nil {
		t.Fatal(err)
	}
	tw.Close()
	return buf.Bytes()
}

func gz(t testing.TB, raw []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
	zw.Write(raw)
	zw.Close()
	return buf.Bytes()
}

func zst(t testing.TB, raw []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw, err := zstd.NewWriter(&buf, zstd.WithEncoderConcurrency(1))
	if err != nil {
		t.Fatal(err)
	}
	zw.Write(raw)
	zw.Close()
	return buf.Bytes()
}

// sandbox makes parent/{root,outside} and returns root; check verifies
// afterwards that nothing but root's own tree changed.
type sandbox struct {
	parent, root, outside string
}

func newSandbox(t testing.TB) sandbox {
	t.Helper()
	p := t.TempDir()
	s := sandbox{parent: p, root: filepath.Join(p, "root"), outside: filepath.Join(p, "outside")}
	for _, d := range []string{s.root, s.outside} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

// untouched fails when anything appeared next to root or in outside.
func (s sandbox) untouched(t testing.TB) {
	t.Helper()
	ents, _ := os.ReadDir(s.parent)
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	if strings.Join(names, ",") != "outside,root" {
		t.Fatalf("extraction escaped: parent now holds %v", names)
	}
	if ents, _ := os.ReadDir(s.outside); len(ents) != 0 {
		t.Fatalf("extraction wrote outside the root: %v", ents)
	}
}

// rootEmpty fails unless root has nothing in it.
func (s sandbox) rootEmpty(t testing.TB) {
	t.Helper()
	if ents, _ := os.ReadDir(s.root); len(ents) != 0 {
		t.Fatalf("failed extraction left %d entries behind", len(ents))
	}
}

// zeros is an endless reader of zero bytes.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// bomb streams a compressed archive of files × each zero bytes, generated on
// the fly; produced counts the uncompressed tar bytes generated so far.
func bomb(files int, each int64, zstdToo bool) (io.ReadCloser, *atomic.Int64) {
	pr, pw := io.Pipe()
	var produced atomic.Int64
	go func() {
		var zw io.WriteCloser
		if zstdToo {
			zw, _ = zstd.NewWriter(pw, zstd.WithEncoderConcurrency(1))
		} else {
			zw, _ = gzip.NewWriterLevel(pw, gzip.BestSpeed)
		}
		tw := tar.NewWriter(&counting{w: zw, n: &produced})
		for i := range files {
			hdr := &tar.Header{Name: "zeros/" + strings.Repeat("z", 1+i%50) + string(rune('a'+i%26)) + strconv.Itoa(i), Typeflag: tar.TypeReg, Mode: 0o644, Size: each}
			if err := tw.WriteHeader(hdr); err != nil {
				pw.CloseWithError(err)
				return
			}
			if _, err := io.CopyN(tw, zeros{}, each); err != nil {
				pw.CloseWithError(err)
				return
			}
		}
		tw.Close()
		zw.Close()
		pw.Close()
	}()
	return pr, &produced
}

type counting struct {
	w io.Writer
	n *atomic.Int64
}

func (c *counting) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n.Add(int64(n))
	return n, err
}
