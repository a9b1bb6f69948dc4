package feed

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// HTTPSink pushes points to a monitor over HTTP
// (POST <URL>/api/v1/metrics/push) with a token of scope ingest.
type HTTPSink struct {
	// URL is the gateway's base URL, e.g. "http://127.0.0.1:8080".
	URL string
	// Token is the bearer token (scope ingest); it never appears in errors.
	Token  string
	Client *http.Client
}

// Push implements Sink.
func (s *HTTPSink) Push(ctx context.Context, points []Point) error {
	body := AppendJSON(nil, points)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(s.URL, "/")+"/api/v1/metrics/push", bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("cannot push metrics: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+s.Token)
	c := s.Client
	if c == nil {
		c = http.DefaultClient
	}
	resp, err := c.Do(req)
	if err != nil {
		return fmt.Errorf("cannot push metrics: %w", err)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("cannot push metrics: %s: %s", resp.Status, bytes.TrimSpace(msg))
	}
	return nil
}
