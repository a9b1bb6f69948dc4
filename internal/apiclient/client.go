// Package apiclient is the HTTP client the `wharf` CLI uses to call the API
// through the gateway. API errors come back as *Error with the server's
// message and request id.
package apiclient

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// Client calls one Wharf server with one token.
type Client struct {
	base  string
	token string
	http  *http.Client
}

// New returns a client for server (e.g. http://127.0.0.1:8080) and token.
func New(server, token string) (*Client, error) {
	server = strings.TrimRight(server, "/")
	if !strings.HasPrefix(server, "http://") && !strings.HasPrefix(server, "https://") {
		return nil, fmt.Errorf("server %q must start with http:// or https://", server)
	}
	return &Client{base: server, token: token, http: &http.Client{Timeout: 30 * time.Second}}, nil
}

// Error is an error answered by the server.
type Error struct {
	Status    int
	Message   string
	RequestID string
}

// Error implements error.
func (e *Error) Error() string {
	msg := fmt.Sprintf("%s (HTTP %d", e.Message, e.Status)
	if e.RequestID != "" {
		msg += ", request " + e.RequestID
	}
	return msg + ")"
}

// HTTPStatus is the status of the answer (internal/cliout.StatusError).
func (e *Error) HTTPStatus() int { return e.Status }

// HTTPMessage is the server's message (internal/cliout.StatusError).
func (e *Error) HTTPMessage() string { return e.Message }

// HTTPRequestID is the request id of the answer (internal/cliout.StatusError).
func (e *Error) HTTPRequestID() string { return e.RequestID }

// Do sends in (JSON, nil for no body) and decodes the answer into out (nil to discard).
func (c *Client) Do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("cannot encode request: %w", err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return fmt.Errorf("cannot build request: %w", err)
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("cannot reach %s: %w", c.base, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
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

// apiError turns an error answer into *Error.
func apiError(status int, b []byte) *Error {
	var e struct {
		Error     string `json:"error"`
		RequestID string `json:"request_id"`
	}
	if json.Unmarshal(b, &e) != nil || e.Error == "" {
		e.Error = strings.TrimSpace(string(b))
		if e.Error == "" {
			e.Error = http.StatusText(status)
		}
	}
	return &Error{Status: status, Message: e.Error, RequestID: e.RequestID}
}

// IsStatus reports whether err is an API error with that status.
func IsStatus(err error, status int) bool {
	var e *Error
	return errors.As(err, &e) && e.Status == status
}
