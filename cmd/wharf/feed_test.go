package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wharfhq/wharf/internal/config"
	"github.com/wharfhq/wharf/internal/feed"
)

// TestFeedSinkChoice: in-process when the monitor runs here, HTTP with the
// token file's ingest token otherwise, nothing without a token file, and a
// clear error for a token file without a server, a missing or empty file.
func TestFeedSinkChoice(t *testing.T) {
	dir := t.TempDir()
	tokFile := filepath.Join(dir, "feed.token")
	if err := os.WriteFile(tokFile, []byte("  wharf_secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty.token")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	b := func(server, file string) *base {
		return &base{opts: config.Options{Monitoring: config.MonitoringOptions{FeedServer: server, FeedTokenFile: file}}}
	}
	if s, err := b("", "").feedSink("http://agent.server"); s != nil || err != nil {
		t.Fatalf("no token file: %v %v", s, err)
	}
	s, err := b("", tokFile).feedSink("http://agent.server")
	if h, ok := s.(*feed.HTTPSink); err != nil || !ok || h.URL != "http://agent.server" || h.Token != "wharf_secret" {
		t.Fatalf("agent default server: %#v %v", s, err)
	}
	s, err = b("http://monitor:8080", tokFile).feedSink("http://agent.server")
	if h, ok := s.(*feed.HTTPSink); err != nil || !ok || h.URL != "http://monitor:8080" {
		t.Fatalf("feed_server wins: %#v %v", s, err)
	}
	inproc := b("", "")
	inproc.feed = &feed.HTTPSink{URL: "in-process stand-in"}
	if s, err := inproc.feedSink(""); err != nil || s != inproc.feed {
		t.Fatalf("in-process: %v %v", s, err)
	}
	for name, c := range map[string]struct {
		b    *base
		want string
	}{
		"no server":    {b("", tokFile), "monitoring.feed_server"},
		"missing file": {b("http://x", filepath.Join(dir, "nope")), "cannot read monitoring.feed_token_file"},
		"empty file":   {b("http://x", empty), "is empty"},
	} {
		if _, err := c.b.feedSink(""); err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "wharf_secret") {
			t.Errorf("%s: %v, want %q", name, err, c.want)
		}
	}
}
