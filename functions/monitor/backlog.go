package monitor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"slices"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/VictoriaMetrics/metrics"

	"github.com/wharfhq/wharf/functions/monitor/wire"
	"github.com/wharfhq/wharf/internal/httperr"
)

// BacklogOptions configure the backlog watch of the monitor function.
type BacklogOptions struct {
	// NSQDHTTPAddrs are nsqd HTTP API addresses (host:port) whose stats
	// are read. Used when LookupdHTTPAddrs is empty.
	NSQDHTTPAddrs []string
	// LookupdHTTPAddrs are nsqlookupd HTTP addresses; the nsqds that have a
	// shard topic are found through their /nodes on every poll.
	LookupdHTTPAddrs []string
	// Shards is the number of shards, as in Options. Default wire.DefaultShards.
	Shards int
	// MaxPoints is the backlog of one consumer channel (series or judge,
	// summed over shards and nsqds) beyond which pushes get 503. Required.
	MaxPoints int64
	// Interval is the time between two polls. Default 250ms: the points
	// published between two polls count as backlog until the next one
	// shows what the consumers took, so a long interval refuses pushes
	// the consumers would keep up with.
	Interval time.Duration
	// Timeout bounds one poll (lookup and every stats read). Default 2s.
	Timeout time.Duration
	// RetryAfter is the Retry-After of a refusal when the drain rate is
	// unknown (a stalled consumer, the first poll). Default 5s.
	RetryAfter time.Duration
	// Logger; nil discards.
	Logger *slog.Logger
	// Metrics gets wharf_monitor_backlog_*; nil: a private set.
	Metrics *metrics.Set
}

// maxRetryAfter caps a Retry-After computed from the drain rate.
const maxRetryAfter = 120 * time.Second

// Backlog watches how far the consumers of the points (the series writer
// and the judge) are behind, by polling nsqd's stats in the background,
// and tells the push handlers to refuse while a channel's backlog exceeds
// MaxPoints. When no stats can be read it lets every push through (fail
// open) and says so once in the log.
//
// nsqd counts messages; a message is one batch of points, so the backlog
// in points is estimated with the points per message this process
// published (one per message until it has published any).
type Backlog struct {
	opts   BacklogOptions
	client *http.Client
	log    *slog.Logger
	state  atomic.Pointer[backlogState]
	// since counts the points published to each consumer channel since
	// the last poll started: nsqd's stats do not show them yet. Per
	// channel, because every point goes to both: one sum counted each
	// point twice and refused pushes at half the rate the consumers kept up with.
	since [channelCount]atomic.Int64
	// sinceAt is when since was last reset (Unix nanoseconds); delivered
	// is each channel's rate (points/s, float64 bits) at which published
	// points left nsqd's queue for a consumer: the highest of the last
	// deliveryPolls polls' (publishes come in rounds, so one poll interval
	// can see few). The points published since the last poll that a
	// consumer already took are not backlog (counting them all refused
	// pushes at about 250,000 points/s with nothing waiting).
	sinceAt   atomic.Int64
	delivered [channelCount]atomic.Uint64
	// prevPoints is the last state's backlog per channel and prevReset
	// when since was reset before it (the poll loop's own).
	prevPoints [channelCount]int64
	prevReset  time.Time
	rates      [channelCount][deliveryPolls]float64
	rateAt     int
	// pubPoints and pubMessages give the points per message.
	pubPoints, pubMessages atomic.Int64
	// seenPoints and seenMessages are pubPoints and pubMessages at the
	// previous poll, recentPPM the points per message published between
	// the last two polls that published any (the poll loop's own).
	seenPoints, seenMessages int64
	recentPPM                float64
	errs                     *metrics.Counter
	// prev is the last good sample and when it was taken (the poll loop's own).
	prev     backlogSample
	prevAt   time.Time
	havePrev bool
	failing  bool
}

// backlogState is the outcome of one poll, swapped whole.
type backlogState struct {
	// known is false when no stats could be read: nothing is refused.
	known bool
	// points is the estimated backlog of each channel, worst the largest.
	points [channelCount]int64
	worst  int64
	// worstChannel names the channel of worst.
	worstChannel string
	// retryAfter is the Retry-After of a refusal, in whole seconds.
	retryAfter string
}

