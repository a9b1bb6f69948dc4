package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/valyala/fasthttp"
)

// rssSampler records the peak resident set of a process (VmRSS from
// /proc/<pid>/status) every interval until stopped, and the peak of its
// anonymous part (RssAnon: heap, stacks; VmRSS also counts mapped file
// pages, which the kernel can drop and Wharf's mapped series files fill).
type rssSampler struct {
	pid      int
	stop     chan struct{}
	done     chan struct{}
	mu       sync.Mutex
	peak     int64 // KiB
	peakAnon int64 // KiB
}

func startRSS(pid int, every time.Duration) *rssSampler {
	s := &rssSampler{pid: pid, stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			kb, err1 := procStatusKB(pid, "VmRSS:")
			anon, err2 := procStatusKB(pid, "RssAnon:")
			if err1 == nil && err2 == nil {
				s.mu.Lock()
				s.peak, s.peakAnon = max(s.peak, kb), max(s.peakAnon, anon)
				s.mu.Unlock()
			}
			select {
			case <-s.stop:
				return
			case <-t.C:
			}
		}
	}()
	return s
}

// Stop ends the sampling and returns the peaks of VmRSS and RssAnon in KiB.
func (s *rssSampler) Stop() (rss, anon int64) {
	close(s.stop)
	<-s.done
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.peak, s.peakAnon
}

// procStatusKB reads one "Name:   123 kB" line of /proc/<pid>/status.
func procStatusKB(pid int, field string) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, fmt.Errorf("cannot read the status of pid %d: %w", pid, err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), field); ok {
			return strconv.ParseInt(strings.Fields(rest)[0], 10, 64)
		}
	}
	return 0, fmt.Errorf("no %s in the status of pid %d", field, pid)
}

// cpuSeconds is the user+system CPU time a process used so far, from
// /proc/<pid>/stat (fields 14 and 15, in clock ticks of 1/100 s on Linux).
func cpuSeconds(pid int) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("cannot read the stat of pid %d: %w", pid, err)
	}
	// The command name (field 2) may hold blanks: fields count after its ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("cannot parse the stat of pid %d", pid)
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, fmt.Errorf("cannot parse the stat of pid %d", pid)
	}
	ut, err1 := strconv.ParseFloat(f[11], 64)
	st, err2 := strconv.ParseFloat(f[12], 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("cannot parse the stat of pid %d", pid)
	}
	return (ut + st) / 100, nil
}

// counterSum scrapes a Prometheus text page and sums every sample of the
// metric named name (all label sets), e.g. wharf_monitor_series_points_total.
func counterSum(c *fasthttp.Client, url, name string) (float64, error) {
	page, err := get(c, url, 10*time.Second)
	if err != nil {
		return 0, err
	}
	var sum float64
	found := false
	for line := range strings.SplitSeq(string(page), "\n") {
		rest, ok := strings.CutPrefix(line, name)
		if !ok || (rest != "" && rest[0] != '{' && rest[0] != ' ') {
			continue
		}
		f := strings.Fields(rest)
		if i := strings.LastIndexByte(rest, '}'); i >= 0 {
			f = strings.Fields(rest[i+1:])
		}
		if len(f) == 0 {
			continue
		}
		v, err := strconv.ParseFloat(f[0], 64)
		if err != nil {
			continue
		}
		sum += v
		found = true
	}
	if !found {
		return 0, fmt.Errorf("no %s at %s", name, url)
	}
	return sum, nil
}

// counterWith is counterSum restricted to the samples whose labels contain
// label (e.g. result="accepted").
func counterWith(c *fasthttp.Client, url, name, label string) (float64, error) {
	page, err := get(c, url, 10*time.Second)
	if err != nil {
		return 0, err
	}
	var sum float64
	for line := range strings.SplitSeq(string(page), "\n") {
		if !strings.HasPrefix(line, name+"{") || !strings.Contains(line, label) {
			continue
		}
		f := strings.Fields(line[strings.LastIndexByte(line, '}')+1:])
		if len(f) > 0 {
			if v, err := strconv.ParseFloat(f[0], 64); err == nil {
				sum += v
			}
		}
	}
	return sum, nil
}

// nsqBacklog is the number of messages waiting or in flight on every
// channel of nsqd's topics whose name starts with prefix.
func nsqBacklog(c *fasthttp.Client, httpAddr, prefix string) (int64, error) {
	b, err := get(c, "http://"+httpAddr+"/stats?format=json", 10*time.Second)
	if err != nil {
		return 0, err
	}
	var st struct {
		Topics []struct {
			Name     string `json:"topic_name"`
			Channels []struct {
				Depth    int64 `json:"depth"`
				InFlight int64 `json:"in_flight_count"`
				Deferred int64 `json:"deferred_count"`
			} `json:"channels"`
		} `json:"topics"`
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return 0, fmt.Errorf("cannot decode nsqd's stats: %w", err)
	}
	var n int64
	for _, t := range st.Topics {
		if !strings.HasPrefix(t.Name, prefix) {
			continue
		}
		for _, ch := range t.Channels {
			n += ch.Depth + ch.InFlight + ch.Deferred
		}
	}
	return n, nil
}
