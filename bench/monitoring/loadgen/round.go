package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/valyala/fasthttp"
)

// roundResult is one measured round of one target, one JSON line.
type roundResult struct {
	Target      string    `json:"target"`
	Round       int       `json:"round"`
	Series      int       `json:"series"`
	Batch       int       `json:"batch"`
	Concurrency int       `json:"concurrency"`
	LoadS       float64   `json:"load_s"`      // the load's length
	DrainS      float64   `json:"drain_s"`     // after it, until everything accepted was stored (and judged)
	Drained     bool      `json:"drained"`     // false: drain_timeout ran out first
	Accepted    int64     `json:"accepted"`    // points in 2xx answers
	Refused503  int64     `json:"refused_503"` // 503 answers (back-pressure)
	RefusedWait float64   `json:"refused_wait_s"`
	Errors      int64     `json:"errors"` // other answers and transport errors
	Failure     string    `json:"failure,omitempty"`
	Stored      float64   `json:"stored"`       // the server's stored-points counter, delta over load+drain
	StoredOK    float64   `json:"stored_ok"`    // wharf: of which result="accepted" (the rest stale/skipped/rejected)
	AcceptedPS  float64   `json:"accepted_ps"`  // accepted / load_s
	StoredPS    float64   `json:"stored_ps"`    // min(stored, accepted) / (load_s + drain_s)
	BacklogLeft int64     `json:"backlog_left"` // wharf: NSQ messages of metrics topics left unconsumed at the end
	RSSPeakMiB  float64   `json:"rss_peak_mib"`
	RSSStartMiB float64   `json:"rss_start_mib"` // before the load
	AnonPeakMiB float64   `json:"anon_peak_mib"` // peak RssAnon: VmRSS without mapped file pages
	CPUS        float64   `json:"cpu_s"`         // the server's CPU seconds over load+drain
	Markers     int       `json:"markers"`       // marker events seen
	MarkersLate int       `json:"markers_late"`  // marker pushes accepted whose event did not come within the wait
	LatMS       []float64 `json:"lat_ms,omitempty"`
	P50MS       float64   `json:"p50_ms"`
	P99MS       float64   `json:"p99_ms"`
	MaxMS       float64   `json:"max_ms"`
}