// NewBacklog checks opts and returns the watch; Run polls.
func NewBacklog(opts BacklogOptions) (*Backlog, error) {
	if len(opts.NSQDHTTPAddrs) == 0 && len(opts.LookupdHTTPAddrs) == 0 {
		return nil, errors.New("cannot create backlog watch: need nsqd HTTP or nsqlookupd addresses")
	}
	if opts.MaxPoints <= 0 {
		return nil, fmt.Errorf("cannot create backlog watch: max points must be positive, got %d", opts.MaxPoints)
	}
	if opts.Shards == 0 {
		opts.Shards = wire.DefaultShards
	}
	if opts.Shards < 1 || opts.Shards > wire.MaxShards {
		return nil, fmt.Errorf("cannot create backlog watch: shards must be 1..%d, got %d", wire.MaxShards, opts.Shards)
	}
	if opts.Interval <= 0 {
		opts.Interval = 250 * time.Millisecond
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 2 * time.Second
	}
	if opts.RetryAfter <= 0 {
		opts.RetryAfter = 5 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Metrics == nil {
		opts.Metrics = metrics.NewSet()
	}
	b := &Backlog{opts: opts, client: &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}, log: opts.Logger,
		errs: opts.Metrics.GetOrCreateCounter("wharf_monitor_backlog_stats_errors_total")}
	for i := range channelCount {
		_, channel := backlogChannel(i)
		opts.Metrics.GetOrCreateGauge(`wharf_monitor_backlog_points{channel="`+channel+`"}`, func() float64 {
			if st := b.state.Load(); st != nil {
				return float64(st.points[i])
			}
			return 0
		})
	}
	return b, nil
}

// Run polls until ctx ends.
func (b *Backlog) Run(ctx context.Context) error {
	// The stats connections are the watch's own: none outlives it.
	defer b.client.CloseIdleConnections()
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		b.poll(ctx)
		t.Reset(b.opts.Interval)
	}
}

// refuse reports whether a push of n points must be refused and the
// state that says so. Nil-safe: no watch refuses nothing.
func (b *Backlog) refuse() (*backlogState, bool) {
	if b == nil {
		return nil, false
	}
	st := b.state.Load()
	if st == nil || !st.known {
		return st, false
	}
	elapsed := time.Duration(time.Now().UnixNano() - b.sinceAt.Load()).Seconds()
	for i := range channelCount {
		if st.points[i] > b.opts.MaxPoints {
			return st, true
		}
		if st.points[i] <= b.opts.MaxPoints/keepingUp {
			// The consumers kept up at the last poll: what was
			// published since flows through an empty queue. The
			// delivery rate cannot say so: after a lull it is the
			// lull's publish rate, not what the consumers can take,
			// and counting the points beyond it refused pushes with
			// nothing waiting (and the loaders' Retry-After made the
			// next lull). A channel that stops draining shows at the
			// next poll: the bound is overshot by at most one poll
			// interval's publishes.
			continue
		}
		fresh := float64(b.since[i].Load()) - math.Float64frombits(b.delivered[i].Load())*elapsed
		if st.points[i]+max(0, int64(fresh)) > b.opts.MaxPoints {
			return st, true
		}
	}
	return st, false
}

// keepingUp: a channel whose last polled backlog is at most
// MaxPoints/keepingUp is keeping up; the points published since that poll
// do not count against it (refuse).
const keepingUp = 10

// published records a successful MPUB of points in messages to consumer
// channel ch (backlogChannel). Nil-safe.
func (b *Backlog) published(ch, points, messages int) {
	if b == nil {
		return
	}
	b.since[ch].Add(int64(points))
	b.pubPoints.Add(int64(points))
	b.pubMessages.Add(int64(messages))
}

// pointsPerMessage is the points per message of the backlog's estimate:
// the larger of the average since the process started and the average of
// the latest polls that saw messages published. Concurrent pushes share
// messages, so their size follows the load; the backlog that builds under
// load is made of the big recent ones, which the lifetime average of a
// quiet start would undercount. Called by the poll loop only.
func (b *Backlog) pointsPerMessage() float64 {
	points, messages := b.pubPoints.Load(), b.pubMessages.Load()
	if dm := messages - b.seenMessages; dm > 0 {
		b.recentPPM = float64(points-b.seenPoints) / float64(dm)
	}
	b.seenPoints, b.seenMessages = points, messages
	if messages == 0 {
		return 1
	}
	return max(float64(points)/float64(messages), b.recentPPM)
}

// poll reads the stats once and publishes the new state.
func (b *Backlog) poll(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, b.opts.Timeout)
	defer cancel()
	at := time.Now()
	var published [channelCount]int64
	for i := range b.since {
		published[i] = b.since[i].Swap(0) // what was published before now is in the stats read next
	}
	b.sinceAt.Store(at.UnixNano())
	reset, prevReset := at, b.prevReset
	b.prevReset = reset
	s, err := b.read(ctx)
	if err != nil && ctx.Err() != nil && errors.Is(context.Cause(ctx), context.Canceled) {
		return // shutting down
	}
	if err != nil {
		b.errs.Inc()
		if !b.failing {
			b.log.Warn("cannot read the nsqd stats: pushes are accepted without a backlog check until they can be read", "err", err)
			b.failing = true
		}
		b.havePrev = false
		b.state.Store(&backlogState{retryAfter: b.seconds(b.opts.RetryAfter)})
		return
	}
	if b.failing {
		b.log.Info("nsqd stats readable again: the backlog check is back")
		b.failing = false
	}
	st := b.judge(s, at)
	b.state.Store(st)
	if b.havePrev {
		b.measureDelivery(st, published, reset.Sub(prevReset))
	}
	b.prevPoints = st.points
	b.prev, b.prevAt, b.havePrev = s, at, true
}

