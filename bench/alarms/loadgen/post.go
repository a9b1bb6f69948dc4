package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// alert is one alert of Alertmanager's API v2 (POST /api/v2/alerts).
type alert struct {
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations"`
	StartsAt     time.Time         `json:"startsAt"`
	EndsAt       *time.Time        `json:"endsAt,omitempty"`
	GeneratorURL string            `json:"generatorURL"`
}

// target is one system under test: the base URLs its alerts are posted to
// (every one of them, as Prometheus posts to every Alertmanager of a pair)
// and the bearer token (Wharf's).
type target struct {
	name  string
	urls  []string
	token string
}

// load is one round's posting: firing alerts at rate for duration, each
// resolved hold after it fired.
type load struct {
	rate        float64
	batch       int
	concurrency int
	duration    time.Duration
	hold        time.Duration
	client      *http.Client
}

// postResult is what one round's posting did.
type postResult struct {
	want       map[delivery]time.Time // accepted deliveries: when they were posted
	posted     int                    // firing alerts posted
	accepted   int                    // firing alerts every URL answered 2xx
	postErrors int                    // requests not answered 2xx (any URL)
	elapsed    time.Duration          // the firing phase
	postLat    []time.Duration        // every POST (to every URL of the target)
}

type firedBatch struct {
	alerts []alert
	at     time.Time
}

// run posts the round's alerts; prefix starts every bench_id.
func (l load) run(ctx context.Context, t target, prefix string) postResult {
	res := postResult{want: map[delivery]time.Time{}}
	var mu sync.Mutex
	var errs atomic.Int64
	sem := make(chan struct{}, l.concurrency)
	var wg sync.WaitGroup
	send := func(alerts []alert, status string) {
		sem <- struct{}{}
		at := time.Now()
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			ok := l.post(ctx, t, alerts)
			took := time.Since(at)
			mu.Lock()
			res.postLat = append(res.postLat, took)
			mu.Unlock()
			if !ok {
				errs.Add(1)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			for _, a := range alerts {
				res.want[delivery{id: a.Labels["bench_id"], status: status}] = at
			}
			if status == "firing" {
				res.accepted += len(alerts)
			}
		}()
	}
	every := time.Duration(float64(l.batch) / l.rate * float64(time.Second))
	tick := time.NewTicker(every)
	defer tick.Stop()
	start := time.Now()
	var pending []firedBatch
	next := 0
	for {
		now := time.Now()
		firing := now.Sub(start) < l.duration
		if firing {
			b := make([]alert, l.batch)
			for i := range b {
				b[i] = alert{Labels: map[string]string{
					"alertname": "BenchAlert", "bench_id": fmt.Sprintf("%s%d", prefix, next),
					"instance": fmt.Sprintf("host-%d", next%50), "severity": "warning",
				}, Annotations: map[string]string{"summary": "bench alert"}, StartsAt: now, GeneratorURL: "http://127.0.0.1/bench"}
				next++
			}
			res.posted += len(b)
			send(b, "firing")
			pending = append(pending, firedBatch{alerts: b, at: now})
		} else if res.elapsed == 0 {
			res.elapsed = now.Sub(start)
		}
		for len(pending) > 0 && now.Sub(pending[0].at) >= l.hold {
			b := pending[0].alerts
			pending = pending[1:]
			r := make([]alert, len(b))
			end := now
			for i, a := range b {
				a.EndsAt = &end
				r[i] = a
			}
			send(r, "resolved")
		}
		if !firing && len(pending) == 0 {
			break
		}
		select {
		case <-ctx.Done():
			wg.Wait()
			res.postErrors = int(errs.Load())
			return res
		case <-tick.C:
		}
	}
	wg.Wait()
	res.postErrors = int(errs.Load())
	return res
}

// post sends one batch to every URL of the target at once; true when all
// answered 2xx.
func (l load) post(ctx context.Context, t target, alerts []alert) bool {
	body, err := json.Marshal(alerts)
	if err != nil {
		return false
	}
	var ok atomic.Int64
	var wg sync.WaitGroup
	for _, u := range t.urls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			req, err := http.NewRequestWithContext(cctx, http.MethodPost, u+"/api/v2/alerts", bytes.NewReader(body))
			if err != nil {
				return
			}
			req.Header.Set("Content-Type", "application/json")
			if t.token != "" {
				req.Header.Set("Authorization", "Bearer "+t.token)
			}
			resp, err := l.client.Do(req)
			if err != nil {
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
			if resp.StatusCode/100 == 2 {
				ok.Add(1)
			}
		}()
	}
	wg.Wait()
	return int(ok.Load()) == len(t.urls)
}