func roundCmd(args []string) error {
	fs := flag.NewFlagSet("round", flag.ContinueOnError)
	target := fs.String("target", "wharf", "wharf or vm")
	base := fs.String("url", "", "base URL: Wharf's gateway or VictoriaMetrics")
	tokenFile := fs.String("token-file", "", "wharf: file with the ingest token")
	series := fs.Int("series", 100000, "distinct series")
	batch := fs.Int("batch", 1000, "points per request")
	conc := fs.Int("concurrency", 8, "requests in flight")
	dur := fs.Duration("duration", 20*time.Second, "load length")
	state := fs.String("state", "", "file keeping the next pass's timestamp across rounds")
	pid := fs.Int("pid", 0, "the server's pid (RSS, CPU)")
	metrics := fs.String("metrics-url", "", "the server's Prometheus /metrics")
	storedMetric := fs.String("stored-metric", "", "counter of stored points (summed over labels)")
	nsqdTCP := fs.String("nsqd-tcp", "", "wharf: serve's embedded nsqd (TCP) for the alarms topic")
	nsqdHTTP := fs.String("nsqd-http", "", "wharf: serve's embedded nsqd (HTTP) for the metrics topics' backlog")
	markerEvery := fs.Duration("marker-every", 100*time.Millisecond, "wharf: one marker point this often (0: none)")
	drainTimeout := fs.Duration("drain-timeout", 60*time.Second, "longest wait for the stores to catch up after the load")
	roundN := fs.Int("round", 1, "round number, for the report")
	until := fs.Int64("until-points", 0, "end the load once this many points were accepted (warm-up)")
	settle := fs.Duration("settle-timeout", 0, "after the result, wait (unmeasured) this long at most for a backlog to clear")
	rate := fs.Float64("rate", 0, "pace the load to this many points/s (0: as fast as accepted)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *target != "wharf" && *target != "vm" {
		return fmt.Errorf("-target must be wharf or vm, got %q", *target)
	}
	if *series < 10 || *batch < 1 || *conc < 1 || *dur <= 0 || *pid <= 0 || *state == "" || *metrics == "" || *storedMetric == "" {
		return errors.New("need -series >= 10, -batch, -concurrency, -duration > 0, -pid, -state, -metrics-url and -stored-metric")
	}
	u, err := url.Parse(*base)
	if err != nil || u.Scheme != "http" || u.Host == "" {
		return fmt.Errorf("-url must be http://host:port, got %q", *base)
	}
	token := ""
	if *target == "wharf" {
		if token, err = readToken(*tokenFile); err != nil {
			return err
		}
	}
	first, err := readState(*state)
	if err != nil {
		return err
	}
	c := &fasthttp.Client{}
	stored0, err := counterSum(c, *metrics, *storedMetric)
	if err != nil {
		return err
	}
	ok0, _ := counterWith(c, *metrics, *storedMetric, `result="accepted"`)
	cpu0, err := cpuSeconds(*pid)
	if err != nil {
		return err
	}
	rssStart, err := procStatusKB(*pid, "VmRSS:")
	if err != nil {
		return err
	}
	rss := startRSS(*pid, 200*time.Millisecond)

	var mk *markers
	stopMarkers := make(chan struct{})
	markersDone := make(chan struct{})
	if *target == "wharf" && *nsqdTCP != "" && *markerEvery > 0 {
		if mk, err = consumeAlarms(*nsqdTCP, "alarms"); err != nil {
			rss.Stop()
			return err
		}
		defer mk.Stop()
		run := strconv.FormatInt(first, 36) + "r" + strconv.Itoa(*roundN)
		go func() {
			defer close(markersDone)
			mk.send(*base+"/v1/push", token, run, *markerEvery, stopMarkers)
		}()
	} else {
		close(markersDone)
	}

	res := load(loadOptions{Target: *target, Addr: u.Host, Token: token, Series: *series, Batch: *batch,
		Concurrency: *conc, Duration: *dur, Base: first, UntilPoints: *until, Rate: *rate})
	close(stopMarkers)
	<-markersDone

	// Drain: until the store took every accepted point and (wharf) nsqd
	// holds no metrics message unconsumed, i.e. the judge caught up too.
	drainStart := time.Now()
	stored, backlog, drained := waitDrained(c, *target, *metrics, *storedMetric, *nsqdHTTP, stored0, res.Accepted, *drainTimeout)
	drain := time.Since(drainStart)
	cpu1, _ := cpuSeconds(*pid)
	ok1, _ := counterWith(c, *metrics, *storedMetric, `result="accepted"`)
	out := roundResult{
		Target: *target, Round: *roundN, Series: *series, Batch: *batch, Concurrency: *conc,
		LoadS: res.Elapsed.Seconds(), DrainS: drain.Seconds(), Drained: drained,
		Accepted: res.Accepted, Refused503: res.Refused, RefusedWait: res.RefusedWait.Seconds(),
		Errors: res.Errors, Failure: res.FirstFailure, Stored: stored, StoredOK: ok1 - ok0,
		AcceptedPS: float64(res.Accepted) / res.Elapsed.Seconds(),
		CPUS:       cpu1 - cpu0,
	}
	out.StoredPS = min(stored, float64(res.Accepted)) / (res.Elapsed + drain).Seconds()
	out.BacklogLeft = backlog
	if mk != nil {
		lat, late := mk.wait(10 * time.Second)
		out.Markers, out.MarkersLate = len(lat), late
		for _, d := range lat {
			out.LatMS = append(out.LatMS, float64(d.Microseconds())/1000)
		}
		out.P50MS, out.P99MS, out.MaxMS = q(out.LatMS, 0.5), q(out.LatMS, 0.99), q(out.LatMS, 1)
	}
	peak, peakAnon := rss.Stop()
	out.RSSPeakMiB, out.AnonPeakMiB = float64(peak)/1024, float64(peakAnon)/1024
	out.RSSStartMiB = float64(rssStart) / 1024
	passes := (res.MaxSeq + int64(*series) - 1) / int64(*series)
	if err := writeState(*state, first+(passes+1)*step); err != nil {
		return err
	}
	b, err := json.Marshal(out)
	if err != nil {
		return fmt.Errorf("cannot encode the result: %w", err)
	}
	fmt.Println(string(b))
	fmt.Fprintf(os.Stderr, "    round %d  %-5s %9.0f accepted points/s  stored %9.0f/s  drain %5.1f s  RSS %6.0f MiB (anon %4.0f)  CPU %5.1f s  503s %d  errors %d%s\n",
		out.Round, out.Target, out.AcceptedPS, out.StoredPS, out.DrainS, out.RSSPeakMiB, out.AnonPeakMiB, out.CPUS, out.Refused503, out.Errors, markerLine(out))
	if out.Failure != "" {
		fmt.Fprintf(os.Stderr, "    first failure: %s\n", out.Failure)
	}
	if !drained && *settle > 0 {
		// Not measured: let the target finish its backlog so that it does
		// not take CPU from the next round (of either target).
		t0 := time.Now()
		_, left, ok := waitDrained(c, *target, *metrics, *storedMetric, *nsqdHTTP, stored0, res.Accepted, *settle)
		verdict := "cleared"
		if !ok {
			verdict = "NOT cleared: the next round shares the CPUs with it"
		}
		fmt.Fprintf(os.Stderr, "    (unmeasured: %s's backlog %s after %.0f s more, %d NSQ messages left)\n", *target, verdict, time.Since(t0).Seconds(), left)
	}
	return nil
}

