package config_test

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"runtime"
	"sort"
	"sync"
	"testing"
	"time"
)

// BenchmarkHeldPollsOverHTTP: polls held over real loopback connections
// through the gateway (2 file descriptors each in this one process, so
// 3,000 of them), one publish; reports the answer latencies and the
// memory (heap and stacks, both ends) per held poll.
func BenchmarkHeldPollsOverHTTP(b *testing.B) {
	const polls = 3000
	s := newServer(b)
	s.setItems(b, "default", "application", "a", "0")
	for range b.N {
		s.publish(b, "default", "application", "")
		id := settledID(b, s, "team", "shop", "application")
		req := "GET " + pollQuery("shop", "default", map[string]int64{"application": id}) + " HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + s.tokens["team"] + "\r\n\r\n"
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		conns := make([]net.Conn, polls)
		for i := range conns {
			c, err := net.Dial("tcp", s.addr)
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			if _, err := c.Write([]byte(req)); err != nil {
				b.Fatal(err)
			}
			conns[i] = c
		}
		for s.fn.HeldPolls() < polls {
			runtime.Gosched()
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		perPoll := float64((after.HeapInuse+after.StackInuse)-(before.HeapInuse+before.StackInuse)) / polls
		lat := make([]time.Duration, polls)
		var wg sync.WaitGroup
		start := time.Now()
		for i, c := range conns {
			wg.Add(1)
			go func() {
				defer wg.Done()
				resp, err := http.ReadResponse(bufio.NewReader(c), nil)
				if err != nil || resp.StatusCode != 200 {
					panic(fmt.Sprintf("poll %d: %v %v", i, resp, err))
				}
				lat[i] = time.Since(start)
			}()
		}
		s.publish(b, "default", "application", "")
		wg.Wait()
		sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
		b.ReportMetric(float64(lat[polls/2].Microseconds())/1000, "p50-ms")
		b.ReportMetric(float64(lat[polls*99/100].Microseconds())/1000, "p99-ms")
		b.ReportMetric(perPoll, "bytes/held-poll")
		for _, c := range conns {
			_ = c.Close()
		}
	}
}
