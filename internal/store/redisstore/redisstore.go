// Package redisstore is Wharf's shared store engine on Redis: many processes
// on many hosts share one keyspace and one change stream.
//
// Layout under the namespace ns (all keys carry the hash tag {ns}, so they sit
// in one cluster slot):
//
//	{ns}:rev      revision counter (INCR)
//	{ns}:k:<key>  hash {v, ver, exp} of one user key, with PEXPIREAT when it has a TTL
//	{ns}:idx      ZSET of user keys, score 0, for List (ZRANGE BYLEX)
//	{ns}:exp      ZSET of user keys with a TTL, scored by expiry (unix ms)
//	{ns}:log      stream of changes, entry ID "<rev>-1", trimmed with MAXLEN ~
//
// Every mutation is one Lua script. A reaper in every client expires due keys
// and logs EventExpire; Watch reads the stream with XREAD BLOCK.
//
// It needs Redis 6.2 or newer (ZRANGE BYLEX). The scripts reach per-key hashes
// by name rather than through KEYS; the shared hash tag keeps that within one
// slot, but it is only tested against a standalone server.
package redisstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/wharfhq/wharf/internal/store"
)

// Defaults for Options.
const (
	DefaultNamespace    = "wharf"
	DefaultLogRetention = 100000
	DefaultOpTimeout    = 5 * time.Second
	DefaultReapInterval = 150 * time.Millisecond
	DefaultWatchBlock   = time.Second
	DefaultWatchConns   = 256
)

// Options configures Open.
type Options struct {
	// Addr is the Redis host:port. Required.
	Addr string
	// Password authenticates with Redis when set.
	Password string
	// DB selects the Redis database.
	DB int
	// Namespace prefixes every key (default DefaultNamespace).
	Namespace string
	// LogRetention is the approximate change-stream length (XADD MAXLEN ~,
	// default DefaultLogRetention). Watching from an older revision yields ErrCompacted.
	LogRetention int
	// OpTimeout bounds every Redis call (default DefaultOpTimeout).
	OpTimeout time.Duration
	// ReapInterval is how often this client looks for expired keys (default DefaultReapInterval).
	ReapInterval time.Duration
	// WatchBlock is how long one XREAD blocks (default DefaultWatchBlock).
	WatchBlock time.Duration
	// WatchConns caps the connections of the separate pool that blocking XREADs
	// use, one per open watch (default DefaultWatchConns). Watches never take
	// connections from reads and writes.
	WatchConns int
	// Logger receives background errors; nil discards them.
	Logger *slog.Logger
}

// Store is the Redis engine of store.Store. It is safe for concurrent use.
type Store struct {
	rdb  *redis.Client // reads, writes, scripts
	wrdb *redis.Client // blocking XREADs of watches
	lua  scripts
	opts Options
	log  *slog.Logger

	kRev, kIdx, kExp, kLog, hashPrefix string
	maxlen                             string

	done      chan struct{}
	closeOnce sync.Once
	wg        sync.WaitGroup
}

// Open connects to Redis, checks it answers and starts the expiry reaper.
func Open(ctx context.Context, opts Options) (*Store, error) {
	if opts.Addr == "" {
		return nil, errors.New("cannot open redis store: empty Addr")
	}
	if opts.Namespace == "" {
		opts.Namespace = DefaultNamespace
	}
	if opts.LogRetention <= 0 {
		opts.LogRetention = DefaultLogRetention
	}
	if opts.OpTimeout <= 0 {
		opts.OpTimeout = DefaultOpTimeout
	}
	if opts.ReapInterval <= 0 {
		opts.ReapInterval = DefaultReapInterval
	}
	if opts.WatchBlock <= 0 {
		opts.WatchBlock = DefaultWatchBlock
	}
	if opts.WatchConns <= 0 {
		opts.WatchConns = DefaultWatchConns
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	ropts := &redis.Options{
		Addr:     opts.Addr,
		Password: opts.Password,
		DB:       opts.DB,
		// Our contexts carry the deadlines; a blocking XREAD gets its own.
		ContextTimeoutEnabled: true,
		// Scripts are not idempotent: a retry after a lost reply could apply a write twice.
		MaxRetries:   -1,
		DialTimeout:  opts.OpTimeout,
		ReadTimeout:  opts.OpTimeout,
		WriteTimeout: opts.OpTimeout,
	}
	rdb := redis.NewClient(ropts)
	wopts := *ropts
	wopts.PoolSize = opts.WatchConns
	ns := "{" + opts.Namespace + "}:"
	s := &Store{
		rdb:        rdb,
		wrdb:       redis.NewClient(&wopts),
		lua:        newScripts(),
		opts:       opts,
		log:        logger.With("component", "store", "engine", "redis", "addr", opts.Addr),
		kRev:       ns + "rev",
		kIdx:       ns + "idx",
		kExp:       ns + "exp",
		kLog:       ns + "log",
		hashPrefix: ns + "k:",
		maxlen:     strconv.Itoa(opts.LogRetention),
		done:       make(chan struct{}),
	}
	pctx, cancel := context.WithTimeout(ctx, opts.OpTimeout)
	defer cancel()
	if err := rdb.Ping(pctx).Err(); err != nil {
		_ = rdb.Close()
		_ = s.wrdb.Close()
		return nil, fmt.Errorf("cannot connect to redis at %s: %w", opts.Addr, err)
	}
	s.wg.Add(1)
	go s.reapLoop()
	return s, nil
}

// Close stops the reaper and closes the connections; open watches end with ErrClosed.
// Calling Close again is a no-op.
func (s *Store) Close() error {
	var err error
	s.closeOnce.Do(func() {
		close(s.done)
		s.wg.Wait()
		if cerr := errors.Join(s.rdb.Close(), s.wrdb.Close()); cerr != nil {
			err = fmt.Errorf("cannot close redis clients: %w", cerr)
		}
	})
	return err
}

// Ping checks that Redis answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.check(ctx); err != nil {
		return err
	}
	ctx, cancel := s.opCtx(ctx)
	defer cancel()
	if err := s.rdb.Ping(ctx).Err(); err != nil {
		return s.wrap(fmt.Sprintf("ping redis at %s", s.opts.Addr), err)
	}
	return nil
}

// Revision returns the current store revision.
func (s *Store) Revision(ctx context.Context) (uint64, error) {
	if err := s.check(ctx); err != nil {
		return 0, err
	}
	ctx, cancel := s.opCtx(ctx)
	defer cancel()
	rev, err := s.rdb.Get(ctx, s.kRev).Uint64()
	if errors.Is(err, redis.Nil) {
		return 0, nil
	}
	if err != nil {
		return 0, s.wrap("read revision", err)
	}
	return rev, nil
}

func (s *Store) closed() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

func (s *Store) check(ctx context.Context) error {
	if s.closed() {
		return store.ErrClosed
	}
	return ctx.Err()
}

// opCtx bounds one Redis call by OpTimeout.
func (s *Store) opCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, s.opts.OpTimeout)
}

// wrap reports store.ErrClosed after Close and wraps every other error.
func (s *Store) wrap(what string, err error) error {
	if s.closed() || errors.Is(err, redis.ErrClosed) {
		return store.ErrClosed
	}
	return fmt.Errorf("cannot %s: %w", what, err)
}

// scriptKeys are the KEYS every mutating script takes, in luaPrelude's order.
func (s *Store) scriptKeys() []string {
	return []string{s.kRev, s.kIdx, s.kExp, s.kLog}
}
