package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/wharfhq/wharf/internal/feed"
)

// feedSink is where this process's own metrics (the gateway's routes, the
// agent's host and instances) go: the monitor function when it runs in
// this process (serve), else monitoring.feed_server (default
// defaultServer) over HTTP with the ingest token in
// monitoring.feed_token_file; nil when neither is set.
func (b *base) feedSink(defaultServer string) (feed.Sink, error) {
	if b.feed != nil {
		return b.feed, nil
	}
	o := b.opts.Monitoring
	if o.FeedTokenFile == "" {
		return nil, nil
	}
	server := o.FeedServer
	if server == "" {
		server = defaultServer
	}
	if server == "" {
		return nil, fmt.Errorf("monitoring.feed_token_file is set but not monitoring.feed_server: where should this node push its own metrics?")
	}
	raw, err := os.ReadFile(o.FeedTokenFile)
	if err != nil {
		return nil, fmt.Errorf("cannot read monitoring.feed_token_file: %w", err)
	}
	tok := strings.TrimSpace(string(raw))
	if tok == "" {
		return nil, fmt.Errorf("monitoring.feed_token_file %s is empty", o.FeedTokenFile)
	}
	return &feed.HTTPSink{URL: server, Token: tok}, nil
}
