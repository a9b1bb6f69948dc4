package bundle

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

const minimalManifest = "app: shop\nprocesses:\n  web: ./bin/server --port $PORT\n"

// writeTree creates files (content by path; a path ending in "/" is a
// directory) under dir.
func writeTree(t testing.TB, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if strings.HasSuffix(name, "/") {
			if err := os.MkdirAll(p, 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

type listed struct {
	name string
	typ  byte
	mode int64
	link string
	body string
}

// list reads a bundle's entries.
func list(t *testing.T, data []byte) ([]listed, Compression) {
	t.Helper()
	zr, c, err := NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("NewReader: %v", err)
	}
	defer zr.Close()
	tr := tar.NewReader(zr)
	var out []listed
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out, c
		}
		if err != nil {
			t.Fatalf("tar: %v", err)
		}
		if !h.ModTime.Equal(time.Unix(0, 0)) || h.Uid != 0 || h.Gid != 0 || h.Uname != "" || h.Gname != "" {
			t.Fatalf("%s: not normalised: %+v", h.Name, h)
		}
		body, _ := io.ReadAll(tr)
		out = append(out, listed{h.Name, h.Typeflag, h.Mode, h.Linkname, string(body)})
	}
}

func sampleTree(t *testing.T) string {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{
		"wharf.yaml":    minimalManifest,
		".wharfignore":  "*.log\nbuild/\n!build/keep\n/secret\n",
		"bin/server":    "#!/bin/sh\necho hi\n",
		"lib/a.txt":     "a",
		"lib/sub/b.txt": "bb",
		"app.log":       "noise",
		"lib/x.log":     "noise",
		"build/out.o":   "obj",
		"build/keep":    "not re-included: its directory is excluded",
		"secret":        "s3cr3t",
		"sub/secret":    "kept: the pattern is rooted",
		"empty/":        "",
		"a-b":           "sorts between a and a/",
	})
	if err := os.Chmod(filepath.Join(dir, "bin/server"), 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("lib/a.txt", filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../a.txt", filepath.Join(dir, "lib/sub/up")); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestPack(t *testing.T) {
	dir := sampleTree(t)
	for _, c := range []Compression{Gzip, Zstd} {
		t.Run(c.String(), func(t *testing.T) {
			var buf bytes.Buffer
			res, err := Pack(t.Context(), dir, &buf, PackOptions{Compression: c})
			if err != nil {
				t.Fatalf("Pack: %v", err)
			}
			if res.Manifest.App != "shop" {
				t.Fatalf("manifest: %+v", res.Manifest)
			}
			entries, got := list(t, buf.Bytes())
			if got != c {
				t.Fatalf("detected %v, packed %v", got, c)
			}
			want := []listed{
				{"wharf.yaml", tar.TypeReg, 0o644, "", minimalManifest},
				{".wharfignore", tar.TypeReg, 0o644, "", "*.log\nbuild/\n!build/keep\n/secret\n"},
				{"a-b", tar.TypeReg, 0o644, "", "sorts between a and a/"},
				{"bin/", tar.TypeDir, 0o755, "", ""},
				{"bin/server", tar.TypeReg, 0o755, "", "#!/bin/sh\necho hi\n"},
				{"empty/", tar.TypeDir, 0o755, "", ""},
				{"lib/", tar.TypeDir, 0o755, "", ""},
				{"lib/a.txt", tar.TypeReg, 0o644, "", "a"},
				{"lib/sub/", tar.TypeDir, 0o755, "", ""},
				{"lib/sub/b.txt", tar.TypeReg, 0o644, "", "bb"},
				{"lib/sub/up", tar.TypeSymlink, 0o777, "../a.txt", ""},
				{"link", tar.TypeSymlink, 0o777, "lib/a.txt", ""},
				{"sub/", tar.TypeDir, 0o755, "", ""},
				{"sub/secret", tar.TypeReg, 0o644, "", "kept: the pattern is rooted"},
			}
			if !slices.Equal(entries, want) {
				t.Fatalf("entries:\n got %+v\nwant %+v", entries, want)
			}
			var size int64
			for _, e := range want {
				size += int64(len(e.body))
			}
			if res.Files != len(want) || res.Bytes != size {
				t.Fatalf("result: %d files, %d bytes", res.Files, res.Bytes)
			}
		})
	}
}

// Equal trees pack to equal bytes, whatever their timestamps.
func TestPackDeterministic(t *testing.T) {
	dir := sampleTree(t)
	var a, b bytes.Buffer
	if _, err := Pack(t.Context(), dir, &a, PackOptions{}); err != nil {
		t.Fatal(err)
	}
	later := time.Now().Add(time.Hour)
	for _, p := range []string{"lib/a.txt", "wharf.yaml", "bin"} {
		if err := os.Chtimes(filepath.Join(dir, p), later, later); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := Pack(t.Context(), dir, &b, PackOptions{}); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Fatal("packing the same tree twice gave different bytes")
	}
}

func TestPackNeedsValidManifest(t *testing.T) {
	cases := map[string]map[string]string{
		"missing": {"main.go": "package main"},
		"invalid": {"wharf.yaml": "app: shop\nprocesses:\n  web: ''\n"},
		"unknown": {"wharf.yaml": minimalManifest + "replicas: 2\n"},
	}
	for name, files := range cases {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			writeTree(t, dir, files)
			var buf bytes.Buffer
			_, err := Pack(t.Context(), dir, &buf, PackOptions{})
			if !IsManifestError(err) {
				t.Fatalf("want a manifest error, got %v", err)
			}
			if buf.Len() != 0 {
				t.Fatalf("%d bytes written for a bundle that cannot be", buf.Len())
			}
		})
	}
}

func TestPackRefuses(t *testing.T) {
	t.Run("escaping symlink", func(t *testing.T) {
		for _, target := range []string{"../outside", "/etc/passwd", "a/../../x"} {
			dir := t.TempDir()
			writeTree(t, dir, map[string]string{"wharf.yaml": minimalManifest})
			if err := os.Symlink(target, filepath.Join(dir, "l")); err != nil {
				t.Fatal(err)
			}
			_, err := Pack(t.Context(), dir, io.Discard, PackOptions{})
			if err == nil || !strings.Contains(err.Error(), "points outside the bundle") {
				t.Fatalf("link to %q: want a refusal, got %v", target, err)
			}
		}
	})
	t.Run("fifo", func(t *testing.T) {
		dir := t.TempDir()
		writeTree(t, dir, map[string]string{"wharf.yaml": minimalManifest})
		if err := syscall.Mkfifo(filepath.Join(dir, "pipe"), 0o644); err != nil {
			t.Fatalf("mkfifo: %v", err)
		}
		_, err := Pack(t.Context(), dir, io.Discard, PackOptions{})
		if err == nil || !strings.Contains(err.Error(), "pipe") {
			t.Fatalf("want a refusal naming pipe, got %v", err)
		}
	})
	t.Run("canceled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		if _, err := Pack(ctx, sampleTree(t), io.Discard, PackOptions{}); !errors.Is(err, context.Canceled) {
			t.Fatalf("want context.Canceled, got %v", err)
		}
	})
}
