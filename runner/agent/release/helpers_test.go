package release

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"

	"github.com/wharfhq/wharf/artifacts/bundle"
)

const shopManifest = "app: shop\nprocesses:\n  web: ./bin/server --port $PORT\n"

// testBundle is a packed bundle and its sha256.
type testBundle struct {
	data []byte
	sum  string
}

// packBundle writes files (path → content) to a temp dir and packs it
// with bundle.Pack.
func packBundle(t testing.TB, c bundle.Compression, files map[string]string) testBundle {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var buf bytes.Buffer
	if _, err := bundle.Pack(context.Background(), dir, &buf, bundle.PackOptions{Compression: c}); err != nil {
		t.Fatalf("Pack: %v", err)
	}
	return newTestBundle(buf.Bytes())
}

func newTestBundle(data []byte) testBundle {
	s := sha256.Sum256(data)
	return testBundle{data: data, sum: hex.EncodeToString(s[:])}
}

// shopBundle is a small valid bundle for app shop; tag changes its content.
func shopBundle(t testing.TB, tag string) testBundle {
	t.Helper()
	return packBundle(t, bundle.Gzip, map[string]string{
		"wharf.yaml":    shopManifest,
		"bin/server":    "#!/bin/sh\necho " + tag + "\n",
		"static/app.js": strings.Repeat("js", 1000),
	})
}

// rawBundle builds a gzip bundle by hand, for entries Pack would refuse.
func rawBundle(t testing.TB, entries ...tar.Header) testBundle {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, h := range entries {
		body := ""
		if h.Typeflag == tar.TypeReg {
			body = h.Linkname // the body rides in Linkname for brevity
			h.Linkname = ""
			h.Size = int64(len(body))
		}
		if h.Mode == 0 {
			h.Mode = 0o644
		}
		if err := tw.WriteHeader(&h); err != nil {
			t.Fatal(err)
		}
		io.WriteString(tw, body)
	}
	tw.Close()
	zw.Close()
	return newTestBundle(buf.Bytes())
}

func regular(name, body string) tar.Header {
	return tar.Header{Name: name, Typeflag: tar.TypeReg, Linkname: body}
}

// testServer is a loopback HTTP server counting its requests; handle gets
// the request's number, from 1.
type testServer struct {
	*httptest.Server
	requests atomic.Int64
}

func newServer(t testing.TB, handle func(w http.ResponseWriter, r *http.Request, n int64)) *testServer {
	t.Helper()
	s := &testServer{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		handle(w, r, s.requests.Add(1))
	}))
	t.Cleanup(s.Close)
	return s
}

// serve answers every request with data.
func serve(data []byte) func(http.ResponseWriter, *http.Request, int64) {
	return func(w http.ResponseWriter, r *http.Request, _ int64) {
		w.Header().Set("Content-Type", "application/gzip")
		w.Write(data)
	}
}

func (s *testServer) source() HTTPSource { return HTTPSource{URL: s.URL + "/bundle"} }

// env is a Manager whose root sits in parent, next to nothing else, so a
// test can see whether anything escaped.
type env struct {
	parent string
	m      *Manager
}

func newEnv(t testing.TB, opts Options) env {
	t.Helper()
	parent := t.TempDir()
	opts.Root = filepath.Join(parent, "root")
	if opts.Backoff == 0 {
		opts.Backoff = time.Millisecond
	}
	m, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return env{parent: parent, m: m}
}

// releases lists the names under releases/ of app.
func (e env) releases(t testing.TB, app string) []string {
	t.Helper()
	ents, err := os.ReadDir(e.m.releasesDir(app))
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var names []string
	for _, d := range ents {
		names = append(names, d.Name())
	}
	return names
}

// clean fails if anything temporary is left anywhere under parent, or if
// parent holds anything but root.
func (e env) clean(t testing.TB) {
	t.Helper()
	ents, _ := os.ReadDir(e.parent)
	if len(ents) != 1 || ents[0].Name() != "root" {
		var names []string
		for _, d := range ents {
			names = append(names, d.Name())
		}
		t.Fatalf("parent holds %v, want only root", names)
	}
	var tmp []string
	filepath.WalkDir(e.parent, func(p string, d fs.DirEntry, err error) error {
		if err == nil && strings.Contains(d.Name(), ".tmp-") {
			tmp = append(tmp, p)
		}
		return nil
	})
	if len(tmp) > 0 {
		t.Fatalf("temporary leftovers: %v", tmp)
	}
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}
