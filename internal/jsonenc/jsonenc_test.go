package jsonenc

import (
	"bytes"
	"encoding/json"
	"testing"
)

// encode is what encoding/json's Encoder writes for v with
// SetEscapeHTML(false), without its trailing newline.
func encode(t testing.TB, v any) string {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return string(bytes.TrimSuffix(buf.Bytes(), []byte("\n")))
}

var samples = []string{
	"", "admin", "team:shop", `a"b\c`, "<script>&amp;</script>", "tab\there\nnew\rline\b\f\x00\x01\x1f\x7f",
	"héllo wörld ☃ 😀", "bad \xff utf-8 \xc3", "line\u2028sep\u2029para", "\xed\xa0\x80 surrogate",
}

func TestAppendStringMatchesEncodingJSON(t *testing.T) {
	t.Parallel()
	for _, s := range samples {
		if got, want := string(AppendString(nil, s)), encode(t, s); got != want {
			t.Errorf("AppendString(%q) = %s, want %s", s, got, want)
		}
	}
}

func TestAppendStringsMatchesEncodingJSON(t *testing.T) {
	t.Parallel()
	for _, ss := range [][]string{nil, {}, {"a"}, samples} {
		if got, want := string(AppendStrings([]byte("x"), ss)), "x"+encode(t, ss); got != want {
			t.Errorf("AppendStrings(%q) = %s, want %s", ss, got, want)
		}
	}
}

func TestAppendStringAllocatesNothingWithRoom(t *testing.T) {
	buf := make([]byte, 0, 256)
	if n := testing.AllocsPerRun(100, func() { buf = AppendString(buf[:0], `team:"shop" ☃`) }); n != 0 {
		t.Fatalf("%.0f allocations, want 0", n)
	}
}

func FuzzAppendString(f *testing.F) {
	for _, s := range samples {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := AppendString(nil, s)
		if want := encode(t, s); string(got) != want {
			t.Fatalf("AppendString(%q) = %s, want %s", s, got, want)
		}
		var back string
		if err := json.Unmarshal(got, &back); err != nil {
			t.Fatalf("output %s is not JSON: %v", got, err)
		}
	})
}
