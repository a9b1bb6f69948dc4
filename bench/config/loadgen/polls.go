package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// pollsResult is what `loadgen polls` prints.
type pollsResult struct {
	Client       string  `json:"client"`
	Polls        int     `json:"polls"`
	Held         int     `json:"held"`
	Answered     int     `json:"answered"`
	Failed       int     `json:"failed"`
	PublishMS    float64 `json:"publish_ms"`
	P50MS        float64 `json:"p50_ms"`
	P99MS        float64 `json:"p99_ms"`
	MaxMS        float64 `json:"max_ms"`
	RSSBeforeKiB int64   `json:"rss_before_kib"`
	RSSHeldKiB   int64   `json:"rss_held_kib"`
	BytesPerPoll float64 `json:"bytes_per_poll"`
	// ServerCPUMS is the CPU time (user + system) the server spent from
	// the publish to the last answer: what answering cost it, whatever
	// else ran on the machine. ServerCPUUSPerPoll is it per answered poll.
	ServerCPUMS        float64 `json:"server_cpu_ms"`
	ServerCPUUSPerPoll float64 `json:"server_cpu_us_per_poll"`
	FirstError         string  `json:"first_error,omitempty"`
}

func runPolls(args []string) error {
	fs := flag.NewFlagSet("polls", flag.ContinueOnError)
	server := fs.String("server", "", "config service base URL (e.g. the gateway)")
	token := fs.String("token", "", "bearer token that may read the app")
	app := fs.String("app", "bench", "app id")
	cluster := fs.String("cluster", "default", "cluster")
	ns := fs.String("ns", "application", "namespace")
	n := fs.Int("n", 10000, "long polls to hold")
	publishURL := fs.String("publish-url", "", "POST here (with -publish-token) to publish")
	publishToken := fs.String("publish-token", "", "token of the publish")
	publishBody := fs.String("publish-body", `{"comment":"bench"}`, "body of the publish")
	setURL := fs.String("set-url", "", "PUT {\"value\": <unique>} here before the publish (a change to publish)")
	pid := fs.Int("pid", 0, "the server's pid, for its RSS (0: not measured)")
	settle := fs.Duration("settle", 2*time.Second, "wait after every poll was sent, for the server to hold them")
	timeout := fs.Duration("timeout", 30*time.Second, "bound on the wait for every answer")
	profileURL := fs.String("profile-url", "", "the server's /debug/pprof/profile URL: a 1 s CPU profile from just before the publish (the answering alone)")
	profileOut := fs.String("profile-out", "", "where -profile-url's profile goes")
	clientKind := fs.String("client", "raw", "raw: one goroutine and socket per poll, a prepared request (a client on its own machine costs the server's host nothing more); http: net/http's client")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *server == "" || *publishURL == "" {
		return errors.New("-server and -publish-url are required")
	}
	client := &http.Client{Transport: &http.Transport{
		Proxy: nil, MaxIdleConns: *n + 10, MaxIdleConnsPerHost: *n + 10,
		DialContext: (&net.Dialer{Timeout: 10 * time.Second}).DialContext,
	}}
	id, err := currentID(client, *server, *token, *app, *cluster, *ns)
	if err != nil {
		return err
	}
	rssBefore := rss(*pid)
	pollURL := *server + "/notifications/v2?" + url.Values{
		"appId": {*app}, "cluster": {*cluster},
		"notifications": {fmt.Sprintf(`[{"namespaceName":%q,"notificationId":%d}]`, *ns, id)},
	}.Encode()

	var raw *rawPoller
	switch *clientKind {
	case "raw":
		if raw, err = newRawPoller(pollURL, *token); err != nil {
			return err
		}
	case "http":
	default:
		return fmt.Errorf("-client %q: want raw or http", *clientKind)
	}
	var sent, failed atomic.Int64
	var firstErr atomic.Value
	answers := make([]time.Time, *n)
	var wg sync.WaitGroup
	ctx, cancel := context.WithTimeout(context.Background(), *timeout+2*time.Minute)
	defer cancel()
	for i := range *n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var first time.Time
			var status int
			var err error
			if raw != nil {
				status, first, err = raw.poll(ctx, func() { sent.Add(1) })
			} else {
				status, err = get(ctx, client, pollURL, *token, func() { sent.Add(1) }, func() { first = time.Now() })
			}
			if err == nil && status != http.StatusOK {
				err = fmt.Errorf("poll answered %d", status)
			}
			if err != nil {
				failed.Add(1)
				firstErr.CompareAndSwap(nil, err.Error())
				return
			}
			answers[i] = first // the answer's first byte: the client's own parsing is not the server's latency
		}()
	}
	deadline := time.Now().Add(2 * time.Minute)
	for sent.Load()+failed.Load() < int64(*n) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(*settle)
	held := int(sent.Load() - failed.Load())
	rssHeld := rss(*pid)

	if *setURL != "" {
		body := fmt.Sprintf(`{"value":%q}`, strconv.FormatInt(time.Now().UnixNano(), 10))
		if err := call(client, http.MethodPut, *setURL, *publishToken, body); err != nil {
			return fmt.Errorf("cannot set the item to publish: %w", err)
		}
	}
	profDone := make(chan error, 1)
	if *profileURL != "" {
		go func() { profDone <- fetchProfile(*profileURL+"?seconds=1", *profileOut) }()
		time.Sleep(100 * time.Millisecond) // the profile has begun
	} else {
		profDone <- nil
	}
	cpu0 := cpuTime(*pid)
	t0 := time.Now()
	if err := call(client, http.MethodPost, *publishURL, *publishToken, *publishBody); err != nil {
		return fmt.Errorf("cannot publish: %w", err)
	}
	publish := time.Since(t0)
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(*timeout):
		cancel()
		<-done
	}
	cpu := cpuTime(*pid) - cpu0
	if err := <-profDone; err != nil {
		return err
	}
	var lat []time.Duration
	for _, at := range answers {
		if !at.IsZero() {
			lat = append(lat, max(at.Sub(t0), 0))
		}
	}
	res := pollsResult{Client: *clientKind, Polls: *n, Held: held, Answered: len(lat), Failed: int(failed.Load()),
		PublishMS: ms(publish), P50MS: ms(percentile(lat, 50)), P99MS: ms(percentile(lat, 99)), MaxMS: ms(percentile(lat, 100)),
		RSSBeforeKiB: rssBefore, RSSHeldKiB: rssHeld}
	if s, ok := firstErr.Load().(string); ok {
		res.FirstError = s
	}
	if *pid > 0 {
		res.ServerCPUMS = ms(cpu)
		if len(lat) > 0 {
			res.ServerCPUUSPerPoll = float64(cpu.Microseconds()) / float64(len(lat))
		}
	}
	if held > 0 && rssBefore > 0 {
		res.BytesPerPoll = float64((rssHeld-rssBefore)*1024) / float64(held)
	}
	return emit(res)
}

