package bundle

import (
	"strings"
	"testing"
)

func TestIgnore(t *testing.T) {
	ig, err := ParseIgnore([]byte(strings.Join([]string{
		"# comment",
		"",
		"*.log   ",
		"!keep.log",
		"node_modules/",
		"/rooted",
		"docs/draft",
		"**/tmp",
		"cache/**",
		"!cache/keep",
		"a/**/z",
		"\\#hash",
		"\\!bang",
		"build/",
		"!build/",
		"secret?.txt",
		"[abc].bin",
		"/**/deep/**/x",
	}, "\n")))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		path  string
		dir   bool
		match bool
	}{
		{"app.log", false, true},
		{"sub/dir/app.log", false, true},
		{"keep.log", false, false},
		{"sub/keep.log", false, false},
		{"app.log.txt", false, false},
		{"node_modules", true, true},
		{"web/node_modules", true, true},
		{"node_modules", false, false}, // dir-only pattern, a file
		{"rooted", false, true},
		{"rooted", true, true},
		{"sub/rooted", false, false},
		{"docs/draft", true, true},
		{"x/docs/draft", true, false}, // a slash in the middle anchors
		{"tmp", true, true},
		{"a/b/tmp", false, true},
		{"cache", true, false}, // "cache/**" matches what is inside
		{"cache/x", false, true},
		{"cache/x/y", false, true},
		{"cache/keep", false, false},
		{"a/z", false, true},
		{"a/b/c/z", false, true},
		{"b/a/z", false, false},
		{"#hash", false, true},
		{"!bang", false, true},
		{"build", true, false}, // re-included by the later "!build/"
		{"secret1.txt", false, true},
		{"secret12.txt", false, false},
		{"a.bin", false, true},
		{"d.bin", false, false},
		{"deep/x", false, true},
		{"q/deep/r/s/x", false, true},
		{"main.go", false, false},
	}
	for _, c := range cases {
		if got := ig.Match(c.path, c.dir); got != c.match {
			t.Errorf("Match(%q, dir=%v) = %v, want %v", c.path, c.dir, got, c.match)
		}
	}
	var none *Ignore
	if none.Match("x", false) {
		t.Fatal("nil Ignore matched")
	}
}

func TestIgnoreBadPattern(t *testing.T) {
	_, err := ParseIgnore([]byte("ok\n[unclosed\n"))
	if err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Fatalf("want an error naming line 2, got %v", err)
	}
}

// Many "**" segments against a deep path must not blow up.
func TestIgnoreManyStarsIsFast(t *testing.T) {
	ig, err := ParseIgnore([]byte(strings.Repeat("**/a/", 30) + "b"))
	if err != nil {
		t.Fatal(err)
	}
	deep := strings.TrimSuffix(strings.Repeat("a/", 200), "/")
	if ig.Match(deep, false) {
		t.Fatal("matched without the final b")
	}
}

func FuzzIgnore(f *testing.F) {
	f.Add("*.log\n!keep.log\nbuild/\n/rooted\na/**/b\n", "a/x/b", false)
	f.Add("**/**/**\n", "a/b/c", true)
	f.Add("[", "x", false)
	f.Fuzz(func(t *testing.T, patterns, path string, dir bool) {
		ig, err := ParseIgnore([]byte(patterns))
		if err != nil {
			return
		}
		ig.Match(path, dir)
	})
}
