package release

import (
	"archive/tar"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wharfhq/wharf/artifacts/bundle"
	"github.com/wharfhq/wharf/artifacts/unpack"
	"github.com/wharfhq/wharf/internal/testenv"
)

func TestInstallPackedBundle(t *testing.T) {
	files := map[string]string{
		"wharf.yaml":       shopManifest,
		"bin/server":       "#!/bin/sh\n",
		"static/css/a.css": "body{}",
		"static/app.js":    strings.Repeat("js", 5000),
	}
	for _, c := range []bundle.Compression{bundle.Gzip, bundle.Zstd} {
		t.Run(c.String(), func(t *testing.T) {
			b := packBundle(t, c, files)
			srv := newServer(t, serve(b.data))
			e := newEnv(t, Options{})
			r, err := e.m.Install(t.Context(), "shop", "1.0.0", strings.ToUpper(b.sum), srv.source())
			if err != nil {
				t.Fatalf("Install: %v", err)
			}
			dir := filepath.Join(e.parent, "root", "shop", "releases", "1.0.0")
			if r.Dir != dir || r.App != "shop" || r.Version != "1.0.0" || r.SHA256 != b.sum || r.Skipped ||
				r.Downloaded != int64(len(b.data)) || r.Manifest == nil || r.Manifest.Processes["web"] == "" || r.InstalledAt.IsZero() {
				t.Fatalf("release: %+v", r)
			}
			if r.Durations.Download <= 0 || r.Durations.Unpack <= 0 {
				t.Fatalf("durations: %+v", r.Durations)
			}
			for name, body := range files {
				got, err := os.ReadFile(filepath.Join(dir, name))
				if err != nil || string(got) != body {
					t.Fatalf("%s: %q, %v", name, got, err)
				}
			}
			data, err := os.ReadFile(filepath.Join(dir, MarkerName))
			if err != nil {
				t.Fatal(err)
			}
			var mk marker
			if err := json.Unmarshal(data, &mk); err != nil || mk.SHA256 != b.sum || mk.Version != "1.0.0" || mk.App != "shop" || mk.InstalledAt.IsZero() || mk.Size != int64(len(b.data)) {
				t.Fatalf("marker %s: %v", data, err)
			}
			if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o755 {
				t.Fatalf("release dir mode: %v %v", fi, err)
			}
			if v, err := e.m.Verify("shop", "1.0.0"); err != nil || v.SHA256 != b.sum {
				t.Fatalf("Verify: %+v %v", v, err)
			}
			if got := e.releases(t, "shop"); len(got) != 1 || got[0] != "1.0.0" {
				t.Fatalf("releases/: %v", got)
			}
			e.clean(t)
		})
	}
}

func TestInstallSkipsPresent(t *testing.T) {
	b := shopBundle(t, "a")
	srv := newServer(t, serve(b.data))
	e := newEnv(t, Options{})
	if _, err := e.m.Install(t.Context(), "shop", "v1", b.sum, srv.source()); err != nil {
		t.Fatal(err)
	}
	r, err := e.m.Install(t.Context(), "shop", "v1", b.sum, srv.source())
	if err != nil || !r.Skipped || r.Downloaded != 0 || r.Manifest == nil || r.SHA256 != b.sum {
		t.Fatalf("second Install: %+v %v", r, err)
	}
	if n := srv.requests.Load(); n != 1 {
		t.Fatalf("%d requests, want 1", n)
	}
}

func TestInstallChecksumMismatch(t *testing.T) {
	b := shopBundle(t, "a")
	srv := newServer(t, serve(b.data))
	e := newEnv(t, Options{})
	wrong := strings.Repeat("ab", 32)
	_, err := e.m.Install(t.Context(), "shop", "v1", wrong, srv.source())
	if !errors.Is(err, ErrChecksum) {
		t.Fatalf("err = %v, want ErrChecksum", err)
	}
	if n := srv.requests.Load(); n != 1 {
		t.Fatalf("%d requests: a checksum mismatch is not retried", n)
	}
	if got := e.releases(t, "shop"); len(got) != 0 {
		t.Fatalf("releases/ holds %v", got)
	}
	e.clean(t)
}

