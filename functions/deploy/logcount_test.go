package deploy

import (
	"strings"
	"testing"
)

func TestCountMembers(t *testing.T) {
	t.Parallel()
	body := `{"lost":{"a":1,"b":{"x":[1,2]}},"lines":[{"app":"a","line":"[x]"},{},[],"s",3,null],"z":"lines"}`
	if n := countMembers([]byte(body), "lines", 100); n != 6 {
		t.Errorf("lines: %d, want 6", n)
	}
	if n := countMembers([]byte(body), "lost", 100); n != 2 {
		t.Errorf("lost: %d, want 2", n)
	}
	for _, b := range []string{`{"x":{"lines":[1,2]}}`, `{"lines":"x"}`, `[1,2]`, `nope`, ``, `{"a":"lines","b":[1,2,3]}`} {
		if n := countMembers([]byte(b), "lines", 100); n != 0 {
			t.Errorf("%s: %d, want 0", b, n)
		}
	}
	many := `{"lines":[` + strings.Repeat(`{},`, 1_000_000) + `{}]}`
	if n := countMembers([]byte(many), "lines", 500); n != 501 {
		t.Errorf("a million lines: counted %d, want it to stop at 501", n)
	}
}
