package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

// roundResult is one measured round of one system.
type roundResult struct {
	System         string  `json:"system"`
	Round          int     `json:"round"`
	Posted         int     `json:"posted"`
	Accepted       int     `json:"accepted"`
	AcceptedPerSec float64 `json:"accepted_per_s"`
	PostErrors     int     `json:"post_errors"`
	Want           int     `json:"want"`
	Received       int     `json:"received"`
	Duplicates     int     `json:"duplicates"`
	Lost           int     `json:"lost"`
	LostFiringOnly int     `json:"lost_firing_only"`
	Unexpected     int     `json:"unexpected"`
	FiringLate     int     `json:"firing_after_resolved"`
	Calls          int     `json:"calls"`
	Calls500       int     `json:"calls_500"`
	BadBodies      int     `json:"bad_bodies"`
	DrainS         float64 `json:"drain_s"`
	PostP99ms      float64 `json:"post_p99_ms"`
	P50ms          float64 `json:"p50_ms"`
	P99ms          float64 `json:"p99_ms"`
	MaxMs          float64 `json:"max_ms"`
}

// pending is a round whose deliveries are counted at the end of the run
// (late duplicates count too).
type pending struct {
	res    roundResult
	want   map[delivery]time.Time
	prefix string
}

func runCmd(args []string) error {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	systems := fs.String("systems", "am,wharf", "systems in the order of the first round (rotated every round)")
	amURLs := fs.String("am", "", "the Alertmanager peers' base URLs, comma-separated")
	wharfURL := fs.String("wharf", "", "Wharf's gateway base URL")
	tokFile := fs.String("token-file", "", "file with Wharf's admin token")
	hookAddr := fs.String("hook-listen", "127.0.0.1:0", "the receiver's listen address")
	failRate := fs.Float64("fail", 0.2, "fraction of webhook calls answered 500")
	seed := fs.Uint64("seed", 1, "seed of the receiver's failures")
	rounds := fs.Int("rounds", 3, "measured rounds per system")
	rate := fs.Float64("rate", 100, "firing alerts posted per second")
	batch := fs.Int("batch", 10, "alerts per POST")
	conc := fs.Int("concurrency", 8, "POSTs in flight at most")
	dur := fs.Duration("duration", 20*time.Second, "how long each round posts new alerts")
	hold := fs.Duration("hold", 5*time.Second, "how long after its firing post an alert is resolved")
	drain := fs.Duration("drain-timeout", 60*time.Second, "how long a round waits for every delivery")
	settle := fs.Duration("settle", 20*time.Second, "then how long it waits for late (duplicate) deliveries")
	out := fs.String("out", "", "also write the report here (*.json: the rounds)")
	header := fs.String("header", "", "lines printed above the table")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *rate <= 0 || *batch < 1 || *conc < 1 || *rounds < 1 || *dur <= 0 {
		return errors.New("need -rate > 0, -batch, -concurrency, -rounds >= 1 and -duration > 0")
	}
	targets := map[string]target{}
	if *amURLs != "" {
		targets["am"] = target{name: "am", urls: strings.Split(*amURLs, ",")}
	}
	if *wharfURL != "" {
		tok, err := readToken(*tokFile)
		if err != nil {
			return err
		}
		targets["wharf"] = target{name: "wharf", urls: []string{*wharfURL}, token: tok}
	}
	order := strings.Split(*systems, ",")
	for _, s := range order {
		if _, ok := targets[s]; !ok {
			return fmt.Errorf("system %q has no URL (-am, -wharf)", s)
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	h := newHook(*failRate, *seed)
	ln, err := net.Listen("tcp", *hookAddr)
	if err != nil {
		return fmt.Errorf("cannot listen for the webhook: %w", err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()

	l := load{rate: *rate, batch: *batch, concurrency: *conc, duration: *dur, hold: *hold,
		client: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: *conc * 2}}}
	var done []pending
	for r := 1; r <= *rounds; r++ {
		for k := range order {
			sys := order[(k+r-1)%len(order)]
			p, err := oneRound(ctx, h, l, targets[sys], r, *drain, *settle)
			if err != nil {
				return err
			}
			done = append(done, p)
		}
	}
	var results []roundResult
	for _, p := range done {
		t := h.tally(p.want, p.prefix)
		p.res.Received, p.res.Duplicates, p.res.Lost, p.res.Unexpected, p.res.FiringLate = t.received, t.dups, t.lost, t.unexpected, t.late
		p.res.LostFiringOnly = t.firingOnly
		p.res.P50ms, p.res.P99ms, p.res.MaxMs = quantileMs(t.lat, 0.5), quantileMs(t.lat, 0.99), quantileMs(t.lat, 1)
		results = append(results, p.res)
	}
	return writeReport(results, *header, *out)
}

// oneRound posts one round's alerts to a system, waits for its deliveries
// (drain) and then for late ones (settle).
func oneRound(ctx context.Context, h *hook, l load, t target, n int, drain, settle time.Duration) (pending, error) {
	prefix := fmt.Sprintf("%s-r%d-", t.name, n)
	calls0, failed0, bad0 := h.callCounts(t.name)
	fmt.Fprintf(os.Stderr, "==> round %d: %s (%s)\n", n, t.name, strings.Join(t.urls, ", "))
	pr := l.run(ctx, t, prefix)
	if ctx.Err() != nil {
		return pending{}, fmt.Errorf("interrupted: %w", ctx.Err())
	}
	drainStart := time.Now()
	for h.missing(pr.want) > 0 && time.Since(drainStart) < drain && ctx.Err() == nil {
		time.Sleep(50 * time.Millisecond)
	}
	drained := time.Since(drainStart)
	select {
	case <-ctx.Done():
		return pending{}, fmt.Errorf("interrupted: %w", ctx.Err())
	case <-time.After(settle):
	}
	calls, failed, bad := h.callCounts(t.name)
	res := roundResult{System: t.name, Round: n, Posted: pr.posted, Accepted: pr.accepted,
		AcceptedPerSec: float64(pr.accepted) / pr.elapsed.Seconds(), PostErrors: pr.postErrors,
		Want: len(pr.want), Calls: calls - calls0, Calls500: failed - failed0, BadBodies: bad - bad0,
		DrainS: drained.Seconds(), PostP99ms: quantileMs(pr.postLat, 0.99)}
	fmt.Fprintf(os.Stderr, "    posted %d firing alerts (%d accepted, %d failed posts), %d deliveries expected, %d missing after %.1fs drain\n",
		pr.posted, pr.accepted, pr.postErrors, len(pr.want), h.missing(pr.want), drained.Seconds())
	return pending{res: res, want: pr.want, prefix: prefix}, nil
}