func TestInstallRetries5xx(t *testing.T) {
	b := shopBundle(t, "a")
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request, n int64) {
		if n <= 2 {
			http.Error(w, "busy", http.StatusInternalServerError)
			return
		}
		w.Write(b.data)
	})
	e := newEnv(t, Options{Retries: 2})
	if _, err := e.m.Install(t.Context(), "shop", "v1", b.sum, srv.source()); err != nil {
		t.Fatalf("Install: %v", err)
	}
	if n := srv.requests.Load(); n != 3 {
		t.Fatalf("%d requests, want 3", n)
	}
	e.clean(t)
}

func TestInstallGivesUpAfterRetries(t *testing.T) {
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request, n int64) {
		http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
	})
	e := newEnv(t, Options{Retries: 2})
	_, err := e.m.Install(t.Context(), "shop", "v1", strings.Repeat("0", 64), srv.source())
	var se *StatusError
	if !errors.As(err, &se) || se.Code != 503 || !strings.Contains(err.Error(), "down for maintenance") {
		t.Fatalf("err = %v", err)
	}
	if n := srv.requests.Load(); n != 3 {
		t.Fatalf("%d requests, want 3", n)
	}
	e.clean(t)
}

func TestInstall404FailsAtOnce(t *testing.T) {
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request, n int64) {
		http.Error(w, "no such artifact", http.StatusNotFound)
	})
	e := newEnv(t, Options{Retries: 5, Backoff: time.Second})
	src := HTTPSource{URL: srv.URL + "/b?X-Amz-Signature=s3cr3t"}
	start := time.Now()
	_, err := e.m.Install(t.Context(), "shop", "v1", strings.Repeat("0", 64), src)
	var se *StatusError
	if !errors.As(err, &se) || se.Code != 404 || !strings.Contains(err.Error(), "404") || !strings.Contains(err.Error(), "no such artifact") {
		t.Fatalf("err = %v", err)
	}
	if strings.Contains(err.Error(), "s3cr3t") {
		t.Fatalf("the URL's query leaked into the error: %v", err)
	}
	if n := srv.requests.Load(); n != 1 || time.Since(start) > 500*time.Millisecond {
		t.Fatalf("%d requests in %v: a 404 is not retried", n, time.Since(start))
	}
	e.clean(t)
}

func TestInstallStallTimesOut(t *testing.T) {
	b := shopBundle(t, "a")
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request, n int64) {
		w.Header().Set("Content-Length", strconv.Itoa(len(b.data)))
		w.Write(b.data[:len(b.data)/2])
		w.(http.Flusher).Flush()
		<-r.Context().Done() // stall until the client gives up
	})
	e := newEnv(t, Options{DownloadTimeout: 200 * time.Millisecond, Retries: 1})
	start := time.Now()
	_, err := e.m.Install(t.Context(), "shop", "v1", b.sum, srv.source())
	took := time.Since(start)
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "timed out") {
		t.Fatalf("err = %v", err)
	}
	if n := srv.requests.Load(); n != 2 {
		t.Fatalf("%d requests, want 2 (timeouts are retried)", n)
	}
	if took < 400*time.Millisecond || took > 5*time.Second {
		t.Fatalf("took %v for two 200ms attempts", took)
	}
	e.clean(t)
}

func TestInstallStallBeforeHeaders(t *testing.T) {
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request, n int64) {
		<-r.Context().Done()
	})
	e := newEnv(t, Options{DownloadTimeout: 100 * time.Millisecond, Retries: -1})
	_, err := e.m.Install(t.Context(), "shop", "v1", strings.Repeat("0", 64), srv.source())
	if !errors.Is(err, context.DeadlineExceeded) || srv.requests.Load() != 1 {
		t.Fatalf("err = %v after %d requests", err, srv.requests.Load())
	}
	e.clean(t)
}

