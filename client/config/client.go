package config

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// maxBody bounds an answer's body: a namespace is at most 1 MiB, JSON
// escaping can grow it a few times.
const maxBody = 16 << 20

// ErrNotReleased is returned for a namespace the server has no release of
// (404).
var ErrNotReleased = errors.New("namespace not released")

// Client keeps an app's namespaces current. Create it with New, call
// Start once, read with Namespace, and Close it.
type Client struct {
	opts Options
	log  *slog.Logger
	nss  map[string]*Namespace

	mu        sync.Mutex // guards the fields below
	notes     map[string]int64
	msgs      map[string]int64
	servers   []string
	next      int
	callbacks []func(ChangeEvent)
	started   bool

	fetchMu sync.Mutex // one fetch of a namespace at a time
	cancel  context.CancelFunc
	done    sync.WaitGroup
}

// New checks opts and returns a client that has loaded nothing yet.
func New(opts Options) (*Client, error) {
	if err := setDefaults(&opts); err != nil {
		return nil, err
	}
	c := &Client{opts: opts, log: opts.Logger.With("component", "config-client", "app", opts.AppID, "cluster", opts.Cluster),
		nss: map[string]*Namespace{}, notes: map[string]int64{}, msgs: map[string]int64{},
		servers: append([]string(nil), opts.Servers...)}
	for _, ns := range opts.Namespaces {
		c.nss[ns] = newNamespace(ns)
		c.notes[ns] = InitialNotificationID
	}
	return c, nil
}

// Namespace returns one of the client's namespaces, or nil (which reads
// as empty) when it is not one of Options.Namespaces.
func (c *Client) Namespace(name string) *Namespace { return c.nss[name] }

// OnChange adds a callback that gets every change of a namespace after
// Start (the values Start loads are not a change). Callbacks run one at
// a time (never two at once) on the client's goroutines, in the order
// added; a slow one delays the next update.
func (c *Client) OnChange(fn func(ChangeEvent)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.callbacks = append(c.callbacks, fn)
}

// Start loads every namespace — from the server, else (the server cannot
// be reached, fails, or has no release of it, as Apollo clients do) from
// the agent's file, else from the backup file — and starts keeping them current
// until Close. It returns an error naming the namespaces none of the
// three could give; the client runs anyway, and they arrive once the
// server answers. ctx bounds the loading only.
func (c *Client) Start(ctx context.Context) error {
	c.mu.Lock()
	if c.started {
		c.mu.Unlock()
		return errors.New("cannot start config client: already started")
	}
	c.started = true
	c.mu.Unlock()
	if c.opts.Discover {
		c.discover(ctx)
	}
	var missing []string
	var lastErr error
	for _, name := range c.opts.Namespaces {
		if err := c.load(ctx, name); err != nil {
			missing, lastErr = append(missing, name), err
		}
	}
	bg, cancel := context.WithCancel(context.Background())
	c.cancel = cancel
	c.done.Add(2)
	go c.pollLoop(bg)
	go c.refreshLoop(bg)
	if len(missing) > 0 {
		return fmt.Errorf("cannot load namespaces %s from the server, the agent's files or a backup: %w", strings.Join(missing, ", "), lastErr)
	}
	return nil
}

// Close stops keeping the namespaces current; their values stay readable.
func (c *Client) Close() {
	if c.cancel != nil {
		c.cancel()
	}
	c.done.Wait()
}

// load loads a namespace at Start (see Start).
func (c *Client) load(ctx context.Context, name string) error {
	err := c.fetch(ctx, name, false)
	if err == nil {
		return nil
	}
	notReleased := errors.Is(err, ErrNotReleased)
	c.log.Warn("cannot fetch namespace, reading it from a file", "namespace", name, "err", err)
	if c.opts.ConfigDir != "" && c.opts.ConfigDir != NoDir {
		values, ferr := readAgentFile(c.opts.ConfigDir, name)
		if ferr == nil {
			c.apply(name, values, "", SourceAgent, false)
			return nil
		}
		err = errors.Join(err, ferr)
	}
	if c.backupOn() {
		r, berr := readBackup(backupPath(c.opts.BackupDir, c.opts.AppID, c.opts.Cluster, name))
		if berr == nil {
			c.apply(name, r.Configurations, r.ReleaseKey, SourceBackup, false)
			return nil
		}
		err = errors.Join(err, berr)
	}
	if notReleased {
		return nil // nothing released and nothing on disk: empty, as the server says
	}
	return err
}

func (c *Client) backupOn() bool { return c.opts.BackupDir != "" && c.opts.BackupDir != NoDir }

// apply makes values a namespace's current ones and, when notify is set
// and something changed, calls the callbacks.
func (c *Client) apply(name string, values map[string]string, releaseKey string, src Source, notify bool) {
	ns := c.nss[name]
	if values == nil {
		values = map[string]string{}
	}
	old := ns.snap.Swap(&snapshot{values: values, releaseKey: releaseKey, source: src})
	changes := diff(old.values, values)
	if !notify || len(changes) == 0 {
		return
	}
	c.mu.Lock()
	cbs := slices.Clone(c.callbacks)
	c.mu.Unlock()
	ev := ChangeEvent{Namespace: name, ReleaseKey: releaseKey, Source: src, Changes: changes}
	for _, fn := range cbs {
		fn(ev)
	}
}

