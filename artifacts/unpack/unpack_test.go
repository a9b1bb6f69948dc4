package unpack

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/artifacts/bundle"
)

func TestExtractPackedBundle(t *testing.T) {
	src := t.TempDir()
	files := map[string]string{
		"wharf.yaml":       "app: shop\nprocesses:\n  web: ./bin/server\n",
		"bin/server":       "#!/bin/sh\n",
		"static/app.js":    strings.Repeat("js", 5000),
		"static/css/a.css": "body{}",
	}
	for name, body := range files {
		p := filepath.Join(src, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	os.Chmod(filepath.Join(src, "bin/server"), 0o755)
	os.Mkdir(filepath.Join(src, "empty"), 0o755)
	os.Symlink("static/app.js", filepath.Join(src, "app.js"))
	os.Symlink("../app.js", filepath.Join(src, "static/again.js")) // a chain that stays inside
	for _, c := range []bundle.Compression{bundle.Gzip, bundle.Zstd} {
		t.Run(c.String(), func(t *testing.T) {
			var buf bytes.Buffer
			if _, err := bundle.Pack(t.Context(), src, &buf, bundle.PackOptions{Compression: c}); err != nil {
				t.Fatal(err)
			}
			s := newSandbox(t)
			st, err := Extract(t.Context(), &buf, s.root, Limits{})
			if err != nil {
				t.Fatalf("Extract: %v", err)
			}
			if st.Entries != 10 || st.Bytes != int64(len(files["wharf.yaml"])+10+10000+6) {
				t.Fatalf("stats: %+v", st)
			}
			for name, body := range files {
				got, err := os.ReadFile(filepath.Join(s.root, name))
				if err != nil || string(got) != body {
					t.Fatalf("%s: %q, %v", name, got, err)
				}
			}
			if fi, err := os.Stat(filepath.Join(s.root, "bin/server")); err != nil || fi.Mode().Perm()&0o100 == 0 {
				t.Fatalf("bin/server lost its exec bit: %v %v", fi, err)
			}
			for link, want := range map[string]string{"app.js": files["static/app.js"], "static/again.js": files["static/app.js"]} {
				got, err := os.ReadFile(filepath.Join(s.root, link))
				if err != nil || string(got) != want {
					t.Fatalf("link %s: %v", link, err)
				}
			}
			if fi, err := os.Stat(filepath.Join(s.root, "empty")); err != nil || !fi.IsDir() {
				t.Fatalf("empty dir: %v", err)
			}
			s.untouched(t)
		})
	}
}

func TestExtractAcceptsCommonShapes(t *testing.T) {
	raw := rawTar(t,
		dir("./"), dir("./a/"), file("./a/x", "1"), file("b//c", "2"), hardlink("a/y", "./a/x"),
		ent{name: "pax_global_header", typ: tar.TypeXGlobalHeader}, dir("a"), symlink("a/self", "."), symlink("dangling", "nowhere/at/all"),
	)
	s := newSandbox(t)
	if _, err := Extract(t.Context(), bytes.NewReader(gz(t, raw)), s.root, Limits{}); err != nil {
		t.Fatalf("Extract: %v", err)
	}
	if got, _ := os.ReadFile(filepath.Join(s.root, "a/y")); string(got) != "1" {
		t.Fatalf("hard link: %q", got)
	}
	if got, _ := os.ReadFile(filepath.Join(s.root, "b/c")); string(got) != "2" {
		t.Fatalf("b//c: %q", got)
	}
	s.untouched(t)
}

func TestExtractRefuses(t *testing.T) {
	long := strings.Repeat("d/", 600) + "f"
	cases := map[string]struct {
		entries []ent
		lim     Limits
		entry   string // the entry named in the error
		want    error
	}{
		"tar-slip":                  {[]ent{file("ok", "x"), file("../../etc/x", "pwned")}, Limits{}, "../../etc/x", ErrUnsafePath},
		"slip inside a path":        {[]ent{file("a/../../x", "pwned")}, Limits{}, "a/../../x", ErrUnsafePath},
		"absolute path":             {[]ent{file("/etc/x", "pwned")}, Limits{}, "/etc/x", ErrUnsafePath},
		"backslash":                 {[]ent{file(`..\..\x`, "pwned")}, Limits{}, `..\..\x`, ErrUnsafePath},
		"absolute symlink":          {[]ent{symlink("link", "/etc"), file("link/passwd", "pwned")}, Limits{}, "link", ErrLinkEscapes},
		"write through a symlink":   {[]ent{symlink("link", "../outside"), file("link/passwd", "pwned")}, Limits{}, "link/passwd", ErrDuplicate},
		"write before the symlink":  {[]ent{file("link/passwd", "x"), symlink("link", "../outside")}, Limits{}, "link", ErrDuplicate},
		"relative symlink escape":   {[]ent{dir("a/"), symlink("a/up", "../../outside")}, Limits{}, "a/up", ErrLinkEscapes},
		"symlink chain escape":      {[]ent{dir("d/"), symlink("d/up", ".."), symlink("esc", "d/up/..")}, Limits{}, "esc", ErrLinkEscapes},
		"chain escape, other order": {[]ent{symlink("esc", "d/up/../x"), dir("d/"), symlink("d/up", "..")}, Limits{}, "esc", ErrLinkEscapes},
		"chain through links":       {[]ent{symlink("a", "b"), symlink("b", "c"), symlink("c", "..")}, Limits{}, "a", ErrLinkEscapes},
		"symlink loop":              {[]ent{symlink("a", "b"), symlink("b", "a/x")}, Limits{}, "a", ErrLinkEscapes},
		"hard link outside":         {[]ent{hardlink("h", "../../etc/passwd")}, Limits{}, "h", ErrLinkEscapes},
		"hard link absolute":        {[]ent{hardlink("h", "/etc/passwd")}, Limits{}, "h", ErrLinkEscapes},
		"hard link forward":         {[]ent{hardlink("h", "later"), file("later", "x")}, Limits{}, "h", ErrLinkEscapes},
		"hard link to symlink":      {[]ent{symlink("s", "x"), hardlink("h", "s")}, Limits{}, "h", ErrLinkEscapes},
		"hard link to dir":          {[]ent{dir("d/"), hardlink("h", "d")}, Limits{}, "h", ErrLinkEscapes},
		"char device":               {[]ent{{name: "dev/null", typ: tar.TypeChar}}, Limits{}, "dev/null", ErrUnsupportedType},
		"block device":              {[]ent{{name: "sda", typ: tar.TypeBlock}}, Limits{}, "sda", ErrUnsupportedType},
		"fifo":                      {[]ent{{name: "pipe", typ: tar.TypeFifo}}, Limits{}, "pipe", ErrUnsupportedType},
		"duplicate file":            {[]ent{file("a", "1"), file("a", "2")}, Limits{}, "a", ErrDuplicate},
		"file then dir":             {[]ent{file("a", "1"), dir("a/")}, Limits{}, "a/", ErrDuplicate},
		"file under a file":         {[]ent{file("a", "1"), file("a/b", "2")}, Limits{}, "a/b", ErrDuplicate},
		"file over implicit dir":    {[]ent{file("a/b", "1"), file("a", "2")}, Limits{}, "a", ErrDuplicate},
		"long name":                 {[]ent{file(long, "x")}, Limits{}, long, ErrNameTooLong},
		"long component":            {[]ent{file(strings.Repeat("n", 256), "x")}, Limits{}, strings.Repeat("n", 256), ErrNameTooLong},
		"long symlink target":       {[]ent{symlink("l", strings.Repeat("a/", 600))}, Limits{}, "l", ErrNameTooLong},
		"too large by header":       {[]ent{file("a", strings.Repeat("x", 600)), file("b", strings.Repeat("x", 600))}, Limits{MaxBytes: 1000}, "b", ErrTooLarge},
	}
	many := []ent{}
	for i := range 101 {
		many = append(many, file("f/"+strings.Repeat("x", i+1), ""))
	}
	cases["too many files"] = struct {
		entries []ent
		lim     Limits
		entry   string
		want    error
	}{many, Limits{MaxFiles: 100}, "f/" + strings.Repeat("x", 101), ErrTooManyFiles}

	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			raw := rawTar(t, c.entries...)
			for _, data := range [][]byte{gz(t, raw), zst(t, raw)} {
				s := newSandbox(t)
				_, err := Extract(t.Context(), bytes.NewReader(data), s.root, c.lim)
				if !errors.Is(err, c.want) {
					t.Fatalf("want %v, got %v", c.want, err)
				}
				var ee *EntryError
				if !errors.As(err, &ee) || ee.Name != c.entry {
					t.Fatalf("error does not name entry %q: %v", c.entry, err)
				}
				s.untouched(t)
				s.rootEmpty(t)
			}
		})
	}
}