func TestInstallTruncatedBodyRetried(t *testing.T) {
	b := shopBundle(t, "a")
	truncate := func(w http.ResponseWriter) {
		w.Header().Set("Content-Length", strconv.Itoa(len(b.data)))
		w.Write(b.data[:len(b.data)/3]) // the server closes the connection short
	}
	t.Run("then whole", func(t *testing.T) {
		srv := newServer(t, func(w http.ResponseWriter, r *http.Request, n int64) {
			if n == 1 {
				truncate(w)
				return
			}
			w.Write(b.data)
		})
		e := newEnv(t, Options{})
		if _, err := e.m.Install(t.Context(), "shop", "v1", b.sum, srv.source()); err != nil {
			t.Fatalf("Install: %v", err)
		}
		if n := srv.requests.Load(); n != 2 {
			t.Fatalf("%d requests, want 2", n)
		}
		e.clean(t)
	})
	t.Run("always", func(t *testing.T) {
		srv := newServer(t, func(w http.ResponseWriter, r *http.Request, n int64) { truncate(w) })
		e := newEnv(t, Options{Retries: 2})
		_, err := e.m.Install(t.Context(), "shop", "v1", b.sum, srv.source())
		if err == nil || errors.Is(err, ErrChecksum) {
			t.Fatalf("err = %v, want a read error", err)
		}
		if n := srv.requests.Load(); n != 3 {
			t.Fatalf("%d requests, want 3", n)
		}
		if got := e.releases(t, "shop"); len(got) != 0 {
			t.Fatalf("releases/ holds %v", got)
		}
		e.clean(t)
	})
}

func TestInstallTooLarge(t *testing.T) {
	b := shopBundle(t, "a")
	srv := newServer(t, serve(b.data))
	e := newEnv(t, Options{MaxDownload: int64(len(b.data)) - 1})
	_, err := e.m.Install(t.Context(), "shop", "v1", b.sum, srv.source())
	if !errors.Is(err, ErrBadBundle) || srv.requests.Load() != 1 {
		t.Fatalf("err = %v after %d requests", err, srv.requests.Load())
	}
	e.clean(t)
}

