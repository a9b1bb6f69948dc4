package tlsconf

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/VictoriaMetrics/metrics"
)

// Pair is one PEM certificate chain file and the file of its private key.
type Pair struct {
	CertFile string
	KeyFile  string
}

// Options configures a Store.
type Options struct {
	// Pairs are the certificates to serve; the first is the default for
	// clients without SNI or asking for a name no certificate covers.
	Pairs []Pair
	// CheckEvery is how often Run looks for changed files (default 10s).
	CheckEvery time.Duration
	Logger     *slog.Logger
	// Metrics receives the reload counters (default: a new set).
	Metrics *metrics.Set
}

// Store holds the loaded certificates and serves them by SNI. Reloads swap
// an immutable index, so handshakes in progress and open connections keep
// the certificate they started with.
type Store struct {
	opts Options
	log  *slog.Logger
	m    storeMetrics
	ix   atomic.Pointer[index]
	// mu orders reloads; files and certs are guarded by it.
	mu    sync.Mutex
	files []fileState
	certs []*tls.Certificate
}

// fileState is what a pair's files looked like when they were last read.
type fileState struct {
	cert, key os.FileInfo
}

// New loads every pair. A pair that cannot be loaded is an error naming its
// files: the gateway does not start with a certificate missing.
func New(opts Options) (*Store, error) {
	if len(opts.Pairs) == 0 {
		return nil, errors.New("cannot create the TLS certificate store: no certificate configured")
	}
	if opts.CheckEvery <= 0 {
		opts.CheckEvery = 10 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Metrics == nil {
		opts.Metrics = metrics.NewSet()
	}
	s := &Store{opts: opts, log: opts.Logger, files: make([]fileState, len(opts.Pairs)), certs: make([]*tls.Certificate, len(opts.Pairs))}
	for i, p := range opts.Pairs {
		st, err := statPair(p)
		if err != nil {
			return nil, err
		}
		c, err := loadPair(p)
		if err != nil {
			return nil, err
		}
		s.files[i], s.certs[i] = st, c
		s.warnValidity(p, c)
	}
	s.ix.Store(buildIndex(s.certs))
	s.m = newStoreMetrics(opts.Metrics, s)
	return s, nil
}

// GetCertificate picks the certificate for a handshake (tls.Config.GetCertificate).
func (s *Store) GetCertificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	return s.ix.Load().lookup(hello.ServerName), nil
}

// Run checks the files every CheckEvery until ctx ends.
func (s *Store) Run(ctx context.Context) {
	t := time.NewTicker(s.opts.CheckEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.Check()
		}
	}
}

// Check reloads every pair whose certificate or key file changed (another
// file, modification time or size) since it was last read, and reports how
// many were replaced. A pair that fails to load keeps serving its previous
// certificate; the failure is logged and counted, and the pair is tried
// again when one of its files changes again.
func (s *Store) Check() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	replaced := 0
	for i, p := range s.opts.Pairs {
		st, err := statPair(p)
		if err != nil {
			if !sameState(s.files[i], fileState{}) {
				s.m.errors.Inc()
				s.log.Error("TLS certificate files unreadable; keeping the loaded certificate", "cert_file", p.CertFile, "key_file", p.KeyFile, "err", err)
				s.files[i] = fileState{}
			}
			continue
		}
		if sameState(s.files[i], st) {
			continue
		}
		s.files[i] = st
		c, err := loadPair(p)
		if err != nil {
			s.m.errors.Inc()
			s.log.Error("TLS certificate not reloaded; keeping the loaded certificate", "cert_file", p.CertFile, "key_file", p.KeyFile, "err", err)
			continue
		}
		s.certs[i] = c
		replaced++
		s.m.reloads.Inc()
		s.warnValidity(p, c)
		s.log.Info("TLS certificate reloaded", "cert_file", p.CertFile, "names", c.Leaf.DNSNames, "not_after", c.Leaf.NotAfter)
	}
	if replaced > 0 {
		s.ix.Store(buildIndex(s.certs))
	}
	return replaced
}

// firstExpiry is the Unix time (seconds) at which the first of the loaded
// certificates expires; 0 with none loaded.
func (s *Store) firstExpiry() float64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	var first time.Time
	for _, c := range s.certs {
		if na := c.Leaf.NotAfter; first.IsZero() || na.Before(first) {
			first = na
		}
	}
	if first.IsZero() {
		return 0
	}
	return float64(first.Unix())
}

func (s *Store) warnValidity(p Pair, c *tls.Certificate) {
	now := time.Now()
	switch {
	case now.After(c.Leaf.NotAfter):
		s.log.Warn("TLS certificate has expired", "cert_file", p.CertFile, "not_after", c.Leaf.NotAfter)
	case now.Before(c.Leaf.NotBefore):
		s.log.Warn("TLS certificate is not valid yet", "cert_file", p.CertFile, "not_before", c.Leaf.NotBefore)
	}
}

// loadPair reads and checks one pair: the key must match the first
// certificate of the chain.
func loadPair(p Pair) (*tls.Certificate, error) {
	c, err := tls.LoadX509KeyPair(p.CertFile, p.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("cannot load TLS certificate %s with key %s: %w", p.CertFile, p.KeyFile, err)
	}
	if c.Leaf == nil {
		return nil, fmt.Errorf("cannot load TLS certificate %s: no parsed leaf certificate", p.CertFile)
	}
	return &c, nil
}

func statPair(p Pair) (fileState, error) {
	c, err := os.Stat(p.CertFile)
	if err != nil {
		return fileState{}, fmt.Errorf("cannot read TLS certificate file: %w", err)
	}
	k, err := os.Stat(p.KeyFile)
	if err != nil {
		return fileState{}, fmt.Errorf("cannot read TLS key file: %w", err)
	}
	return fileState{cert: c, key: k}, nil
}

func sameState(a, b fileState) bool { return sameFile(a.cert, b.cert) && sameFile(a.key, b.key) }

// sameFile: the same inode (a file renamed over it is another), with the
// same modification time and size.
func sameFile(a, b os.FileInfo) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return os.SameFile(a, b) && a.ModTime().Equal(b.ModTime()) && a.Size() == b.Size()
}
