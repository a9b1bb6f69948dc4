package gateway_test

import (
	"bufio"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wharfhq/wharf/gateway/ratelimit/cluster"
)

// redisTimeline records, through MONITOR on its own connection, the Redis
// time (ms, as the decision script reads it with TIME) of every decision on
// one zone: the arrivals exactly as the cluster limiter saw them. The
// times the test's clients sent their requests differ from these by each
// request's trip to Redis, which on a loaded machine is neither small nor
// constant.
type redisTimeline struct {
	conn net.Conn
	done chan struct{}
	mu   sync.Mutex
	ms   []int64
	err  error
	mark string
	seen chan struct{}
}

// monitorZone starts recording the decisions on zone at addr.
func monitorZone(t *testing.T, addr, zone string) *redisTimeline {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatalf("cannot connect to redis for MONITOR: %v", err)
	}
	r := bufio.NewReaderSize(conn, 1<<16)
	if _, err := conn.Write([]byte("MONITOR\r\n")); err != nil {
		t.Fatalf("cannot start MONITOR: %v", err)
	}
	if line, err := r.ReadString('\n'); err != nil || !strings.HasPrefix(line, "+OK") {
		t.Fatalf("cannot start MONITOR: %q %v", line, err)
	}
	m := &redisTimeline{conn: conn, done: make(chan struct{}), mark: "wharf-window-end-" + strconv.FormatInt(time.Now().UnixNano(), 10), seen: make(chan struct{})}
	hmget := `[0 lua] "HMGET" "` + cluster.DefaultPrefix + strconv.Itoa(len(zone)) + ":" + zone + ":"
	go func() {
		defer close(m.done)
		var lastTime int64 = -1 // the script's TIME, until its HMGET of zone
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				m.mu.Lock()
				m.err = err
				m.mu.Unlock()
				return
			}
			ts, rest, ok := strings.Cut(strings.TrimPrefix(line, "+"), " ")
			if !ok {
				continue
			}
			switch {
			case strings.HasPrefix(rest, `[0 lua] "TIME"`):
				sec, usec, _ := strings.Cut(ts, ".")
				s, err1 := strconv.ParseInt(sec, 10, 64)
				u, err2 := strconv.ParseInt(usec, 10, 64)
				if err1 == nil && err2 == nil {
					lastTime = s*1000 + u/1000
				}
			case strings.HasPrefix(rest, hmget) && lastTime >= 0:
				m.mu.Lock()
				m.ms = append(m.ms, lastTime)
				m.mu.Unlock()
				lastTime = -1
			case strings.Contains(rest, m.mark):
				close(m.seen)
			}
		}
	}()
	t.Cleanup(func() { _ = conn.Close(); <-m.done })
	return m
}

// stop waits until every command Redis ran before now has been recorded
// (a marker command is sent through client and awaited in the stream),
// then stops recording and returns the decision times.
func (m *redisTimeline) stop(t *testing.T, addr string) []int64 {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatalf("cannot connect to redis: %v", err)
	}
	defer c.Close()
	if _, err := c.Write([]byte("ECHO " + m.mark + "\r\n")); err != nil {
		t.Fatalf("cannot send the MONITOR marker: %v", err)
	}
	select {
	case <-m.seen:
	case <-m.done:
		t.Fatalf("MONITOR ended before the marker: %v", m.err)
	case <-time.After(30 * time.Second):
		t.Fatal("MONITOR did not show the marker within 30 s")
	}
	_ = m.conn.Close()
	<-m.done
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]int64(nil), m.ms...)
}