// currentID asks with notification id -1, which is answered at once with
// the namespace's current id.
func currentID(client *http.Client, server, token, app, cluster, ns string) (int64, error) {
	u := server + "/notifications/v2?" + url.Values{
		"appId": {app}, "cluster": {cluster},
		"notifications": {fmt.Sprintf(`[{"namespaceName":%q,"notificationId":-1}]`, ns)},
	}.Encode()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := client.Do(req)
	if err != nil {
		return 0, fmt.Errorf("cannot read the current notification id: %w", err)
	}
	defer resp.Body.Close()
	var out []struct {
		NotificationID int64 `json:"notificationId"`
	}
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return 0, fmt.Errorf("cannot read the current notification id: %d %s (publish the namespace once first)", resp.StatusCode, b)
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || len(out) != 1 {
		return 0, fmt.Errorf("cannot read the current notification id: %v", err)
	}
	return out[0].NotificationID, nil
}

// get sends one GET and reads its answer; wrote is called once the
// request is on the wire, first when the answer's first byte arrives.
func get(ctx context.Context, client *http.Client, u, token string, wrote, first func()) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req = req.WithContext(withTrace(req.Context(), wrote, first))
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, nil
}

// call sends a JSON request and wants a 2xx.
func call(client *http.Client, method, u, token, body string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, u, strings.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: %d %s", method, u, resp.StatusCode, b)
	}
	return nil
}

// fetchProfile saves the answer of a pprof URL to out.
func fetchProfile(u, out string) error {
	resp, err := http.Get(u)
	if err != nil {
		return fmt.Errorf("cannot take the profile: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("cannot take the profile: %s", resp.Status)
	}
	f, err := os.Create(out)
	if err != nil {
		return fmt.Errorf("cannot save the profile: %w", err)
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return fmt.Errorf("cannot save the profile: %w", err)
	}
	return f.Close()
}

// cpuTime is the CPU time (user + system) pid has used (0 when pid is 0
// or unreadable): fields 14 and 15 of /proc/<pid>/stat, in clock ticks
// of 10 ms (USER_HZ is 100 on Linux).
func cpuTime(pid int) time.Duration {
	if pid <= 0 {
		return 0
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	// The command name (field 2) may hold spaces: count from its ')'.
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0
	}
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(utime+stime) * 10 * time.Millisecond
}

// rss is the resident set of pid in KiB (0 when pid is 0 or unreadable).
func rss(pid int) int64 {
	if pid <= 0 {
		return 0
	}
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kib, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kib
		}
	}
	return 0
}
