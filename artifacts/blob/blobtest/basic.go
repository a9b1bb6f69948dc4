package blobtest

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wharfhq/wharf/artifacts/blob"
)

func bytesReader(b []byte) io.Reader { return bytes.NewReader(b) }

// onlyReader hides io.Seeker, io.WriterTo and the like.
type onlyReader struct{ r io.Reader }

func (o onlyReader) Read(p []byte) (int, error) { return o.r.Read(p) }

func testRoundTrip(t *testing.T, b blob.Backend) {
	ctx := testCtx(t)
	cases := []struct {
		key  string
		data []byte
		size int64 // -1: unknown
	}{
		{"empty", nil, 0},
		{"one", []byte{7}, 1},
		{"apps/shop/1.4.2+build.7.tar.gz", PatternBytes(1, 1000), 1000},
		{"apps/shop/unknown-size", PatternBytes(2, 3000), -1},
		{"UPPER_lower-0.9", PatternBytes(3, 64<<10), 64 << 10},
	}
	for _, c := range cases {
		before := time.Now().Add(-time.Minute)
		info, err := b.Put(ctx, c.key, onlyReader{bytes.NewReader(c.data)}, c.size, blob.PutOptions{})
		if err != nil {
			t.Fatalf("Put %s: %v", c.key, err)
		}
		want := blob.Info{Key: c.key, Size: int64(len(c.data)), SHA256: sum(c.data)}
		if info.Key != want.Key || info.Size != want.Size || info.SHA256 != want.SHA256 {
			t.Fatalf("Put %s: got %+v, want %+v", c.key, info, want)
		}
		if info.Modified.Before(before) {
			t.Fatalf("Put %s: Modified %v", c.key, info.Modified)
		}
		st, err := b.Stat(ctx, c.key)
		if err != nil {
			t.Fatalf("Stat %s: %v", c.key, err)
		}
		if st.Key != c.key || st.Size != want.Size || st.SHA256 != want.SHA256 || st.Modified.Before(before) {
			t.Fatalf("Stat %s: got %+v, want %+v", c.key, st, want)
		}
		data, gi := readAll(t, b, c.key)
		if !bytes.Equal(data, c.data) {
			t.Fatalf("Get %s: bytes differ (%d read, %d put)", c.key, len(data), len(c.data))
		}
		if gi.SHA256 != want.SHA256 {
			t.Fatalf("Get %s: Info %+v, want SHA-256 %s", c.key, gi, want.SHA256)
		}
	}
}

func testInvalid(t *testing.T, b blob.Backend) {
	ctx := testCtx(t)
	bad := []string{"", "/a", "a/", "a//b", ".hidden", "a/.b", "a/../b", "..", "a b", "a\x00b", "ä", "a:b", "a@b",
		strings.Repeat("a", blob.MaxSegmentLen+1), strings.Repeat("a/", blob.MaxKeyLen/2) + "a"}
	for _, k := range bad {
		if _, err := b.Put(ctx, k, bytes.NewReader([]byte("x")), 1, blob.PutOptions{}); !errors.Is(err, blob.ErrInvalid) {
			t.Fatalf("Put %q: want ErrInvalid, got %v", k, err)
		}
		if _, err := b.Stat(ctx, k); !errors.Is(err, blob.ErrInvalid) {
			t.Fatalf("Stat %q: want ErrInvalid, got %v", k, err)
		}
		if _, _, err := b.Get(ctx, k); !errors.Is(err, blob.ErrInvalid) {
			t.Fatalf("Get %q: want ErrInvalid, got %v", k, err)
		}
		if err := b.Delete(ctx, k); !errors.Is(err, blob.ErrInvalid) {
			t.Fatalf("Delete %q: want ErrInvalid, got %v", k, err)
		}
	}
	for _, sha := range []string{"abc", strings.Repeat("g", 64), strings.Repeat("a", 65)} {
		_, err := b.Put(ctx, "k", bytes.NewReader([]byte("x")), 1, blob.PutOptions{ExpectSHA256: sha})
		if !errors.Is(err, blob.ErrInvalid) {
			t.Fatalf("Put with ExpectSHA256 %q: want ErrInvalid, got %v", sha, err)
		}
	}
	if _, err := b.Put(ctx, "k", bytes.NewReader(nil), -2, blob.PutOptions{}); !errors.Is(err, blob.ErrInvalid) {
		t.Fatalf("Put with size -2: want ErrInvalid, got %v", err)
	}
	if _, err := b.List(ctx, "a//", blob.ListOptions{}); !errors.Is(err, blob.ErrInvalid) {
		t.Fatalf("List with a bad prefix: want ErrInvalid, got %v", err)
	}
	assertNothingKept(t, b, "k")
}

