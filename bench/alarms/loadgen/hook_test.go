package main

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// The receiver counts the alerts of the calls it answered 200 by bench_id
// and status: a second receipt is a duplicate, a missing one a loss, and a
// call it answered 500 counts for nothing.
func TestHookCountsDuplicatesAndLosses(t *testing.T) {
	h := newHook(0, 1)
	srv := httptest.NewServer(h)
	defer srv.Close()
	post := func(body string) {
		resp, err := http.Post(srv.URL+"/hook/am", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	one := `{"alerts":[{"status":"firing","labels":{"bench_id":"am-r1-0"}}]}`
	post(one)
	post(one)
	post(`{"alerts":[{"status":"resolved","labels":{"bench_id":"am-r1-0"}},{"status":"firing","labels":{"bench_id":"am-r1-9"}}]}`)
	post(`not json`)
	at := time.Now().Add(-time.Second)
	want := map[delivery]time.Time{
		{"am-r1-0", "firing"}: at, {"am-r1-0", "resolved"}: at, {"am-r1-1", "firing"}: at,
	}
	got := h.tally(want, "am-r1-")
	if got.received != 2 || got.dups != 1 || got.lost != 1 || got.unexpected != 1 || len(got.lat) != 2 || got.late != 0 {
		t.Fatalf("tally %+v, want 2 received, 1 dup, 1 lost, 1 unexpected, 2 latencies, 0 late", got)
	}
	if calls, failed, bad := h.callCounts("am"); calls != 4 || failed != 0 || bad != 1 {
		t.Fatalf("calls %d failed %d bad %d, want 4 0 1", calls, failed, bad)
	}
	post(one) // a firing after the resolution
	if got := h.tally(want, "am-r1-"); got.late != 1 || got.dups != 2 {
		t.Fatalf("after a late firing: %+v", got)
	}

	all := newHook(1, 1) // fails every call: nothing received
	srv2 := httptest.NewServer(all)
	defer srv2.Close()
	resp, err := http.Post(srv2.URL+"/hook/wharf", "application/json", strings.NewReader(one))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 500 || all.missing(want) != 3 {
		t.Fatalf("status %d, missing %d; want 500 and 3", resp.StatusCode, all.missing(want))
	}
}

func TestQuantileAndMedian(t *testing.T) {
	var lat []time.Duration
	for i := 1; i <= 100; i++ {
		lat = append(lat, time.Duration(i)*time.Millisecond)
	}
	if got := quantileMs(lat, 0.99); got != 99 {
		t.Fatalf("p99 %v, want 99", got)
	}
	if got := quantileMs(lat, 1); got != 100 {
		t.Fatalf("max %v, want 100", got)
	}
	if got := quantileMs(nil, 0.99); got != 0 {
		t.Fatalf("p99 of none %v", got)
	}
	if got := median([]float64{3, 1, 2, 10}); got != 2.5 {
		t.Fatalf("median %v, want 2.5", got)
	}
}