// fetch asks /configs for a namespace with its current release key and
// the notification messages seen so far, and applies a new release.
func (c *Client) fetch(ctx context.Context, name string, notify bool) error {
	c.fetchMu.Lock()
	defer c.fetchMu.Unlock()
	snap := c.nss[name].snap.Load()
	c.mu.Lock()
	var msgs *Messages
	if len(c.msgs) > 0 {
		msgs = &Messages{Details: make(map[string]int64, len(c.msgs))}
		for k, v := range c.msgs {
			msgs.Details[k] = v
		}
	}
	c.mu.Unlock()
	key := snap.releaseKey
	if snap.source != SourceServer {
		key = "" // a file's values: ask for the release whatever its key
	}
	status, body, err := c.get(ctx, c.opts.FetchTimeout, func(base string) string {
		return configsURL(base, c.opts.AppID, c.opts.Cluster, name, key, c.opts.IP, c.opts.Label, c.opts.InstanceID, msgs)
	})
	if err != nil {
		return fmt.Errorf("cannot fetch namespace %s: %w", name, err)
	}
	switch status {
	case http.StatusNotModified:
		return nil
	case http.StatusNotFound:
		return fmt.Errorf("cannot fetch namespace %s: %w", name, ErrNotReleased)
	case http.StatusOK:
	default:
		return fmt.Errorf("cannot fetch namespace %s: %w", name, statusError(status, body))
	}
	var r Release
	if err := json.Unmarshal(body, &r); err != nil {
		return fmt.Errorf("cannot fetch namespace %s: bad answer: %w", name, err)
	}
	c.apply(name, r.Configurations, r.ReleaseKey, SourceServer, notify)
	if c.backupOn() {
		r.AppID, r.Cluster, r.NamespaceName = c.opts.AppID, c.opts.Cluster, name
		if err := writeBackup(backupPath(c.opts.BackupDir, c.opts.AppID, c.opts.Cluster, name), &r); err != nil {
			c.log.Warn("cannot write backup", "namespace", name, "err", err)
		}
	}
	return nil
}

// statusError is an unexpected answer, with the start of its body.
func statusError(status int, body []byte) error {
	msg := strings.TrimSpace(string(body))
	if len(msg) > 200 {
		msg = msg[:200]
	}
	return fmt.Errorf("server answered %d: %s", status, msg)
}

// get sends a GET built by urlFor for one server after another, from the
// last one that answered, until one answers with a status below 500.
func (c *Client) get(ctx context.Context, timeout time.Duration, urlFor func(base string) string) (int, []byte, error) {
	c.mu.Lock()
	servers, start := c.servers, c.next
	c.mu.Unlock()
	var errs []error
	for i := range servers {
		idx := (start + i) % len(servers)
		status, body, err := c.getOne(ctx, timeout, urlFor(servers[idx]))
		if err == nil && status < 500 {
			c.mu.Lock()
			c.next = idx
			c.mu.Unlock()
			return status, body, nil
		}
		if err == nil {
			err = statusError(status, body)
		}
		errs = append(errs, err)
		if ctx.Err() != nil {
			break
		}
	}
	c.mu.Lock()
	c.next = (start + 1) % max(len(servers), 1)
	c.mu.Unlock()
	return 0, nil, errors.Join(errs...)
}

// getOne sends one signed GET.
func (c *Client) getOne(ctx context.Context, timeout time.Duration, url string) (int, []byte, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, nil, fmt.Errorf("cannot build request: %w", err)
	}
	switch {
	case c.opts.Secret != "":
		Sign(req, c.opts.AppID, c.opts.Secret, c.opts.Now())
	case c.opts.Token != "":
		req.Header.Set(HeaderAuthorization, "Bearer "+c.opts.Token)
	}
	resp, err := c.opts.HTTPClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return 0, nil, fmt.Errorf("cannot read answer: %w", err)
	}
	return resp.StatusCode, body, nil
}

// discover replaces the servers by the nodes /services/config answers.
func (c *Client) discover(ctx context.Context) {
	status, body, err := c.get(ctx, c.opts.FetchTimeout, func(base string) string {
		return servicesURL(base, c.opts.AppID, c.opts.IP)
	})
	if err == nil && status != http.StatusOK {
		err = statusError(status, body)
	}
	var nodes []ServiceNode
	if err == nil {
		err = json.Unmarshal(body, &nodes)
	}
	var servers []string
	for _, n := range nodes {
		u := strings.TrimRight(n.HomepageURL, "/")
		if strings.HasPrefix(u, "http://") || strings.HasPrefix(u, "https://") {
			servers = append(servers, u)
		}
	}
	if err != nil || len(servers) == 0 {
		c.log.Warn("cannot discover config service nodes, keeping the ones known", "err", err)
		return
	}
	c.mu.Lock()
	c.servers, c.next = servers, rand.IntN(len(servers))
	c.mu.Unlock()
}

// localIP is the host's first non-loopback IPv4 address, or "".
func localIP() string {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return ""
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && !n.IP.IsLoopback() && n.IP.To4() != nil {
			return n.IP.String()
		}
	}
	return ""
}
