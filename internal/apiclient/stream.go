package apiclient

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
)

// stream is the HTTP client for bodies of any size: no overall timeout, the
// caller's context governs (Do's client gives up after 30 s).
func (c *Client) stream() *http.Client {
	return &http.Client{Transport: c.http.Transport}
}

// Upload sends body, size bytes long (-1 when unknown: sent chunked), with
// the extra headers, and decodes the JSON answer into out (nil to discard).
func (c *Client) Upload(ctx context.Context, method, path string, body io.Reader, size int64, hdr map[string]string, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return fmt.Errorf("cannot build request: %w", err)
	}
	req.ContentLength = size
	if size == 0 {
		req.Body = http.NoBody
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.stream().Do(req)
	if err != nil {
		return fmt.Errorf("cannot upload to %s: %w", c.base, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return fmt.Errorf("cannot read response: %w", err)
	}
	if resp.StatusCode >= 300 {
		return apiError(resp.StatusCode, b)
	}
	if out != nil && len(b) > 0 {
		if err := json.Unmarshal(b, out); err != nil {
			return fmt.Errorf("cannot decode response: %w", err)
		}
	}
	return nil
}

// Download GETs path and returns the answer for streaming its body; the
// caller closes resp.Body. An error answer comes back as *Error.
func (c *Client) Download(ctx context.Context, path string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+path, nil)
	if err != nil {
		return nil, fmt.Errorf("cannot build request: %w", err)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.stream().Do(req)
	if err != nil {
		return nil, fmt.Errorf("cannot reach %s: %w", c.base, err)
	}
	if resp.StatusCode >= 300 {
		defer resp.Body.Close()
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		return nil, apiError(resp.StatusCode, b)
	}
	return resp, nil
}
