package judge

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"time"

	"github.com/VictoriaMetrics/metrics"

	"github.com/wharfhq/wharf/functions/monitor/wire"
	"github.com/wharfhq/wharf/internal/bus"
	"github.com/wharfhq/wharf/internal/store"
)

// Store keys of the judge, beside wire.StrategyPrefix.
const (
	// StatePrefix + <event id> holds the state of one series under one strategy.
	StatePrefix = "monitor/judge/state/"
	// LeasePrefix + <shard> is the lease (value: the holder's node ID, with a TTL).
	LeasePrefix = wire.JudgeLeasePrefix
	// MemberPrefix + <node id> announces a live judge (with a TTL); the
	// judges split the shards evenly between the members.
	MemberPrefix = wire.JudgeMemberPrefix
)

// Publisher publishes a batch of messages to a topic, returning once
// nsqd acknowledged them (bus.Producer).
type Publisher interface {
	MultiPublish(ctx context.Context, topic string, bodies [][]byte) error
}

// Options configure a Judge. Zero values get the defaults noted.
type Options struct {
	// Store keeps strategies, leases, members and the open problems.
	// Required.
	Store store.Store
	// StateStore keeps the states (StatePrefix), the judge's high-rate
	// writes. Default Store. serve gives the judge a store of its own
	// without change log or B-tree (store/logstore): nobody watches
	// states. States found in Store under StatePrefix are moved to it when
	// the judge starts.
	StateStore store.Store
	// Publisher publishes the alarm events to wire.AlarmsTopic. Required;
	// the judge does not close it. The judge's outbox is the state record
	// in the store: events are written there with the state that decided
	// them and cleared only after the publisher's nsqd acknowledged them,
	// so a judge that dies (its disk with it) loses none — whichever judge
	// holds the shard next publishes them.
	Publisher Publisher
	// NSQDAddrs or LookupdHTTPAddrs find the judge topics. One is required.
	NSQDAddrs, LookupdHTTPAddrs []string
	// Security secures the nsqd connections; nil: plain.
	Security *bus.Security
	// Shards is the total number of shards (the push side's). Default wire.DefaultShards.
	Shards int
	// NodeID names this judge in leases. Default hostname-pid.
	NodeID string
	// LeaseTTL is how long a lease outlives its holder; leases are renewed
	// every LeaseTTL/3. A dead judge's shards are taken over within about
	// LeaseTTL + LeaseTTL/3. Default 9s.
	LeaseTTL time.Duration
	// TickInterval is how often nodata strategies are ticked. Default 5s.
	TickInterval time.Duration
	// SweepInterval is how often the states of the held shards are swept
	// for events whose publishing failed and that no new point retried.
	// A shard taken from another judge is swept at once. Default 1m.
	SweepInterval time.Duration
	// MsgTimeout is how long nsqd waits for a batch's answer before
	// redelivering it: the batches a dead judge held come back this long
	// after they were delivered, in time for the judge that takes the
	// shard. Default 10s (nsqd's own default is 60s).
	MsgTimeout time.Duration
	// MaxInFlight is the number of batches a shard's consumer holds at
	// once; they are judged one at a time, in order, and held unanswered
	// until their states are flushed. Default 1024.
	MaxInFlight int
	// FlushInterval is how often the states of a shard judged since the
	// last flush are written to the store (write-behind, see shardCache);
	// their point batches are finished then. Default 2s; negative writes
	// every batch's states before finishing it (write-through).
	FlushInterval time.Duration
	// MaxHeld and MaxHeldPoints flush a shard early when this many batches
	// or points wait for a flush. Defaults MaxInFlight/2 and 200,000.
	MaxHeld, MaxHeldPoints int
	// MaxCachedStates bounds the states cached per shard; clean ones
	// beyond it are dropped after a flush. It also bounds the series (and
	// their strings) a shard's series index remembers: beyond it the
	// index starts afresh before the next batch. Default 250,000.
	MaxCachedStates int
	// Now is the judge's clock. Default time.Now.
	Now func() time.Time
	// Logger; nil discards.
	Logger *slog.Logger
	// Metrics gets the wharf_judge_* metrics and the shard consumers'
	// counters; nil: a private set.
	Metrics *metrics.Set
}

func (o *Options) setDefaults() error {
	if o.Store == nil {
		return errors.New("cannot create judge: Store is required")
	}
	if o.StateStore == nil {
		o.StateStore = o.Store
	}
	if o.Publisher == nil {
		return errors.New("cannot create judge: Publisher is required")
	}
	if o.Metrics == nil {
		o.Metrics = metrics.NewSet()
	}
	if o.MsgTimeout <= 0 {
		o.MsgTimeout = 10 * time.Second
	}
	if o.SweepInterval <= 0 {
		o.SweepInterval = time.Minute
	}
	if len(o.NSQDAddrs) == 0 && len(o.LookupdHTTPAddrs) == 0 {
		return errors.New("cannot create judge: NSQDAddrs or LookupdHTTPAddrs is required")
	}
	if o.Shards == 0 {
		o.Shards = wire.DefaultShards
	}
	if o.Shards < 1 || o.Shards > wire.MaxShards {
		return fmt.Errorf("cannot create judge: shards must be 1..%d, got %d", wire.MaxShards, o.Shards)
	}
	if o.NodeID == "" {
		host, _ := os.Hostname()
		o.NodeID = host + "-" + strconv.Itoa(os.Getpid())
	}
	if !store.ValidKey(MemberPrefix + o.NodeID) {
		return fmt.Errorf("cannot create judge: node ID %q is not a valid key part", o.NodeID)
	}
	if o.LeaseTTL == 0 {
		o.LeaseTTL = 9 * time.Second
	}
	if o.LeaseTTL < 30*time.Millisecond {
		return fmt.Errorf("cannot create judge: lease TTL %v is too short", o.LeaseTTL)
	}
	if o.TickInterval <= 0 {
		o.TickInterval = 5 * time.Second
	}
	if o.MaxInFlight <= 0 {
		o.MaxInFlight = 1024
	}
	if o.FlushInterval == 0 {
		o.FlushInterval = 2 * time.Second
	}
	if o.FlushInterval > 0 && o.FlushInterval >= o.MsgTimeout {
		return fmt.Errorf("cannot create judge: flush interval %v must be shorter than the message timeout %v", o.FlushInterval, o.MsgTimeout)
	}
	if o.MaxHeld <= 0 {
		o.MaxHeld = max(o.MaxInFlight/2, 1)
	}
	if o.MaxHeldPoints <= 0 {
		o.MaxHeldPoints = 200_000
	}
	if o.MaxCachedStates <= 0 {
		o.MaxCachedStates = 250_000
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return nil
}
