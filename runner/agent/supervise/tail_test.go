package supervise

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLastLines(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		data string
		n    int
		mid  bool
		want []string
	}{
		{"", 3, false, nil},
		{"\n", 3, false, []string{""}},
		{"a\nb\nc\n", 2, false, []string{"b", "c"}},
		{"a\nb\nc", 5, false, []string{"a", "b", "c"}},
		{"tial\nb\nc\n", 5, true, []string{"b", "c"}},
		{"only-partial", 5, true, []string{"only-partial"}},
		{"a\n\nb\n", 3, false, []string{"a", "", "b"}},
		{"a\nb\n", 0, false, nil},
	} {
		got := lastLines([]byte(tc.data), tc.n, tc.mid)
		if fmt.Sprint(got) != fmt.Sprint(tc.want) || len(got) != len(tc.want) {
			t.Errorf("lastLines(%q, %d, %v) = %q, want %q", tc.data, tc.n, tc.mid, got, tc.want)
		}
	}
}

func TestTailFilesSkipsGapsAndBoundsReads(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "x.log")
	// <path>.1 is missing; <path>.2 and <path> exist; the current file is empty.
	if err := os.WriteFile(rotatedName(path, 2), []byte("old1\nold2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	lines, err := tailFiles(path, 3, 5)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(lines) != "[old1 old2]" {
		t.Fatalf("lines %q", lines)
	}
	// A file bigger than tailMaxBytes: only its end is read, the cut line dropped.
	big := strings.Repeat(strings.Repeat("z", 99)+"\n", tailMaxBytes/100+50) + "end\n"
	if err := os.WriteFile(path, []byte(big), 0o600); err != nil {
		t.Fatal(err)
	}
	lines, err = tailFiles(path, 3, 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	if len(lines) > tailMaxBytes/100+1 || lines[len(lines)-1] != "end" || len(lines[0]) != 99 {
		t.Fatalf("%d lines, first %d bytes, last %q", len(lines), len(lines[0]), lines[len(lines)-1])
	}
}

func TestTailBuffer(t *testing.T) {
	t.Parallel()
	b := newTailBuffer(16)
	for i := range 20 {
		fmt.Fprintf(b, "l%02d\n", i)
	}
	got := b.lines(10)
	// 16 bytes hold the last four 4-byte lines; the cut fifth one is dropped.
	if fmt.Sprint(got) != "[l16 l17 l18 l19]" {
		t.Fatalf("lines %q", got)
	}
	if got := b.lines(2); fmt.Sprint(got) != "[l18 l19]" {
		t.Fatalf("lines(2) %q", got)
	}
	b = newTailBuffer(16)
	for range 10 {
		fmt.Fprint(b, "abcd\n")
	}
	// The last 16 bytes start inside a line: "d\nabcd\nabcd\nabcd\n".
	if got := b.lines(10); fmt.Sprint(got) != "[abcd abcd abcd]" {
		t.Fatalf("cut lines %q", got)
	}
}
