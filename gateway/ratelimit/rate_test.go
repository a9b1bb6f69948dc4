package ratelimit

import (
	"strconv"
	"strings"
	"testing"
)

func TestParseRate(t *testing.T) {
	t.Parallel()
	good := []struct {
		in   string
		want int64
	}{
		{"10r/s", 10000},
		{"1r/s", 1000},
		{"600r/m", 10000},
		{"1r/m", 16},
		{"30r/m", 500},
		{"7r/m", 116},
		{"1000000000r/s", MaxRate},
		{"0010r/s", 10000},
	}
	for _, c := range good {
		got, err := ParseRate(c.in)
		if err != nil || got != c.want {
			t.Errorf("ParseRate(%q) = %d, %v; want %d", c.in, got, err, c.want)
		}
	}
	bad := []struct{ in, msg string }{
		{"0r/s", "positive"},
		{"0r/m", "positive"},
		{"-1r/s", "negative"},
		{"10", "look like"},
		{"r/s", "missing number"},
		{"", "look like"},
		{"abc", "look like"},
		{"1.5r/s", "not a decimal"},
		{" 10r/s", "not a decimal"},
		{"+10r/s", "not a decimal"},
		{"10r/h", "look like"},
		{"10R/S", "look like"},
		{"1000000001r/s", "too large"},
		{"99999999999999999999999r/s", "too large"},
	}
	for _, c := range bad {
		got, err := ParseRate(c.in)
		if err == nil {
			t.Errorf("ParseRate(%q) = %d, want error", c.in, got)
			continue
		}
		if !strings.Contains(err.Error(), c.msg) || !strings.HasPrefix(err.Error(), "cannot parse rate") {
			t.Errorf("ParseRate(%q) error %q, want it to mention %q", c.in, err, c.msg)
		}
	}
}

func TestFormatRate(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"1r/s", "10r/s", "1r/m", "7r/m", "30r/m", "59r/m"} {
		r, err := ParseRate(s)
		if err != nil {
			t.Fatal(err)
		}
		if got := FormatRate(r); got != s {
			t.Errorf("FormatRate(ParseRate(%q)) = %q", s, got)
		}
	}
	if got := FormatRate(2000); got != "2r/s" { // 120r/m
		t.Errorf("FormatRate(2000) = %q", got)
	}
}

func FuzzParseRate(f *testing.F) {
	for _, s := range []string{"10r/s", "600r/m", "1r/m", "0r/s", "-1r/s", "r/s", "1000000001r/s", "1.5r/s", "", "\xffr/s"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseRate(s)
		if err != nil {
			if r != 0 {
				t.Fatalf("ParseRate(%q) returned %d with error", s, r)
			}
			if !strings.HasPrefix(err.Error(), "cannot parse rate") {
				t.Fatalf("error %q not wrapped", err)
			}
			return
		}
		if r < 16 || r > MaxRate {
			t.Fatalf("ParseRate(%q) = %d out of range", s, r)
		}
		// A valid rate is digits + unit; re-render N and compare.
		num, unit := s[:len(s)-3], s[len(s)-3:]
		n, perr := strconv.ParseInt(num, 10, 64)
		if perr != nil || n <= 0 {
			t.Fatalf("ParseRate(%q) accepted %q", s, num)
		}
		want := n * 1000
		if unit == "r/m" {
			want /= 60
		}
		if r != want {
			t.Fatalf("ParseRate(%q) = %d, want %d", s, r, want)
		}
	})
}