// readState reads the first timestamp of the next round; a missing file
// starts 400 days ago (aligned to the step), far enough back that many
// rounds of passes stay in the past.
func readState(path string) (int64, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		t := time.Now().Add(-400 * 24 * time.Hour).Unix()
		return t - t%step, nil
	}
	if err != nil {
		return 0, fmt.Errorf("cannot read the state: %w", err)
	}
	v, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("cannot read the state %s: %w", path, err)
	}
	return v, nil
}

func writeState(path string, next int64) error {
	if err := os.WriteFile(path, []byte(strconv.FormatInt(next, 10)+"\n"), 0o644); err != nil {
		return fmt.Errorf("cannot write the state: %w", err)
	}
	return nil
}

// markerLine is the per-round latency note (empty without markers).
func markerLine(r roundResult) string {
	if r.Markers+r.MarkersLate == 0 {
		return ""
	}
	return fmt.Sprintf("  event p50 %.1f ms p99 %.1f ms (%d events, %d not seen within the wait)", r.P50MS, r.P99MS, r.Markers, r.MarkersLate)
}

// waitDrained polls until the stored-points counter grew by accepted since
// stored0 and (wharf, nsqdHTTP set) no message of a metrics.* topic is left
// unconsumed, or timeout. It returns the growth, the backlog last seen and
// whether both held.
func waitDrained(c *fasthttp.Client, target, metrics, storedMetric, nsqdHTTP string, stored0 float64, accepted int64, timeout time.Duration) (float64, int64, bool) {
	start := time.Now()
	var stored float64
	var backlog int64
	for {
		if s, err := counterSum(c, metrics, storedMetric); err == nil {
			stored = s - stored0
		}
		backlog = 0
		if target == "wharf" && nsqdHTTP != "" {
			var err error
			if backlog, err = nsqBacklog(c, nsqdHTTP, "metrics."); err != nil {
				backlog = -1
			}
		}
		if stored >= float64(accepted) && backlog == 0 {
			return stored, backlog, true
		}
		if time.Since(start) > timeout {
			return stored, backlog, false
		}
		time.Sleep(100 * time.Millisecond)
	}
}
