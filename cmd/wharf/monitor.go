package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/wharfhq/wharf/functions/monitor"
	"github.com/wharfhq/wharf/internal/bus"
	"github.com/wharfhq/wharf/internal/config"
	"github.com/wharfhq/wharf/internal/fnapi"
	"github.com/wharfhq/wharf/internal/logging"
	"github.com/wharfhq/wharf/internal/nodes"
	"github.com/wharfhq/wharf/internal/store"
	"github.com/wharfhq/wharf/monitoring/metric"
)

// monitorSetup is what the monitor component of one process is made of.
type monitorSetup struct {
	producer      *bus.Producer
	st            store.Store
	nsqd, lookupd []string
	// nsqdHTTP are the nsqd HTTP API addresses the backlog watch reads
	// (with lookupd, the nsqds it knows are read instead).
	nsqdHTTP []string
	// shared makes the series writer share the shards with the other
	// functions nodes through leases in st; url is its advertised URL.
	shared bool
	nodeID string
	url    func() string
	// writer: this node stores series (serve, functions); else it only
	// ingests and forwards queries (gateway).
	writer bool
}

// startMonitor registers the monitor function (metric push, query,
// series index, strategies in st) on mux and, with a writer, creates the
// series writer: of every shard in serve, of a lease share of them on a
// functions node. The writer runs once the returned run is called
// (after the gateway bound its port, which the leases advertise); close
// undoes a writer that never ran.
func (b *base) startMonitor(ctx context.Context, mux *fnapi.Mux, s monitorSetup) (w *monitor.Writer, close func(), err error) {
	o := b.opts.Monitoring
	log := logging.Component(b.log, "monitor")
	if s.writer {
		dir := o.SeriesDir
		if dir == "" {
			dir = filepath.Join(b.opts.DataDir, "series")
		}
		perShard := 0
		if o.MaxSeries > 0 {
			perShard = max(1, o.MaxSeries*5/4/o.Shards) // shards fill unevenly: 25 % slack
		}
		floorBytes, floorPercent, err := config.ParseFreeDisk(o.MinFreeDisk) // validated with the options
		if err != nil {
			return nil, nil, fmt.Errorf("monitoring.min_free_disk: %w", err)
		}
		wo := monitor.WriterOptions{Dir: dir, Shards: o.Shards, MaxSeries: perShard, NSQDAddrs: s.nsqd, LookupdHTTPAddrs: s.lookupd,
			Security: b.nsqSec, MaxInFlight: b.opts.NSQ.MaxInFlight, SyncInterval: o.SeriesSyncInterval, NodeID: s.nodeID, Logger: log, Metrics: b.metrics,
			Disk: monitor.DiskGuardOptions{Floor: monitor.DiskFloor{Bytes: floorBytes, Percent: floorPercent}}}
		if s.shared {
			wo.Store, wo.URL = s.st, s.url
		}
		if w, err = monitor.NewWriter(wo); err != nil {
			return nil, nil, err
		}
	}
	// Forwarded queries get a transport of their own, so that stop closes
	// its idle keep-alive connections.
	tr := http.DefaultTransport.(*http.Transport).Clone()
	client := &http.Client{Transport: tr}
	backlog, stopBacklog, err := b.startBacklogWatch(ctx, log, s.lookupd, s.nsqdHTTP) // backlog.go
	if err != nil {
		if w != nil {
			_ = w.Close()
		}
		return nil, nil, err
	}
	close = func() {
		stopBacklog()
		if w != nil {
			_ = w.Close()
		}
		tr.CloseIdleConnections()
	}
	format, err := metric.ParseBatchFormat(o.BatchFormat)
	if err != nil {
		close()
		return nil, nil, fmt.Errorf("monitoring.batch_format: %w", err)
	}
	fn, err := monitor.New(monitor.Options{Publisher: s.producer, Shards: o.Shards, Replicas: o.Replicas, BatchFormat: format,
		MinStep: int64(o.MinStep / time.Second), MaxQueued: int64(o.MaxQueued), RetryAfter: o.RetryAfter,
		Backlog: backlog, Series: w, Store: s.st, Client: client, Logger: log, Metrics: b.metrics})
	if err != nil {
		close()
		return nil, nil, err
	}
	if err := mux.Register(fn); err != nil {
		close()
		return nil, nil, err
	}
	b.feed = fn // the gateway, started after, feeds its own metrics in-process
	return w, close, nil
}

// startMonitorComponent registers the monitor function on every node
// that serves HTTP, so a Falcon agent can push to any of them. serve
// runs its series writer of every shard at once; a functions node runs
// its writer from the series writer component, after the gateway.
func (w *wiring) startMonitorComponent(ctx context.Context) (stopFunc, error) {
	s := monitorSetup{producer: w.producer, st: w.st, writer: w.role.embedded || w.role.name == "functions"}
	host, _ := os.Hostname()
	s.nodeID = nodes.NewID(host, w.ops.Addr().String())
	if w.role.embedded {
		s.nsqd, s.nsqdHTTP = []string{w.nsqd.TCPAddr()}, []string{w.nsqd.HTTPAddr()}
	} else {
		s.nsqd, s.lookupd, s.shared = w.consumeFrom(), w.opts.NSQ.Lookupd, true
		s.nsqdHTTP, s.url = w.opts.NSQ.NSQDHTTP, w.advertiseURL
	}
	writer, close, err := w.startMonitor(ctx, w.mux, s)
	if err != nil {
		return nil, err
	}
	w.series = writer
	if !w.role.embedded {
		return noStop(close), nil
	}
	stopWriter, err := w.runSeriesWriter(ctx)
	if err != nil {
		close()
		return nil, err
	}
	return func(c context.Context) error {
		err := stopWriter(c)
		close() // the backlog watch and the forwarding transport
		return err
	}, nil
}

// startSeriesWriter runs a functions node's series writer, which takes
// its share of the shards' leases advertising the gateway's URL.
func (w *wiring) startSeriesWriter(ctx context.Context) (stopFunc, error) {
	if u, err := url.Parse(w.advertiseURL()); w.opts.Monitoring.AdvertiseURL == "" && err == nil {
		if ip := net.ParseIP(u.Hostname()); u.Hostname() == "localhost" || (ip != nil && ip.IsLoopback()) {
			logging.Component(w.log, "monitor").Warn("monitoring.advertise_url is not set: other nodes forward queries of this node's series shards to a loopback address, which works only when every node runs on this host",
				"advertised", u.String())
		}
	}
	return w.runSeriesWriter(ctx)
}

// runSeriesWriter runs the series writer until the returned stop.
func (w *wiring) runSeriesWriter(ctx context.Context) (stopFunc, error) {
	sw, log := w.series, logging.Component(w.log, "monitor")
	bg := runBackground(ctx, func(ctx context.Context) error {
		if err := sw.Run(ctx); err != nil {
			log.Error("series writer stopped", "err", err)
			return err
		}
		return nil
	})
	return bg.stop, nil
}

// advertiseURL is the URL other nodes forward series queries to:
// monitoring.advertise_url, else the gateway's own address (loopback
// when it listens on every interface).
func (w *wiring) advertiseURL() string {
	if u := w.opts.Monitoring.AdvertiseURL; u != "" {
		return u
	}
	if w.gw == nil {
		return ""
	}
	plain, https := gatewayURLs(w.gw, w.opts.Gateway)
	if plain != "" {
		return plain
	}
	return https
}
