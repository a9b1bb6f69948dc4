package release

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// Source is where a bundle is downloaded from. Open is called once per
// attempt; the reader it returns must stop with an error when ctx ends (as
// an HTTP response body does), which is how an attempt times out.
//
// An error that is, or wraps, a *StatusError is retried only when its
// Temporary method says so; any other error from Open or from reading is
// taken as a network error and retried.
type Source interface {
	Open(ctx context.Context) (io.ReadCloser, error)
}

// HTTPSource downloads a bundle with a GET request, e.g. from a presigned
// MinIO URL. The URL's query is left out of errors and logs, since it may
// carry a signature.
type HTTPSource struct {
	// URL is fetched with GET.
	URL string
	// Client sends the request (default http.DefaultClient).
	Client *http.Client
	// Header is added to the request (e.g. Authorization).
	Header http.Header
}

// statusBodyLen is how much of a non-2xx response's body a StatusError keeps.
const statusBodyLen = 256

// Open sends the request and returns the response body. A status outside
// 2xx is a *StatusError holding the status and the body's first bytes.
func (s HTTPSource) Open(ctx context.Context) (io.ReadCloser, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.URL, nil)
	if err != nil {
		return nil, fmt.Errorf("cannot build request for %s: %w", redactURL(s.URL), redactErr(err))
	}
	for k, vs := range s.Header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	c := s.Client
	if c == nil {
		c = http.DefaultClient
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, fmt.Errorf("cannot download: %w", redactErr(err))
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, statusBodyLen))
		resp.Body.Close()
		return nil, &StatusError{URL: redactURL(s.URL), Code: resp.StatusCode, Status: resp.Status, Body: string(body)}
	}
	return resp.Body, nil
}

// StatusError is a download answered with a status outside 2xx.
type StatusError struct {
	// URL is the request's URL without its query.
	URL string
	// Code is the status code, Status its line ("404 Not Found").
	Code   int
	Status string
	// Body is the start of the response body.
	Body string
}

// Error renders `cannot download URL: status 404 Not Found: "body"`.
func (e *StatusError) Error() string {
	return fmt.Sprintf("cannot download %s: status %s: %q", e.URL, e.Status, strings.TrimSpace(e.Body))
}

// Temporary reports whether the status is worth retrying: 5xx, 408 and 429.
func (e *StatusError) Temporary() bool {
	return e.Code >= 500 || e.Code == http.StatusRequestTimeout || e.Code == http.StatusTooManyRequests
}

// redactURL drops a URL's query, fragment and password.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(invalid URL)"
	}
	u.RawQuery, u.Fragment, u.RawFragment = "", "", ""
	if u.User != nil {
		u.User = url.User(u.User.Username())
	}
	return u.String()
}

// redactErr rewrites the URL inside a *url.Error, which would otherwise
// print it whole.
func redactErr(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return &url.Error{Op: ue.Op, URL: redactURL(ue.URL), Err: ue.Err}
	}
	return err
}