// A gzip (or zstd) bomb: 1 GiB of zeros in one entry is refused from its
// header; the same gigabyte spread over many files is refused by counting
// the bytes as they are written, long before the stream ends.
func TestExtractBombs(t *testing.T) {
	for _, zstdToo := range []bool{false, true} {
		s := newSandbox(t)
		r, produced := bomb(1, 1<<30, zstdToo)
		_, err := Extract(t.Context(), r, s.root, Limits{MaxBytes: 64 << 20})
		r.Close()
		if !errors.Is(err, ErrTooLarge) {
			t.Fatalf("1 GiB entry: want ErrTooLarge, got %v", err)
		}
		s.rootEmpty(t)

		s = newSandbox(t)
		r, produced = bomb(64, 16<<20, zstdToo)
		_, err = Extract(t.Context(), r, s.root, Limits{MaxBytes: 100 << 20})
		r.Close()
		if !errors.Is(err, ErrTooLarge) {
			t.Fatalf("64 × 16 MiB: want ErrTooLarge, got %v", err)
		}
		if p := produced.Load(); p > 200<<20 {
			t.Fatalf("read %d MiB of a 1 GiB bomb before refusing it", p>>20)
		}
		s.rootEmpty(t)
		s.untouched(t)
	}
}

func TestExtractOtherFailures(t *testing.T) {
	s := newSandbox(t)
	if _, err := Extract(t.Context(), strings.NewReader("plain text"), s.root, Limits{}); !errors.Is(err, bundle.ErrNotBundle) {
		t.Fatalf("not a bundle: %v", err)
	}
	good := gz(t, rawTar(t, file("a", strings.Repeat("x", 100000)), file("b", "y")))
	if _, err := Extract(t.Context(), bytes.NewReader(good[:len(good)/2]), s.root, Limits{}); err == nil {
		t.Fatal("truncated bundle extracted")
	}
	s.rootEmpty(t)

	os.WriteFile(filepath.Join(s.root, "existing"), nil, 0o644)
	if _, err := Extract(t.Context(), bytes.NewReader(good), s.root, Limits{}); !errors.Is(err, ErrNotEmpty) {
		t.Fatalf("non-empty target: %v", err)
	}
	if _, err := os.Stat(filepath.Join(s.root, "existing")); err != nil {
		t.Fatal("Extract removed what was there before it")
	}

	// Headers are decompressed too: a stream of huge PAX records is capped.
	var pax bytes.Buffer
	tw := tar.NewWriter(&pax)
	for i := range 9 {
		tw.WriteHeader(&tar.Header{Name: "d" + strings.Repeat("x", i) + "/", Typeflag: tar.TypeDir, Mode: 0o755,
			PAXRecords: map[string]string{"comment": strings.Repeat("c", 1000000)}})
	}
	tw.Close()
	s = newSandbox(t)
	if _, err := Extract(t.Context(), bytes.NewReader(gz(t, pax.Bytes())), s.root, Limits{MaxBytes: 1000, MaxFiles: 10}); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("9 MB of headers: want ErrTooLarge, got %v", err)
	}
	s.rootEmpty(t)

	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	s = newSandbox(t)
	r, _ := bomb(1000, 1<<20, false)
	defer r.Close()
	if _, err := Extract(ctx, r, s.root, Limits{}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("canceled: %v", err)
	}
	s.rootEmpty(t)
}