func TestInstallRefusesBadContent(t *testing.T) {
	cases := []struct {
		name  string
		b     func(t *testing.T) testBundle
		cause error
	}{
		{"manifest of another app", func(t *testing.T) testBundle {
			return packBundle(t, bundle.Gzip, map[string]string{"wharf.yaml": "app: other\nprocesses:\n  web: ./x\n"})
		}, nil},
		{"no manifest", func(t *testing.T) testBundle {
			return rawBundle(t, regular("index.html", "hi"))
		}, nil},
		{"invalid manifest", func(t *testing.T) testBundle {
			return rawBundle(t, regular("wharf.yaml", "app: shop\n"))
		}, nil},
		{"manifest is a link", func(t *testing.T) testBundle {
			return rawBundle(t, regular("m.yaml", shopManifest), tar.Header{Name: "wharf.yaml", Typeflag: tar.TypeSymlink, Linkname: "m.yaml"})
		}, nil},
		{"path escape", func(t *testing.T) testBundle {
			return rawBundle(t, regular("wharf.yaml", shopManifest), regular("../../../evil", "pwned"))
		}, unpack.ErrUnsafePath},
		{"absolute path", func(t *testing.T) testBundle {
			return rawBundle(t, regular("wharf.yaml", shopManifest), regular("/tmp/evil", "pwned"))
		}, unpack.ErrUnsafePath},
		{"link escape", func(t *testing.T) testBundle {
			return rawBundle(t, regular("wharf.yaml", shopManifest),
				tar.Header{Name: "up", Typeflag: tar.TypeSymlink, Linkname: "../../.."})
		}, unpack.ErrLinkEscapes},
		{"file under a link", func(t *testing.T) testBundle {
			return rawBundle(t, regular("wharf.yaml", shopManifest),
				tar.Header{Name: "up", Typeflag: tar.TypeSymlink, Linkname: "../../.."}, regular("up/evil", "pwned"))
		}, unpack.ErrDuplicate},
		{"reserved marker", func(t *testing.T) testBundle {
			return packBundle(t, bundle.Gzip, map[string]string{"wharf.yaml": shopManifest, MarkerName: `{"app":"shop"}`})
		}, nil},
		{"not a bundle", func(t *testing.T) testBundle {
			return newTestBundle([]byte("<html>login page</html>"))
		}, bundle.ErrNotBundle},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := c.b(t)
			srv := newServer(t, serve(b.data))
			e := newEnv(t, Options{})
			_, err := e.m.Install(t.Context(), "shop", "v1", b.sum, srv.source())
			if !errors.Is(err, ErrBadBundle) || c.cause != nil && !errors.Is(err, c.cause) {
				t.Fatalf("err = %v, want ErrBadBundle (and %v)", err, c.cause)
			}
			if testing.Verbose() {
				t.Log(err)
			}
			if n := srv.requests.Load(); n != 1 {
				t.Fatalf("%d requests: a bad bundle is not retried", n)
			}
			if got := e.releases(t, "shop"); len(got) != 0 {
				t.Fatalf("releases/ holds %v", got)
			}
			if _, err := e.m.Verify("shop", "v1"); !errors.Is(err, ErrNotInstalled) {
				t.Fatalf("Verify: %v", err)
			}
			e.clean(t) // also: nothing appeared next to root
		})
	}
}

func TestInstallConcurrentSameVersion(t *testing.T) {
	b := shopBundle(t, "a")
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request, n int64) {
		time.Sleep(50 * time.Millisecond) // let the others pile up
		w.Write(b.data)
	})
	e := newEnv(t, Options{})
	const n = 8
	var wg sync.WaitGroup
	results := make([]Release, n)
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			results[i], errs[i] = e.m.Install(context.Background(), "shop", "v1", b.sum, srv.source())
		})
	}
	wg.Wait()
	fresh := 0
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("Install %d: %v", i, errs[i])
		}
		if !results[i].Skipped {
			fresh++
		}
	}
	if got := srv.requests.Load(); got != 1 || fresh != 1 {
		t.Fatalf("%d requests, %d fresh installs; want 1 and 1", got, fresh)
	}
	e.clean(t)
}

func TestInstallDifferentAppsInParallel(t *testing.T) {
	shop := shopBundle(t, "a")
	blog := packBundle(t, bundle.Gzip, map[string]string{"wharf.yaml": "app: blog\nprocesses:\n  web: ./x\n"})
	blogDone := make(chan struct{})
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request, n int64) {
		if r.URL.Path == "/shop" {
			select { // shop's download waits until blog is installed
			case <-blogDone:
			case <-time.After(5 * time.Second):
			}
			w.Write(shop.data)
			return
		}
		w.Write(blog.data)
	})
	e := newEnv(t, Options{})
	shopErr := make(chan error, 1)
	go func() {
		_, err := e.m.Install(context.Background(), "shop", "v1", shop.sum, HTTPSource{URL: srv.URL + "/shop"})
		shopErr <- err
	}()
	testenv.Eventually(t, 5*time.Second, func() error {
		if srv.requests.Load() == 0 {
			return errors.New("shop's download never started")
		}
		return nil
	})
	start := time.Now()
	if _, err := e.m.Install(t.Context(), "blog", "v1", blog.sum, HTTPSource{URL: srv.URL + "/blog"}); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Fatalf("blog waited %v for shop", took)
	}
	close(blogDone)
	if err := <-shopErr; err != nil {
		t.Fatal(err)
	}
}

