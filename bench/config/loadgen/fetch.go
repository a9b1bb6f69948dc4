package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync"
	"time"
)

// fetchResult is what `loadgen fetch` prints.
type fetchResult struct {
	Concurrency int     `json:"concurrency"`
	Seconds     float64 `json:"seconds"`
	Requests    int     `json:"requests"`
	NotModified int     `json:"not_modified"`
	Other       int     `json:"other"`
	Errors      int     `json:"errors"`
	RPS         float64 `json:"rps"`
	P50MS       float64 `json:"p50_ms"`
	P99MS       float64 `json:"p99_ms"`
	FirstError  string  `json:"first_error,omitempty"`
}

func runFetch(args []string) error {
	fs := flag.NewFlagSet("fetch", flag.ContinueOnError)
	server := fs.String("server", "", "config service base URL (e.g. the gateway)")
	token := fs.String("token", "", "bearer token that may read the app")
	app := fs.String("app", "bench", "app id")
	cluster := fs.String("cluster", "default", "cluster")
	ns := fs.String("ns", "application", "namespace")
	conc := fs.Int("concurrency", 32, "requests in flight")
	dur := fs.Duration("duration", 10*time.Second, "how long to fetch (at most 60s)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *server == "" || *dur > time.Minute || *conc < 1 {
		return errors.New("-server is required, -duration at most 60s, -concurrency at least 1")
	}
	client := &http.Client{Transport: &http.Transport{Proxy: nil, MaxIdleConnsPerHost: *conc}}
	base := *server + "/configs/" + url.PathEscape(*app) + "/" + url.PathEscape(*cluster) + "/" + url.PathEscape(*ns)
	key, err := releaseKey(client, base, *token)
	if err != nil {
		return err
	}
	u := base + "?" + url.Values{"releaseKey": {key}, "ip": {"10.0.0.1"}}.Encode()
	type worker struct {
		lat               []time.Duration
		n304, other, errs int
		first             string
	}
	ws := make([]worker, *conc)
	ctx, cancel := context.WithTimeout(context.Background(), *dur)
	defer cancel()
	start := time.Now()
	var wg sync.WaitGroup
	for i := range ws {
		wg.Add(1)
		go func(w *worker) {
			defer wg.Done()
			for ctx.Err() == nil {
				t := time.Now()
				status, err := get(ctx, client, u, *token, nil, nil)
				if ctx.Err() != nil {
					return
				}
				w.lat = append(w.lat, time.Since(t))
				switch {
				case err != nil:
					w.errs++
					if w.first == "" {
						w.first = err.Error()
					}
				case status == http.StatusNotModified:
					w.n304++
				default:
					w.other++
					if w.first == "" {
						w.first = fmt.Sprintf("answered %d", status)
					}
				}
			}
		}(&ws[i])
	}
	wg.Wait()
	secs := time.Since(start).Seconds()
	res := fetchResult{Concurrency: *conc, Seconds: secs}
	var lat []time.Duration
	for _, w := range ws {
		lat = append(lat, w.lat...)
		res.NotModified += w.n304
		res.Other += w.other
		res.Errors += w.errs
		if res.FirstError == "" {
			res.FirstError = w.first
		}
	}
	res.Requests = len(lat)
	res.RPS = float64(res.NotModified) / secs
	res.P50MS, res.P99MS = ms(percentile(lat, 50)), ms(percentile(lat, 99))
	return emit(res)
}

// releaseKey fetches the namespace once for its release key.
func releaseKey(client *http.Client, base, token string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := client.Do(req)
	if err != nil {
		return "", fmt.Errorf("cannot fetch the namespace: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return "", fmt.Errorf("cannot fetch the namespace: %d %s", resp.StatusCode, b)
	}
	var r struct {
		ReleaseKey string `json:"releaseKey"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil || r.ReleaseKey == "" {
		return "", fmt.Errorf("cannot fetch the namespace: no release key (%v)", err)
	}
	return r.ReleaseKey, nil
}