// checkTree verifies what a successful extraction may leave: directories,
// regular files and links that resolve inside the root (or nowhere).
func checkTree(t testing.TB, root string, lim Limits) {
	t.Helper()
	realRoot, _ := filepath.EvalSymlinks(root)
	var files int
	var size int64
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == root {
			return nil
		}
		files++
		switch {
		case d.Type().IsDir():
		case d.Type().IsRegular():
			fi, _ := d.Info()
			size += fi.Size()
		case d.Type()&fs.ModeSymlink != 0:
			if target, err := filepath.EvalSymlinks(p); err == nil {
				if rel, err := filepath.Rel(realRoot, target); err != nil || rel == ".." || strings.HasPrefix(rel, "../") {
					t.Fatalf("symlink %s resolves outside the root to %s", p, target)
				}
			}
		default:
			t.Fatalf("special file extracted: %s (%v)", p, d.Type())
		}
		return nil
	})
	if files > lim.MaxFiles || size > lim.MaxBytes {
		t.Fatalf("limits exceeded: %d entries, %d bytes", files, size)
	}
}

// What a push is checked against (bundle.Limits) is what agents unpack.
func TestDefaultsAreThePushLimits(t *testing.T) {
	d := bundle.Limits{}.WithDefaults()
	if d.MaxBytes != DefaultMaxBytes || d.MaxFiles != DefaultMaxFiles {
		t.Fatalf("push limits %+v, unpack defaults %d bytes %d files", d, DefaultMaxBytes, DefaultMaxFiles)
	}
}