func TestInstallTempDir(t *testing.T) {
	b := shopBundle(t, "a")
	tmpDir := t.TempDir()
	var during []string
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request, n int64) {
		ents, _ := os.ReadDir(tmpDir)
		for _, d := range ents {
			during = append(during, d.Name())
		}
		w.Write(b.data)
	})
	e := newEnv(t, Options{TempDir: tmpDir})
	if _, err := e.m.Install(t.Context(), "shop", "v1", b.sum, srv.source()); err != nil {
		t.Fatal(err)
	}
	if len(during) != 1 || !strings.HasPrefix(during[0], ".tmp-shop.v1-") {
		t.Fatalf("TempDir during the download: %v", during)
	}
	if ents, _ := os.ReadDir(tmpDir); len(ents) != 0 {
		t.Fatalf("TempDir after: %v", ents)
	}
	// Stale downloads of this app are pruned; other apps' are not ours.
	old := time.Now().Add(-2 * StaleAge)
	for _, n := range []string{".tmp-shop.v2-1.bundle", ".tmp-shop-api.v2-1.bundle"} {
		os.WriteFile(filepath.Join(tmpDir, n), nil, 0o644)
		os.Chtimes(filepath.Join(tmpDir, n), old, old)
	}
	if _, err := e.m.Prune("shop"); err != nil {
		t.Fatal(err)
	}
	if ents, _ := os.ReadDir(tmpDir); len(ents) != 1 || ents[0].Name() != ".tmp-shop-api.v2-1.bundle" {
		t.Fatalf("TempDir after Prune: %v", ents)
	}
	e.clean(t)
}

func TestInstallReplacesUnverifiedDir(t *testing.T) {
	b := shopBundle(t, "a")
	srv := newServer(t, serve(b.data))
	e := newEnv(t, Options{})
	half := e.m.releaseDir("shop", "v1")
	os.MkdirAll(filepath.Join(half, "bin"), 0o755)
	os.WriteFile(filepath.Join(half, "junk"), []byte("half-done"), 0o644)
	if _, err := e.m.Verify("shop", "v1"); !errors.Is(err, ErrNotInstalled) {
		t.Fatalf("Verify of a dir without marker: %v", err)
	}
	if _, err := e.m.Install(t.Context(), "shop", "v1", b.sum, srv.source()); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(half, "junk")); !os.IsNotExist(err) {
		t.Fatalf("the unverified dir was not replaced: %v", err)
	}
	if _, err := e.m.Verify("shop", "v1"); err != nil {
		t.Fatal(err)
	}
	e.clean(t)
}

func TestInstallOtherSHA(t *testing.T) {
	a, b := shopBundle(t, "a"), shopBundle(t, "b")
	srvA, srvB := newServer(t, serve(a.data)), newServer(t, serve(b.data))
	e := newEnv(t, Options{})
	if _, err := e.m.Install(t.Context(), "shop", "v1", a.sum, srvA.source()); err != nil {
		t.Fatal(err)
	}
	// Not current: replaced.
	r, err := e.m.Install(t.Context(), "shop", "v1", b.sum, srvB.source())
	if err != nil || r.Skipped || r.SHA256 != b.sum {
		t.Fatalf("reinstall with another sha: %+v %v", r, err)
	}
	// Current: refused, without a download.
	if _, err := e.m.Activate("shop", "v1"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.m.Install(t.Context(), "shop", "v1", a.sum, srvA.source()); !errors.Is(err, ErrConflict) {
		t.Fatalf("err = %v, want ErrConflict", err)
	}
	if srvA.requests.Load() != 1 {
		t.Fatalf("%d requests to A", srvA.requests.Load())
	}
	if v, err := e.m.Verify("shop", "v1"); err != nil || v.SHA256 != b.sum {
		t.Fatalf("current release changed: %+v %v", v, err)
	}
	e.clean(t)
}

func TestInstallCancelDuringBackoff(t *testing.T) {
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request, n int64) {
		w.WriteHeader(http.StatusBadGateway)
	})
	e := newEnv(t, Options{Backoff: time.Minute})
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := e.m.Install(ctx, "shop", "v1", strings.Repeat("0", 64), srv.source())
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 5*time.Second {
		t.Fatalf("err = %v after %v", err, time.Since(start))
	}
	e.clean(t)
}

