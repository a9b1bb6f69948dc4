package bus

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/nsqio/nsq/nsqd"
)

// EmbeddedOptions configures an in-process nsqd.
type EmbeddedOptions struct {
	// DataDir holds nsqd's disk queues and metadata. Required; created if missing.
	DataDir string
	// TCPAddr is where producers and consumers connect. Default "127.0.0.1:0"
	// (a free port; see Embedded.TCPAddr for the real one).
	TCPAddr string
	// HTTPAddr is nsqd's HTTP API. Default "127.0.0.1:0".
	HTTPAddr string
	// LookupdTCPAddrs makes nsqd register with these nsqlookupd instances.
	LookupdTCPAddrs []string
	// NodeID is nsqd's node id in [0, 1024). Default 0.
	NodeID int64
	// MemQueueSize is how many messages per topic/channel nsqd keeps in
	// memory before spilling to disk. Default 10000.
	MemQueueSize int64
	// LogLevel is the lowest nsqd log level passed on; nil means slog.LevelWarn.
	LogLevel slog.Leveler
	// Logger receives nsqd's log lines; nil discards them.
	Logger *slog.Logger
}

// Embedded is an nsqd running inside this process.
type Embedded struct {
	opts EmbeddedOptions
	log  *slog.Logger

	mu       sync.Mutex
	n        *nsqd.NSQD
	done     chan error
	tcpAddr  string
	httpAddr string
}

// NewEmbedded checks opts; Start runs nsqd.
func NewEmbedded(opts EmbeddedOptions) (*Embedded, error) {
	if opts.DataDir == "" {
		return nil, errors.New("cannot create embedded nsqd: DataDir is required")
	}
	if opts.TCPAddr == "" {
		opts.TCPAddr = "127.0.0.1:0"
	}
	if opts.HTTPAddr == "" {
		opts.HTTPAddr = "127.0.0.1:0"
	}
	if opts.NodeID < 0 || opts.NodeID >= 1024 {
		return nil, fmt.Errorf("cannot create embedded nsqd: NodeID %d not in [0, 1024)", opts.NodeID)
	}
	if opts.MemQueueSize <= 0 {
		opts.MemQueueSize = 10000
	}
	if opts.LogLevel == nil {
		opts.LogLevel = slog.LevelWarn
	}
	return &Embedded{opts: opts, log: discardLogger(opts.Logger).With("component", "bus.nsqd")}, nil
}

// Start listens on the configured addresses, loads persisted topics and
// channels from DataDir and runs nsqd in the background. ctx bounds nothing
// after Start returns; call Close to stop.
func (e *Embedded) Start(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("cannot start embedded nsqd: %w", err)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.n != nil {
		return errors.New("cannot start embedded nsqd: already started")
	}
	if err := os.MkdirAll(e.opts.DataDir, 0o750); err != nil {
		return fmt.Errorf("cannot create nsqd data dir: %w", err)
	}
	o := nsqd.NewOptions()
	o.ID = e.opts.NodeID
	o.TCPAddress = e.opts.TCPAddr
	o.HTTPAddress = e.opts.HTTPAddr
	o.HTTPSAddress = ""
	o.BroadcastAddress = "127.0.0.1"
	o.NSQLookupdTCPAddresses = append([]string(nil), e.opts.LookupdTCPAddrs...)
	o.DataPath = e.opts.DataDir
	o.MemQueueSize = e.opts.MemQueueSize
	o.StatsdPrefix = ""
	o.Logger = slogAdapter{l: e.log}
	setNSQDLevel(o, e.opts.LogLevel.Level())

	n, err := nsqd.New(o)
	if err != nil {
		return fmt.Errorf("cannot create embedded nsqd: %w", err)
	}
	if err := n.LoadMetadata(); err != nil {
		n.Exit()
		return fmt.Errorf("cannot load nsqd metadata from %s: %w", e.opts.DataDir, err)
	}
	if err := n.PersistMetadata(); err != nil {
		n.Exit()
		return fmt.Errorf("cannot persist nsqd metadata to %s: %w", e.opts.DataDir, err)
	}
	done := make(chan error, 1)
	go func() { done <- n.Main() }()
	e.n, e.done = n, done
	e.tcpAddr = n.RealTCPAddr().String()
	e.httpAddr = n.RealHTTPAddr().String()
	// Return only once nsqd serves: its HTTP API answering means Main has set
	// up its servers. nsqd v1.3.0 races if Exit runs while Main is still
	// starting, so this also makes an immediate Close safe.
	if err := waitServing(ctx, e.httpAddr, done); err != nil {
		e.n, e.done = nil, nil
		n.Exit()
		return fmt.Errorf("cannot start embedded nsqd: %w", err)
	}
	e.log.Info("embedded nsqd started", "tcp", e.tcpAddr, "http", e.httpAddr, "data", e.opts.DataDir)
	return nil
}

// TCPAddr is the address producers and consumers connect to ("" before Start).
func (e *Embedded) TCPAddr() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.tcpAddr
}

// HTTPAddr is nsqd's HTTP API address ("" before Start).
func (e *Embedded) HTTPAddr() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.httpAddr
}

// Close stops nsqd: it closes the listeners, writes in-memory messages and
// metadata to DataDir and waits for nsqd's goroutines. Safe to call twice.
func (e *Embedded) Close() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.n == nil {
		return nil
	}
	n, done := e.n, e.done
	e.n, e.done = nil, nil
	n.Exit()
	select {
	case err := <-done:
		if err != nil {
			return fmt.Errorf("cannot run embedded nsqd: %w", err)
		}
	case <-time.After(10 * time.Second):
		return errors.New("cannot stop embedded nsqd: Main did not return within 10s")
	}
	e.log.Info("embedded nsqd stopped")
	return nil
}

// waitServing polls nsqd's /ping until it answers 200, Main exits, or 10 s pass.
func waitServing(ctx context.Context, httpAddr string, done <-chan error) error {
	// No keep-alive: a kept connection would outlive Start (and nsqd's
	// goroutine serving it would outlive Close).
	client := &http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	deadline := time.Now().Add(10 * time.Second)
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+httpAddr+"/ping", nil)
		if err != nil {
			return err
		}
		if resp, err := client.Do(req); err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case err := <-done:
			return fmt.Errorf("nsqd stopped while starting: %v", err)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("nsqd did not answer on %s within 10s", httpAddr)
		}
	}
}

// setNSQDLevel maps a slog level to nsqd's log level.
func setNSQDLevel(o *nsqd.Options, l slog.Level) {
	switch {
	case l <= slog.LevelDebug:
		o.LogLevel = nsqd.LOG_DEBUG
	case l <= slog.LevelInfo:
		o.LogLevel = nsqd.LOG_INFO
	case l <= slog.LevelWarn:
		o.LogLevel = nsqd.LOG_WARN
	default:
		o.LogLevel = nsqd.LOG_ERROR
	}
}