// measureDelivery records each channel's delivery rate over the dt between
// the last two resets, from the points published in it and the backlog's
// growth between the samples read right after them (published − growth
// left the queue for a consumer).
func (b *Backlog) measureDelivery(st *backlogState, published [channelCount]int64, dt time.Duration) {
	if dt <= 0 {
		return
	}
	b.rateAt = (b.rateAt + 1) % deliveryPolls
	for i := range channelCount {
		b.rates[i][b.rateAt] = max(0, float64(published[i]-(st.points[i]-b.prevPoints[i]))/dt.Seconds())
		b.delivered[i].Store(math.Float64bits(slices.Max(b.rates[i][:])))
	}
}

// deliveryPolls is how many polls' delivery rates the backlog takes the
// highest of (about a second at the default interval).
const deliveryPolls = 4

// judge turns a sample into the state, with the Retry-After from the drain
// rate since the previous sample.
func (b *Backlog) judge(s backlogSample, at time.Time) *backlogState {
	ppm := b.pointsPerMessage()
	st := &backlogState{known: true}
	var wait time.Duration
	for i := range channelCount {
		pts := int64(float64(s.pending[i]) * ppm)
		st.points[i] = pts
		if pts >= st.worst {
			_, st.worstChannel = backlogChannel(i)
			st.worst = pts
		}
		if pts <= b.opts.MaxPoints {
			continue
		}
		w := b.opts.RetryAfter
		if dt := at.Sub(b.prevAt).Seconds(); b.havePrev && dt > 0 {
			if rate := float64(s.done[i]-b.prev.done[i]) * ppm / dt; rate > 0 {
				w = time.Duration(float64(pts-b.opts.MaxPoints) / rate * float64(time.Second))
			}
		}
		wait = max(wait, w)
	}
	st.retryAfter = b.seconds(min(wait, maxRetryAfter))
	return st
}

// seconds renders d as a Retry-After, rounded up, at least 1.
func (b *Backlog) seconds(d time.Duration) string {
	return strconv.FormatInt(max(1, int64((d+time.Second-1)/time.Second)), 10)
}

// read sums the stats of every nsqd that has the shard topics.
func (b *Backlog) read(ctx context.Context) (backlogSample, error) {
	var sum backlogSample
	addrs := b.opts.NSQDHTTPAddrs
	if len(b.opts.LookupdHTTPAddrs) > 0 {
		var err error
		if addrs, err = b.lookup(ctx); err != nil {
			return sum, err
		}
	}
	var errs []error
	for _, addr := range addrs {
		body, err := b.get(ctx, addr, "/stats?format=json&include_clients=false&include_mem=false")
		if err == nil {
			var s backlogSample
			if s, err = parseNSQDStats(body, b.opts.Shards); err == nil {
				sum.add(s)
				continue
			}
		}
		errs = append(errs, fmt.Errorf("nsqd %s: %w", addr, err))
	}
	// One nsqd whose stats cannot be read makes the whole sample unknown:
	// a partial sum would hide its backlog and fake a drain on the next
	// good poll.
	return sum, errors.Join(errs...)
}

// lookup asks every nsqlookupd for the nsqds of the shard topics; one
// lookupd answering is enough.
func (b *Backlog) lookup(ctx context.Context) ([]string, error) {
	var out []string
	var errs []error
	answered := false
	for _, addr := range b.opts.LookupdHTTPAddrs {
		body, err := b.get(ctx, addr, "/nodes")
		if err == nil {
			var nodes []string
			if nodes, err = parseLookupdNodes(body, b.opts.Shards); err == nil {
				answered = true
				out = append(out, nodes...)
				continue
			}
		}
		errs = append(errs, fmt.Errorf("nsqlookupd %s: %w", addr, err))
	}
	if !answered {
		return nil, errors.Join(errs...)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// get fetches one stats document (at most 16 MiB).
func (b *Backlog) get(ctx context.Context, addr, path string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+path, nil)
	if err != nil {
		return nil, fmt.Errorf("cannot build the request: %w", err)
	}
	req.Header.Set("Accept", "application/vnd.nsq; version=1.0")
	resp, err := b.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("cannot get %s: %w", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return nil, fmt.Errorf("cannot read %s: %w", path, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("cannot get %s: status %d", path, resp.StatusCode)
	}
	return body, nil
}

// refuseBacklog answers a push refused because the consumers are behind.
func (f *Function) refuseBacklog(st *backlogState) error {
	f.stats.rejectedBacklog.Inc()
	he := httperr.Unavailable(nil, "the metric consumers are behind: about %d points wait on channel %s (monitoring.max_backlog: %d); nothing of this push was stored, retry after %ss",
		st.worst, st.worstChannel, f.opts.Backlog.opts.MaxPoints, st.retryAfter)
	he.Headers = map[string]string{"Retry-After": st.retryAfter}
	return he
}
