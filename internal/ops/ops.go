// Package ops is the internal listener every Wharf process runs (by default on
// 127.0.0.1:9090): /health (liveness), /ready (readiness over named dependency
// checks), /metrics (Prometheus text format) and /debug/pprof/.
package ops

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/VictoriaMetrics/metrics"

	"github.com/wharfhq/wharf/internal/promexp"
)

// Check reports whether one dependency is usable; nil means ready.
type Check func(ctx context.Context) error

// Options configures the internal listener.
type Options struct {
	Listen string
	// Metrics is the process's metric set; process and Go runtime metrics are added on scrape.
	Metrics *metrics.Set
	// Catalog describes the families of Metrics (HELP and TYPE lines); the
	// Go runtime and process families are added to it. Default: those only.
	Catalog *promexp.Catalog
	Logger  *slog.Logger
	// CheckTimeout bounds each readiness check; default 2 s.
	CheckTimeout time.Duration
}

// Server is the internal listener.
type Server struct {
	opts     Options
	ln       net.Listener
	srv      *http.Server
	mux      *http.ServeMux
	mu       sync.RWMutex
	checks   map[string]Check
	draining atomic.Bool
	started  time.Time
}

// New binds the listener (so Addr is known at once) without serving yet.
func New(opts Options) (*Server, error) {
	if opts.CheckTimeout <= 0 {
		opts.CheckTimeout = 2 * time.Second
	}
	if opts.Metrics == nil {
		opts.Metrics = metrics.NewSet()
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Catalog == nil {
		c, err := promexp.NewCatalog(promexp.RuntimeFamilies())
		if err != nil {
			return nil, err
		}
		opts.Catalog = c
	}
	ln, err := net.Listen("tcp", opts.Listen)
	if err != nil {
		return nil, fmt.Errorf("cannot listen on internal address %s: %w", opts.Listen, err)
	}
	s := &Server{opts: opts, ln: ln, checks: map[string]Check{}, started: time.Now()}
	mux := http.NewServeMux()
	s.mux = mux
	mux.HandleFunc("GET /health", s.health)
	mux.HandleFunc("GET /ready", s.ready)
	mux.HandleFunc("GET /metrics", s.metrics)
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	s.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	return s, nil
}

// Addr is the bound address.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Handle adds a route (a net/http ServeMux pattern such as
// "POST /admin/unlock") to the internal listener; safe while it serves.
func (s *Server) Handle(pattern string, h http.Handler) { s.mux.Handle(pattern, h) }

// AddCheck registers a named readiness check (e.g. "redis", "nsqd").
func (s *Server) AddCheck(name string, c Check) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.checks[name] = c
}

// SetDraining makes /ready fail from now on: the first step of a graceful shutdown.
func (s *Server) SetDraining() { s.draining.Store(true) }

// Run serves until ctx is done, then closes the listener.
func (s *Server) Run(ctx context.Context) error {
	errc := make(chan error, 1)
	go func() { errc <- s.srv.Serve(s.ln) }()
	select {
	case err := <-errc:
		if errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		return fmt.Errorf("internal listener failed: %w", err)
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = s.srv.Shutdown(sctx)
		return nil
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (s *Server) health(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"status": "ok", "uptime_seconds": int(time.Since(s.started).Seconds())})
}

// CheckResult is one dependency's state in /ready.
type CheckResult struct {
	Name  string `json:"name"`
	OK    bool   `json:"ok"`
	Error string `json:"error,omitempty"`
}

// Evaluate runs every check concurrently, each with the check timeout.
func (s *Server) Evaluate(ctx context.Context) (bool, []CheckResult) {
	s.mu.RLock()
	names := make([]string, 0, len(s.checks))
	for n := range s.checks {
		names = append(names, n)
	}
	checks := make([]Check, len(names))
	sort.Strings(names)
	for i, n := range names {
		checks[i] = s.checks[n]
	}
	s.mu.RUnlock()
	res := make([]CheckResult, len(names))
	var wg sync.WaitGroup
	for i := range names {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cctx, cancel := context.WithTimeout(ctx, s.opts.CheckTimeout)
			defer cancel()
			res[i] = CheckResult{Name: names[i], OK: true}
			if err := checks[i](cctx); err != nil {
				res[i] = CheckResult{Name: names[i], Error: err.Error()}
			}
		}()
	}
	wg.Wait()
	ok := !s.draining.Load()
	for _, r := range res {
		ok = ok && r.OK
	}
	return ok, res
}

func (s *Server) ready(w http.ResponseWriter, r *http.Request) {
	ok, res := s.Evaluate(r.Context())
	body := map[string]any{"ready": ok, "checks": res}
	if s.draining.Load() {
		body["draining"] = true
	}
	status := http.StatusOK
	if !ok {
		status = http.StatusServiceUnavailable
	}
	writeJSON(w, status, body)
}

func (s *Server) metrics(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	if err := s.opts.Catalog.Write(w, s.opts.Metrics.WritePrometheus, metrics.WriteProcessMetrics); err != nil {
		s.opts.Logger.Debug("cannot write /metrics", "err", err)
	}
}
