package main

import (
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"
)

// loadOptions is one bounded load of one target.
type loadOptions struct {
	Target      string // "wharf" or "vm"
	Addr        string // host:port
	Token       string // wharf: the ingest token
	Series      int
	Batch       int
	Concurrency int
	Duration    time.Duration
	Base        int64 // timestamp of pass 0
	// UntilPoints, when above 0, ends the load as soon as that many points
	// were accepted (the warm-up: one pass over every series).
	UntilPoints int64
	// Rate, when above 0, paces the load to that many points per second
	// (the batch with sequence number q is sent no earlier than q/Rate
	// seconds after the start), to measure latency at a rate the target
	// sustains; 0 sends as fast as the target answers.
	Rate float64
}

// loadResult counts what the target answered.
type loadResult struct {
	Elapsed      time.Duration
	Accepted     int64 // points of 2xx answers
	Refused      int64 // 503 answers (back-pressure), each retried after Retry-After
	RefusedWait  time.Duration
	Errors       int64 // other answers or transport errors (the batch is dropped)
	MaxSeq       int64 // points handed out (the next pass starts after them)
	FirstFailure string
}

// load pushes the sequence of points with Concurrency workers until
// Duration is over. Each worker takes the next Batch points, sends them and
// on a 503 waits Retry-After (bounded by the end of the load) and sends the
// same batch again; only 2xx answers count as accepted.
func load(o loadOptions) loadResult {
	client := &fasthttp.HostClient{
		Addr:                          o.Addr,
		MaxConns:                      o.Concurrency + 1,
		ReadTimeout:                   60 * time.Second,
		WriteTimeout:                  60 * time.Second,
		MaxIdemponentCallAttempts:     1,
		NoDefaultUserAgentHeader:      true,
		DisableHeaderNamesNormalizing: true,
	}
	path, ctype := "/v1/push", "application/json"
	if o.Target == "vm" {
		path, ctype = "/api/v1/import", "application/x-ndjson"
	}
	var (
		seq      atomic.Int64
		accepted atomic.Int64
		refused  atomic.Int64
		errs     atomic.Int64
		waited   atomic.Int64
		failOnce sync.Once
		failure  string
		wg       sync.WaitGroup
	)
	start := time.Now()
	deadline := start.Add(o.Duration)
	for range o.Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
			defer fasthttp.ReleaseRequest(req)
			defer fasthttp.ReleaseResponse(resp)
			var body []byte
			for time.Now().Before(deadline) {
				if o.UntilPoints > 0 && accepted.Load() >= o.UntilPoints {
					return
				}
				q := int(seq.Add(int64(o.Batch))) - o.Batch
				if o.Rate > 0 {
					at := start.Add(time.Duration(float64(q) / o.Rate * float64(time.Second)))
					if !at.Before(deadline) {
						return
					}
					time.Sleep(time.Until(at))
				}
				if o.Target == "vm" {
					body = appendVMImport(body[:0], q, o.Batch, o.Series, o.Base)
				} else {
					body = appendFalcon(body[:0], q, o.Batch, o.Series, o.Base)
				}
			retry:
				req.Reset()
				req.SetRequestURI("http://" + o.Addr + path)
				req.Header.SetMethod(fasthttp.MethodPost)
				req.Header.SetContentType(ctype)
				if o.Token != "" {
					req.Header.Set("Authorization", "Bearer "+o.Token)
				}
				req.SetBodyRaw(body)
				err := client.DoDeadline(req, resp, deadline.Add(30*time.Second))
				switch {
				case err == nil && resp.StatusCode()/100 == 2:
					accepted.Add(int64(o.Batch))
				case err == nil && resp.StatusCode() == fasthttp.StatusServiceUnavailable:
					refused.Add(1)
					wait := retryAfter(resp.Header.Peek("Retry-After"))
					if left := time.Until(deadline); wait > left {
						wait = left
					}
					if wait <= 0 {
						continue // the load is over; the batch is not counted
					}
					waited.Add(int64(wait))
					time.Sleep(wait)
					goto retry
				default:
					errs.Add(1)
					failOnce.Do(func() {
						if err != nil {
							failure = err.Error()
						} else {
							failure = fmt.Sprintf("%d %.200s", resp.StatusCode(), resp.Body())
						}
					})
				}
			}
		}()
	}
	wg.Wait()
	return loadResult{
		Elapsed: time.Since(start), Accepted: accepted.Load(), Refused: refused.Load(),
		RefusedWait: time.Duration(waited.Load()), Errors: errs.Load(), MaxSeq: seq.Load(),
		FirstFailure: failure,
	}
}

// retryAfter reads a Retry-After in seconds (1 s when absent or not a number).
func retryAfter(v []byte) time.Duration {
	n, err := strconv.Atoi(string(v))
	if err != nil || n <= 0 {
		return time.Second
	}
	return time.Duration(n) * time.Second
}

// post sends one request and returns the status and body (setup and markers).
func post(c *fasthttp.Client, url, token, ctype string, body []byte, timeout time.Duration) (int, []byte, error) {
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI(url)
	req.Header.SetMethod(fasthttp.MethodPost)
	req.Header.SetContentType(ctype)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.SetBodyRaw(body)
	if err := c.DoTimeout(req, resp, timeout); err != nil {
		return 0, nil, fmt.Errorf("cannot POST %s: %w", url, err)
	}
	return resp.StatusCode(), append([]byte(nil), resp.Body()...), nil
}

// get fetches url (metrics, nsqd stats).
func get(c *fasthttp.Client, url string, timeout time.Duration) ([]byte, error) {
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI(url)
	if err := c.DoTimeout(req, resp, timeout); err != nil {
		return nil, fmt.Errorf("cannot GET %s: %w", url, err)
	}
	if resp.StatusCode() != fasthttp.StatusOK {
		return nil, fmt.Errorf("cannot GET %s: status %d", url, resp.StatusCode())
	}
	return append([]byte(nil), resp.Body()...), nil
}
