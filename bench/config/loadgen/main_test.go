package main

import (
	"os"
	"strconv"
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	t.Parallel()
	ds := make([]time.Duration, 100)
	for i := range ds {
		ds[i] = time.Duration(100-i) * time.Millisecond // unsorted on purpose
	}
	for p, want := range map[float64]time.Duration{50: 50 * time.Millisecond, 99: 99 * time.Millisecond, 100: 100 * time.Millisecond, 0: time.Millisecond} {
		if got := percentile(ds, p); got != want {
			t.Errorf("p%v = %v, want %v", p, got, want)
		}
	}
	if percentile(nil, 50) != 0 {
		t.Error("percentile of nothing must be 0")
	}
}

func TestRSSOfNoProcessIsZero(t *testing.T) {
	t.Parallel()
	if rss(0) != 0 || rss(-1) != 0 {
		t.Error("rss of no pid must be 0")
	}
}

func TestCPUTime(t *testing.T) {
	t.Parallel()
	if cpuTime(0) != 0 {
		t.Error("cpu time of no pid must be 0")
	}
	start := cpuTime(os.Getpid())
	x := 0
	for i := range 200_000_000 {
		x += i % 7
	}
	if x == 0 || cpuTime(os.Getpid()) <= start {
		t.Errorf("cpu time did not grow: %v then %v", start, cpuTime(os.Getpid()))
	}
}

func TestParseAnswer(t *testing.T) {
	t.Parallel()
	body := `[{"namespaceName":"application","notificationId":7}]`
	full := "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\ncontent-length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body
	for cut := 0; cut < len(full); cut++ {
		if _, done, err := parseAnswer([]byte(full[:cut])); err != nil || done {
			t.Fatalf("%d bytes: done %v, err %v; want more to read", cut, done, err)
		}
	}
	if status, done, err := parseAnswer([]byte(full)); err != nil || !done || status != 200 {
		t.Fatalf("full answer: %d %v %v", status, done, err)
	}
	if status, done, err := parseAnswer([]byte("HTTP/1.1 304 Not Modified\r\nServer: x\r\n\r\n")); err != nil || !done || status != 304 {
		t.Fatalf("304: %d %v %v", status, done, err)
	}
	for _, bad := range []string{"HTTP/1.1\r\n\r\n", "HTTP/1.1 x OK\r\n\r\n", "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n"} {
		if _, _, err := parseAnswer([]byte(bad)); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}
