package config

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// MonitoringOptions configures metric ingest and the series store
// (functions/monitor). The defaults need nothing external.
type MonitoringOptions struct {
	MinStep    time.Duration `yaml:"min_step" help:"smallest step of a series; a pushed step below it is raised to it (Falcon: 30s)"`
	Shards     int           `yaml:"shards" help:"number of metric shards (ring members shard-0..N-1, one NSQ topic pair and one series store each); every node must agree"`
	Replicas   int           `yaml:"replicas" help:"virtual points per shard on the consistent-hash ring (Falcon: 500)"`
	MaxQueued  int           `yaml:"max_queued" help:"valid points of pushes in progress at most; a push beyond it gets 503 with Retry-After"`
	RetryAfter time.Duration `yaml:"retry_after" help:"Retry-After of a push refused with 503 (for a backlog refusal: when the drain rate is unknown)"`
	MaxBacklog int           `yaml:"max_backlog" help:"points waiting in nsqd for the series writer or the judge (per consumer channel, over all shards) beyond which pushes get 503 with Retry-After; 0 turns the check off"`
	// BatchFormat is parsed by monitoring/metric.ParseBatchFormat.
	BatchFormat string `yaml:"batch_format" help:"layout of the point batches the ingest publishes to NSQ: binary (version 2, about a third of the bytes) or json (version 1: only while consumers older than version 2 still run, during a rolling upgrade); consumers read both"`
	MaxSeries   int    `yaml:"max_series" help:"most series the node stores, over all its shards (0: no bound); points of further new series are refused and counted (a series takes about 70 KiB on disk)"`
	SeriesDir   string `yaml:"series_dir" help:"serve and functions: where the series stores live (default <data-dir>/series)"`
	// SeriesSyncInterval is the series writer's group fsync
	// (monitor.WriterOptions.SyncInterval).
	SeriesSyncInterval time.Duration `yaml:"series_sync_interval" help:"serve and functions: each shard's series write-ahead log is fsynced at most this often and the batches written meanwhile are acknowledged to NSQ after it (nothing acknowledged is lost in a crash); 0: after every group commit; at most 1s"`
	// AdvertiseURL is where other nodes reach this functions node's
	// gateway to ask it for the series of the shards it stores.
	AdvertiseURL string `yaml:"advertise_url" help:"functions role: base URL other nodes forward series queries to (default: the gateway's listen address, 127.0.0.1 when it listens on every interface)"`
	// MinFreeDisk is parsed by ParseFreeDisk.
	MinFreeDisk string `yaml:"min_free_disk" help:"least free space kept on the series dir's filesystem, a size (1GiB) or a percentage (5%), 0 for none; below it series writes pause (points wait in NSQ) until space returns"`
	// FeedServer and FeedTokenFile let a process without the monitor in it
	// (the gateway and agent roles) push its own metrics over HTTP.
	FeedServer    string `yaml:"feed_server" help:"gateway and agent roles: base URL their own metrics are pushed to (POST /api/v1/metrics/push; agent default: agent.server); serve feeds in-process"`
	FeedTokenFile string `yaml:"feed_token_file" help:"gateway and agent roles: file holding an ingest-scope token for feed_server; empty: the role does not feed its metrics"`
}

// DefaultMaxBacklog is monitoring.max_backlog's default: two to three
// seconds of what serve stores and judges on 2 cores (70,000-120,000
// points/s, bench/monitoring), so that a point waits about that long at
// most before it is judged, and some 10 MB of queued batches per channel
// in nsqd.
const DefaultMaxBacklog = 200_000

// DefaultSeriesSyncInterval is monitoring.series_sync_interval's default:
// the fsyncs of the series logs fall from several hundred a second (one
// per group commit and shard) to 20 per shard, at 50 ms more latency of
// a batch's acknowledgment (bench/monitoring).
const DefaultSeriesSyncInterval = 50 * time.Millisecond

// MaxSeriesSyncInterval bounds monitoring.series_sync_interval: a batch
// waits this long for its acknowledgment at most, well within the issue's
// "a crash loses at most the last second".
const MaxSeriesSyncInterval = time.Second

// MaxMonitoringShards bounds monitoring.shards.
const MaxMonitoringShards = 1024

func defaultMonitoring() MonitoringOptions {
	return MonitoringOptions{MinStep: 30 * time.Second, Shards: 8, Replicas: 500, MaxQueued: 1_000_000, RetryAfter: 5 * time.Second, MaxBacklog: DefaultMaxBacklog, MaxSeries: 200_000,
		MinFreeDisk: DefaultMinFreeDisk, BatchFormat: "binary", SeriesSyncInterval: DefaultSeriesSyncInterval}
}

func (m MonitoringOptions) validate() error {
	var errs []error
	if m.MinStep < time.Second || m.MinStep%time.Second != 0 {
		errs = append(errs, fmt.Errorf("monitoring.min_step must be whole seconds, at least 1s, got %s", m.MinStep))
	}
	if m.Shards < 1 || m.Shards > MaxMonitoringShards {
		errs = append(errs, fmt.Errorf("monitoring.shards must be 1..%d, got %d", MaxMonitoringShards, m.Shards))
	}
	if m.Replicas < 1 || m.Replicas > 10000 {
		errs = append(errs, fmt.Errorf("monitoring.replicas must be 1..10000, got %d", m.Replicas))
	}
	if m.MaxQueued < 1 {
		errs = append(errs, fmt.Errorf("monitoring.max_queued must be positive, got %d", m.MaxQueued))
	}
	if m.MaxBacklog < 0 {
		errs = append(errs, fmt.Errorf("monitoring.max_backlog must be 0 (off) or positive, got %d", m.MaxBacklog))
	}
	if m.BatchFormat != "binary" && m.BatchFormat != "json" {
		errs = append(errs, fmt.Errorf("monitoring.batch_format must be binary or json, got %q", m.BatchFormat))
	}
	if m.MaxSeries < 0 {
		errs = append(errs, fmt.Errorf("monitoring.max_series must be 0 (no bound) or positive, got %d", m.MaxSeries))
	}
	if m.SeriesSyncInterval < 0 || m.SeriesSyncInterval > MaxSeriesSyncInterval {
		errs = append(errs, fmt.Errorf("monitoring.series_sync_interval must be 0 (after every group commit) to %s, got %s", MaxSeriesSyncInterval, m.SeriesSyncInterval))
	}
	if _, _, err := ParseFreeDisk(m.MinFreeDisk); err != nil {
		errs = append(errs, fmt.Errorf("monitoring.min_free_disk: %w", err))
	}
	if m.RetryAfter < time.Second {
		errs = append(errs, fmt.Errorf("monitoring.retry_after must be at least 1s, got %s", m.RetryAfter))
	}
	if m.AdvertiseURL != "" {
		if u, err := url.Parse(m.AdvertiseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || strings.Trim(u.Path, "/") != "" || u.RawQuery != "" || u.User != nil {
			errs = append(errs, errors.New("monitoring.advertise_url must be http(s)://host:port with nothing after it (no user, path or query)"))
		}
	}
	return errors.Join(errs...)
}