func TestHTTPSourceSendsHeader(t *testing.T) {
	b := shopBundle(t, "a")
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request, n int64) {
		if r.Header.Get("Authorization") != "Bearer t0ken" {
			http.Error(w, "who are you", http.StatusUnauthorized)
			return
		}
		w.Write(b.data)
	})
	e := newEnv(t, Options{})
	src := srv.source()
	if _, err := e.m.Install(t.Context(), "shop", "v1", b.sum, src); err == nil {
		t.Fatal("want 401")
	}
	src.Header = http.Header{"Authorization": {"Bearer t0ken"}}
	src.Client = &http.Client{}
	if _, err := e.m.Install(t.Context(), "shop", "v1", b.sum, src); err != nil {
		t.Fatal(err)
	}
}

func TestBadNames(t *testing.T) {
	b := shopBundle(t, "a")
	srv := newServer(t, serve(b.data))
	e := newEnv(t, Options{})
	long := strings.Repeat("a", MaxVersionLen+1)
	cases := []struct{ app, version string }{
		{"", "v1"}, {"../shop", "v1"}, {"sh/op", "v1"}, {"Shop", "v1"}, {".shop", "v1"}, {"1shop", "v1"},
		{strings.Repeat("s", 64), "v1"}, {"shop\x00", "v1"},
		{"shop", ""}, {"shop", ".."}, {"shop", "."}, {"shop", "../v1"}, {"shop", "v1/../../x"}, {"shop", "a/b"},
		{"shop", `a\b`}, {"shop", "v1..2"}, {"shop", ".tmp-v1"}, {"shop", "-v1"}, {"shop", long}, {"shop", "v 1"}, {"shop", "v1\n"},
	}
	for _, c := range cases {
		if _, err := e.m.Install(t.Context(), c.app, c.version, b.sum, srv.source()); !errors.Is(err, ErrInvalid) {
			t.Errorf("Install(%q, %q): %v", c.app, c.version, err)
		}
		if _, err := e.m.Activate(c.app, c.version); !errors.Is(err, ErrInvalid) {
			t.Errorf("Activate(%q, %q): %v", c.app, c.version, err)
		}
		if _, err := e.m.Verify(c.app, c.version); !errors.Is(err, ErrInvalid) {
			t.Errorf("Verify(%q, %q): %v", c.app, c.version, err)
		}
	}
	for _, sum := range []string{"", "abc", strings.Repeat("g", 64), strings.Repeat("a", 63)} {
		if _, err := e.m.Install(t.Context(), "shop", "v1", sum, srv.source()); !errors.Is(err, ErrInvalid) {
			t.Errorf("Install with sha256 %q: %v", sum, err)
		}
	}
	if _, err := e.m.Prune("../x"); !errors.Is(err, ErrInvalid) {
		t.Errorf("Prune: %v", err)
	}
	if _, err := e.m.List("a/b"); !errors.Is(err, ErrInvalid) {
		t.Errorf("List: %v", err)
	}
	if _, ok := e.m.Current(".."); ok {
		t.Error("Current(..) is ok")
	}
	if n := srv.requests.Load(); n != 0 {
		t.Fatalf("%d requests for invalid names", n)
	}
	for _, ok := range []string{"1.2.3", "v1.0.0-rc.1+build.5", "2024_01_01", "A"} {
		if err := checkVersion(ok); err != nil {
			t.Errorf("checkVersion(%q): %v", ok, err)
		}
	}
	e.clean(t)
}