func testNotFound(t *testing.T, b blob.Backend) {
	ctx := testCtx(t)
	mustPut(t, b, "there", []byte("x"))
	for _, k := range []string{"missing", "there/below", "the"} {
		if _, err := b.Stat(ctx, k); !errors.Is(err, blob.ErrNotFound) {
			t.Fatalf("Stat %s: want ErrNotFound, got %v", k, err)
		}
		if _, _, err := b.Get(ctx, k); !errors.Is(err, blob.ErrNotFound) {
			t.Fatalf("Get %s: want ErrNotFound, got %v", k, err)
		}
		if err := b.Delete(ctx, k); !errors.Is(err, blob.ErrNotFound) {
			t.Fatalf("Delete %s: want ErrNotFound, got %v", k, err)
		}
	}
}

func testDelete(t *testing.T, b blob.Backend) {
	ctx := testCtx(t)
	mustPut(t, b, "a/b/c", []byte("one"))
	mustPut(t, b, "a/x", []byte("two"))
	if err := b.Delete(ctx, "a/b/c"); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if _, err := b.Stat(ctx, "a/b/c"); !errors.Is(err, blob.ErrNotFound) {
		t.Fatalf("Stat after Delete: want ErrNotFound, got %v", err)
	}
	if err := b.Delete(ctx, "a/b/c"); !errors.Is(err, blob.ErrNotFound) {
		t.Fatalf("second Delete: want ErrNotFound, got %v", err)
	}
	// A deleted key can be written again; its sibling is untouched.
	mustPut(t, b, "a/b/c", []byte("three"))
	if data, _ := readAll(t, b, "a/b/c"); string(data) != "three" {
		t.Fatalf("re-put after delete: got %q", data)
	}
	if data, _ := readAll(t, b, "a/x"); string(data) != "two" {
		t.Fatalf("sibling after delete: got %q", data)
	}
}

// listKeys are in key order. None is a directory-prefix of another ("a"
// and "a/b"): MinIO does not list both, so portable callers avoid that.
func listKeys() []string {
	return []string{"a-b", "a.x", "a/b", "a/c/d", "a/c/e", "ab", "b/x/y/z", "z"}
}

func listAll(t *testing.T, b blob.Backend, prefix string, limit int) []string {
	t.Helper()
	var keys []string
	after := ""
	for pages := 0; ; pages++ {
		if pages > 100 {
			t.Fatalf("List %q: pagination does not end", prefix)
		}
		page, err := b.List(testCtx(t), prefix, blob.ListOptions{After: after, Limit: limit})
		if err != nil {
			t.Fatalf("List %q after %q: %v", prefix, after, err)
		}
		if limit > 0 && len(page.Items) > limit {
			t.Fatalf("List %q: %d items over limit %d", prefix, len(page.Items), limit)
		}
		for _, it := range page.Items {
			keys = append(keys, it.Key)
			if it.Size != 1 || it.Modified.IsZero() {
				t.Fatalf("List %q: item %+v, want size 1 and a time", prefix, it)
			}
		}
		if page.Next == "" {
			return keys
		}
		if len(page.Items) == 0 || page.Next != page.Items[len(page.Items)-1].Key {
			t.Fatalf("List %q: Next %q is not the page's last key (%+v)", prefix, page.Next, page.Items)
		}
		after = page.Next
	}
}

