package monitor

import (
	"math"
	"testing"
	"time"
)

// A real nsqd 1.3.0 stats document (trimmed): shard topics with and
// without their channel, another shard count's topic, another component's.
const statsDoc = `{"version":"1.3.0","health":"OK","start_time":1,"topics":[
{"topic_name":"metrics.series.0","channels":[{"channel_name":"series","depth":10,"backend_depth":4,"in_flight_count":3,"deferred_count":2,"message_count":100,"requeue_count":0,"timeout_count":0,"client_count":1,"clients":null,"paused":false}],"depth":1,"backend_depth":0,"message_count":100,"message_bytes":5,"paused":false},
{"topic_name":"metrics.series.1","channels":[{"channel_name":"other","depth":50,"in_flight_count":0,"deferred_count":0,"message_count":50}],"depth":0,"message_count":50},
{"topic_name":"metrics.judge.1","channels":[],"depth":7,"backend_depth":0,"message_count":7},
{"topic_name":"metrics.judge.9","channels":[],"depth":1000,"message_count":1000},
{"topic_name":"metrics.judge.01","channels":[],"depth":1000,"message_count":1000},
{"topic_name":"deploy.host.a","channels":[],"depth":1000,"message_count":1000}],"producers":null}`

func TestParseNSQDStats(t *testing.T) {
	t.Parallel()
	s, err := parseNSQDStats([]byte(statsDoc), 2)
	if err != nil {
		t.Fatal(err)
	}
	// series: topic 1 + channel 10 waiting + 2 deferred (the 3 in flight
	// are not waiting); done 100-15 = 85 (another consumer's channel on
	// shard 1 does not count). judge: the 7 in a topic nothing subscribed
	// to (no judge in the cluster) do not count.
	if s.pending != [channelCount]int64{13, 0} || s.done != [channelCount]int64{85, 0} {
		t.Fatalf("sample %+v", s)
	}
	for _, bad := range []string{"", "[", `{"topics":"x"}`} {
		if _, err := parseNSQDStats([]byte(bad), 2); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func TestParseLookupdNodes(t *testing.T) {
	t.Parallel()
	doc := `{"producers":[
{"remote_address":"127.0.0.1:1","hostname":"a","broadcast_address":"10.0.0.1","tcp_port":4150,"http_port":4151,"version":"1.3.0","tombstones":[false],"topics":["metrics.judge.0"]},
{"broadcast_address":"10.0.0.2","tcp_port":4150,"http_port":4151,"topics":["deploy.events"]},
{"broadcast_address":"10.0.0.3","http_port":0,"topics":["metrics.series.0"]},
{"broadcast_address":"::1","http_port":4151,"topics":["deploy.events","metrics.series.1"]}]}`
	got, err := parseLookupdNodes([]byte(doc), 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0] != "10.0.0.1:4151" || got[1] != "[::1]:4151" {
		t.Fatalf("nodes %v", got)
	}
	wrapped, err := parseLookupdNodes([]byte(`{"status_code":200,"data":{"producers":[{"broadcast_address":"h","http_port":1,"topics":["metrics.series.0"]}]}}`), 1)
	if err != nil || len(wrapped) != 1 || wrapped[0] != "h:1" {
		t.Fatalf("wrapped: %v %v", wrapped, err)
	}
	if _, err := parseLookupdNodes([]byte("<html>"), 1); err == nil {
		t.Fatal("no error on HTML")
	}
}

// TestBacklogRetryAfter: the Retry-After is the time the drain rate needs
// to bring the backlog under the limit, the fallback when the channel
// does not drain, capped at two minutes.
func TestBacklogRetryAfter(t *testing.T) {
	t.Parallel()
	b, err := NewBacklog(BacklogOptions{NSQDHTTPAddrs: []string{"127.0.0.1:1"}, MaxPoints: 1000, RetryAfter: 9 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	b.published(0, 500, 5) // 100 points per message
	t0 := time.Unix(1000, 0)
	sample := func(pendingSeries, doneSeries, pendingJudge, doneJudge int64) backlogSample {
		return backlogSample{pending: [channelCount]int64{pendingSeries, pendingJudge}, done: [channelCount]int64{doneSeries, doneJudge}}
	}
	first := b.judge(sample(30, 0, 5, 0), t0)
	if first.worst != 3000 || first.worstChannel != "series" || first.retryAfter != "9" {
		t.Fatalf("first poll (no rate yet): %+v", first)
	}
	b.prev, b.prevAt, b.havePrev = sample(30, 0, 5, 0), t0, true
	// series drained 10 messages (1,000 points) in 2 s: 500 points/s,
	// 2,500 pending, 1,500 over the limit -> 3 s.
	st := b.judge(sample(25, 10, 5, 0), t0.Add(2*time.Second))
	if st.worst != 2500 || st.retryAfter != "3" {
		t.Fatalf("draining: %+v", st)
	}
	// a stalled channel over the limit gets the fallback
	st = b.judge(sample(30, 0, 40, 0), t0.Add(2*time.Second))
	if st.worstChannel != "judge" || st.retryAfter != "9" {
		t.Fatalf("stalled: %+v", st)
	}
	// a very slow drain is capped
	st = b.judge(sample(1000, 1, 5, 0), t0.Add(time.Second))
	if st.retryAfter != "120" {
		t.Fatalf("slow drain: %+v", st)
	}
	// under the limit: nothing to wait for
	if st := b.judge(sample(5, 0, 5, 0), t0.Add(time.Second)); st.worst != 500 || st.retryAfter != "1" {
		t.Fatalf("under the limit: %+v", st)
	}
}

// TestBacklogCountsAPointOncePerChannel: every point goes to the series
// and the judge channel; the points published since the last poll are
// the backlog of each channel, not their sum (which refused pushes at
// half the rate the consumers kept up with).
func TestBacklogCountsAPointOncePerChannel(t *testing.T) {
	t.Parallel()
	b, err := NewBacklog(BacklogOptions{NSQDHTTPAddrs: []string{"127.0.0.1:1"}, MaxPoints: 1000})
	if err != nil {
		t.Fatal(err)
	}
	b.state.Store(&backlogState{known: true, points: [channelCount]int64{100, 200}, worst: 200})
	b.published(0, 700, 7)
	b.published(1, 700, 7)
	if _, refuse := b.refuse(); refuse {
		t.Fatal("refused at 800 and 900 points per channel with a limit of 1000")
	}
	b.published(1, 101, 1)
	if _, refuse := b.refuse(); !refuse {
		t.Fatal("not refused at 1001 points on the judge channel")
	}
}

// TestBacklogEstimateFollowsRecentMessageSizes: after a quiet start of
// small messages, a burst published in big shared messages is estimated
// with the recent size, not the lifetime average (which put 3,810 waiting
// points at 45 and let pushes through).
func TestBacklogEstimateFollowsRecentMessageSizes(t *testing.T) {
	t.Parallel()
	b, err := NewBacklog(BacklogOptions{NSQDHTTPAddrs: []string{"127.0.0.1:1"}, MaxPoints: 1000})
	if err != nil {
		t.Fatal(err)
	}
	const judgeCh = 1
	for range 300 {
		b.published(judgeCh, 10, 1)
	}
	at := time.Now()
	if st := b.judge(backlogSample{}, at); st.points[judgeCh] != 0 {
		t.Fatalf("nothing pending estimated at %d", st.points[judgeCh])
	}
	b.published(judgeCh, 3810, 2) // a burst, in two shared messages
	var s backlogSample
	s.pending[judgeCh] = 2
	st := b.judge(s, at.Add(time.Second))
	if st.points[judgeCh] < 3810 {
		t.Fatalf("3,810 points in 2 pending messages estimated at %d", st.points[judgeCh])
	}
	// A poll with nothing new published keeps the recent size.
	if st := b.judge(s, at.Add(2*time.Second)); st.points[judgeCh] < 3810 {
		t.Fatalf("the next poll estimates %d", st.points[judgeCh])
	}
}

// TestPointsConsumersAlreadyTookAreNotBacklog: the points published since
// the last poll count as backlog only beyond what the consumers took in
// that time at the rate measured between polls (published minus the
// backlog's growth). Counting them all refused pushes at about 250,000
// points/s with nothing waiting (the poll interval's publishes alone
// passed the limit).
func TestPointsConsumersAlreadyTookAreNotBacklog(t *testing.T) {
	t.Parallel()
	b, err := NewBacklog(BacklogOptions{NSQDHTTPAddrs: []string{"127.0.0.1:1"}, MaxPoints: 10_000})
	if err != nil {
		t.Fatal(err)
	}
	const judgeCh = 1
	st := b.judge(backlogSample{}, time.Now())
	st.points[judgeCh] = 2_000 // not keeping up: fresh points count
	b.state.Store(st)
	b.prevPoints = st.points
	// 100,000 points published in a second, nothing left waiting: the
	// consumers took them at 100,000/s.
	var published [channelCount]int64
	published[judgeCh] = 100_000
	b.measureDelivery(st, published, time.Second)
	b.sinceAt.Store(time.Now().Add(-500 * time.Millisecond).UnixNano())
	b.since[judgeCh].Store(40_000) // at 80,000/s: taken as fast as published
	if _, refuse := b.refuse(); refuse {
		t.Fatal("refused with the 40,000 points published since the poll taken at 75,000/s or more")
	}
	b.since[judgeCh].Store(100_000) // at 200,000/s: ~60,000 waiting
	if _, refuse := b.refuse(); !refuse {
		t.Fatal("not refused with ~60,000 points waiting over a limit of 10,000")
	}
	// Consumers that stop taking: once the last polls' rates are all
	// theirs (the backlog grew by all that was published), every point
	// published counts.
	published[judgeCh] = 50_000
	grown := *st
	for range deliveryPolls {
		grown.points[judgeCh] += 50_000
		b.measureDelivery(&grown, published, time.Second)
		b.prevPoints = grown.points
	}
	if r := math.Float64frombits(b.delivered[judgeCh].Load()); r != 0 {
		t.Fatalf("delivery rate %.0f/s with consumers that took nothing", r)
	}
	b.since[judgeCh].Store(20_000)
	if _, refuse := b.refuse(); !refuse {
		t.Fatal("not refused with 20,000 fresh points and consumers that take nothing")
	}
}

// TestFreshPointsDoNotCountWhileConsumersKeepUp: a channel whose last poll
// showed (almost) nothing waiting is not refused for the points published
// since, however low the delivery rate measured in a lull before (it is
// the lull's publish rate, not what the consumers can take). Counting them
// refused pushes in a 60 s bench round with both channels empty (17 503s
// at once; the loaders' Retry-After then idled the machine for 2 s).
func TestFreshPointsDoNotCountWhileConsumersKeepUp(t *testing.T) {
	t.Parallel()
	b, err := NewBacklog(BacklogOptions{NSQDHTTPAddrs: []string{"127.0.0.1:1"}, MaxPoints: 10_000})
	if err != nil {
		t.Fatal(err)
	}
	const judgeCh = 1
	st := b.judge(backlogSample{}, time.Now())
	b.state.Store(st)
	b.prevPoints = st.points
	// A lull: 1,000 points/s published and taken.
	var published [channelCount]int64
	published[judgeCh] = 1_000
	for range deliveryPolls {
		b.measureDelivery(st, published, time.Second)
	}
	b.sinceAt.Store(time.Now().Add(-500 * time.Millisecond).UnixNano())
	b.since[judgeCh].Store(100_000) // the load is back
	if _, refuse := b.refuse(); refuse {
		t.Fatal("refused with nothing waiting at the last poll")
	}
	// The next poll shows points waiting: fresh points count again.
	st2 := *st
	st2.points[judgeCh] = 1_500
	b.state.Store(&st2)
	if _, refuse := b.refuse(); !refuse {
		t.Fatal("not refused with 1,500 points waiting, 100,000 published since and a delivery rate of 1,000/s")
	}
	// A polled backlog over the limit is refused whatever was published.
	st3 := *st
	st3.points[judgeCh] = 10_001
	b.state.Store(&st3)
	b.since[judgeCh].Store(0)
	if _, refuse := b.refuse(); !refuse {
		t.Fatal("not refused with 10,001 points waiting")
	}
}