func testList(t *testing.T, b blob.Backend) {
	keys := listKeys()
	for _, k := range keys {
		mustPut(t, b, k, []byte("x"))
	}
	cases := map[string][]string{
		"":     keys,
		"a":    {"a-b", "a.x", "a/b", "a/c/d", "a/c/e", "ab"},
		"a/":   {"a/b", "a/c/d", "a/c/e"},
		"a/c":  {"a/c/d", "a/c/e"},
		"a/c/": {"a/c/d", "a/c/e"},
		"b/x":  {"b/x/y/z"},
		"zz":   nil,
		"q/":   nil,
	}
	for prefix, want := range cases {
		if got := listAll(t, b, prefix, 0); !slices.Equal(got, want) {
			t.Fatalf("List %q: got %q, want %q", prefix, got, want)
		}
	}
	page, err := b.List(testCtx(t), "", blob.ListOptions{After: "a/c/d"})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, it := range page.Items {
		got = append(got, it.Key)
	}
	if want := []string{"a/c/e", "ab", "b/x/y/z", "z"}; !slices.Equal(got, want) || page.Next != "" {
		t.Fatalf("List after a/c/d: got %q next %q, want %q", got, page.Next, want)
	}
}

func testListPages(t *testing.T, b blob.Backend) {
	keys := listKeys()
	for _, k := range keys {
		mustPut(t, b, k, []byte("x"))
	}
	for _, limit := range []int{1, 2, 3, 7, 8, 9} {
		if got := listAll(t, b, "", limit); !slices.Equal(got, keys) {
			t.Fatalf("List by pages of %d: got %q, want %q", limit, got, keys)
		}
		if got, want := listAll(t, b, "a", limit), keys[:6]; !slices.Equal(got, want) {
			t.Fatalf("List a by pages of %d: got %q, want %q", limit, got, want)
		}
	}
}

func testPresign(t *testing.T, b blob.Backend) {
	ctx := testCtx(t)
	data := PatternBytes(5, 5000)
	mustPut(t, b, "p/x", data)
	u, err := b.PresignGet(ctx, "p/x", time.Minute)
	if errors.Is(err, blob.ErrNotSupported) {
		t.Skip("backend does not presign")
	}
	if err != nil {
		t.Fatalf("PresignGet: %v", err)
	}
	resp, err := http.Get(u)
	if err != nil {
		t.Fatalf("GET presigned URL: %v", err)
	}
	defer resp.Body.Close()
	got, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK || !bytes.Equal(got, data) {
		t.Fatalf("GET presigned URL: status %d, %d bytes, %v", resp.StatusCode, len(got), err)
	}
	if _, err := b.PresignGet(ctx, "p/x", 0); !errors.Is(err, blob.ErrInvalid) {
		t.Fatalf("PresignGet with expiry 0: want ErrInvalid, got %v", err)
	}
	if _, err := b.PresignGet(ctx, "../x", time.Minute); !errors.Is(err, blob.ErrInvalid) {
		t.Fatalf("PresignGet of a bad key: want ErrInvalid, got %v", err)
	}
}

func testCleanupEmpty(t *testing.T, b blob.Backend) {
	mustPut(t, b, "done", []byte("x"))
	n, err := b.CleanupIncomplete(testCtx(t), 0)
	if err != nil || n != 0 {
		t.Fatalf("CleanupIncomplete after clean Puts: %d, %v", n, err)
	}
	if _, err := b.Stat(testCtx(t), "done"); err != nil {
		t.Fatalf("CleanupIncomplete touched a stored blob: %v", err)
	}
}
