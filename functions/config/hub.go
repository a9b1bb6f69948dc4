package config

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wharfhq/wharf/functions/config/model"
	"github.com/wharfhq/wharf/internal/store"
)

// hub follows the namespaces' heads in the store: the notification id of
// each (its head's version) and the owners of public namespaces, and wakes
// the polls held on a namespace when its head changes. Every node runs
// one, so a publish on any node answers the polls held on all of them.
type hub struct {
	st      store.Store
	timeout time.Duration
	log     *slog.Logger
	ready   chan struct{}
	once    sync.Once

	mu       sync.Mutex
	versions map[string]uint64 // by head path app/cluster/ns
	names    nameIndex
	public   publicIndex
	waiters  map[string]map[*waiter]struct{}
	held     int
}

// publicNS is a public namespace: its name as stored and its owner app.
type publicNS struct{ name, owner string }

// waiter is one held poll. When a namespace it waits on changes the hub
// computes its answer, hands it over (never blocking) and removes it, so
// that 10,000 polls woken at once do not queue on the hub's lock.
type waiter struct {
	app, cluster string
	ws           []watched
	// sig is the same for polls that ask the same: one answer serves all.
	sig     string
	ch      chan []byte
	keys    []string
	removed atomic.Bool
}

func newHub(st store.Store, timeout time.Duration, log *slog.Logger) *hub {
	return &hub{st: st, timeout: timeout, log: log, ready: make(chan struct{}),
		versions: map[string]uint64{}, names: newNameIndex(), public: publicIndex{}, waiters: map[string]map[*waiter]struct{}{}}
}

// wakeKey is the key waiters of app's namespace ns (in any case) wait
// on; publicKey the one of every app that reads the public namespace ns.
func wakeKey(app, ns string) string { return app + "/" + fold(ns) }
func publicKey(ns string) string    { return "*/" + fold(ns) }

// run loads the heads and follows them until ctx ends; after a compacted
// watch (or a failed load) it loads again and wakes every waiter.
func (h *hub) run(ctx context.Context) error {
	backoff := 100 * time.Millisecond
	for {
		rev, err := h.load(ctx)
		if err == nil {
			h.once.Do(func() { close(h.ready) })
			h.wakeAll()
			err = h.follow(ctx, rev)
		}
		if ctx.Err() != nil {
			return nil
		}
		h.log.Warn("config notifications: reloading the heads", "err", err)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

// load reads every head and returns the revision to watch from.
func (h *hub) load(ctx context.Context) (uint64, error) {
	versions, names, public := map[string]uint64{}, newNameIndex(), publicIndex{}
	var rev uint64
	after := ""
	for {
		cctx, cancel := context.WithTimeout(ctx, h.timeout)
		page, err := h.st.List(cctx, headPrefix, store.ListOptions{After: after})
		cancel()
		if err != nil {
			return 0, err
		}
		if rev == 0 {
			rev = page.Revision
		}
		for _, e := range page.Entries {
			n, ok := parseHeadKey(e.Key)
			if !ok {
				continue
			}
			versions[n.path()] = e.Version
			names.add(n)
			if isPublic(e.Value) {
				public.add(publicNS{name: n.NS, owner: n.App})
			}
		}
		if page.Next == "" {
			break
		}
		after = page.Next
	}
	h.mu.Lock()
	h.versions, h.names, h.public = versions, names, public
	h.mu.Unlock()
	return rev, nil
}

func isPublic(v []byte) bool {
	var p struct {
		Public bool `json:"public"`
	}
	return json.Unmarshal(v, &p) == nil && p.Public
}

// follow applies the changes after rev until the watch ends.
func (h *hub) follow(ctx context.Context, rev uint64) error {
	ch, err := h.st.Watch(ctx, headPrefix, rev)
	if err != nil {
		return err
	}
	for ev := range ch {
		if ev.Err != nil {
			return ev.Err
		}
		n, ok := parseHeadKey(ev.Key)
		if !ok {
			continue
		}
		h.apply(n, ev)
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return errors.New("watch ended")
}

// apply records one head change and wakes its waiters.
func (h *hub) apply(n nsID, ev store.Event) {
	pub := ev.Type == store.EventPut && isPublic(ev.Value)
	h.mu.Lock()
	defer h.mu.Unlock()
	this := publicNS{name: n.NS, owner: n.App}
	wasPublic := h.public.has(this)
	if ev.Type == store.EventPut {
		h.versions[n.path()] = ev.Revision
		h.names.add(n)
	} else {
		delete(h.versions, n.path())
		h.names.remove(n)
	}
	if pub {
		h.public.add(this)
	} else if wasPublic && ev.Type != store.EventPut {
		h.public.remove(this)
	}
	h.wakeLocked(wakeKey(n.App, n.NS))
	if pub || wasPublic {
		h.wakeLocked(publicKey(n.NS))
	}
}

// wakeLocked answers the waiters of key whose namespaces changed.
func (h *hub) wakeLocked(key string) {
	answers := map[string][]byte{}
	for w := range h.waiters[key] {
		h.answerLocked(w, answers)
	}
}

// answerLocked hands w its answer (the JSON body) and removes it, if one
// of its namespaces changed. answers keeps the bodies made in this wake by
// signature: 10,000 polls of one namespace cost one encoding.
func (h *hub) answerLocked(w *waiter, answers map[string][]byte) {
	body, ok := answers[w.sig]
	if !ok {
		if out := h.changedLocked(w.app, w.cluster, w.ws); len(out) > 0 {
			body = encodeAnswer(out)
		}
		answers[w.sig] = body
	}
	if body == nil {
		return
	}
	w.ch <- body // cap 1, and a waiter is answered once: never blocks
	h.removeLocked(w)
}

// encodeAnswer is the JSON body of a /notifications/v2 answer.
func encodeAnswer(out []ApolloNotification) []byte {
	b, err := json.Marshal(out)
	if err != nil {
		return []byte("[]")
	}
	return b
}

// signature identifies what a poll asks: app, cluster and each namespace
// with its id.
func signature(app, cluster string, ws []watched) string {
	var b strings.Builder
	b.WriteString(app)
	b.WriteByte('+')
	b.WriteString(cluster)
	for _, w := range ws {
		b.WriteByte('+')
		b.WriteString(w.name)
		b.WriteByte('=')
		b.WriteString(strconv.FormatInt(w.id, 10))
	}
	return b.String()
}

// wakeAll answers every waiter whose namespaces changed (after a reload).
func (h *hub) wakeAll() {
	h.mu.Lock()
	defer h.mu.Unlock()
	var all []*waiter
	for _, ws := range h.waiters {
		for w := range ws {
			all = append(all, w)
		}
	}
	answers := map[string][]byte{}
	for _, w := range all {
		if !w.removed.Load() {
			h.answerLocked(w, answers)
		}
	}
}

// watched is one namespace a poll asks about.
type watched struct {
	name string // as the client sent it
	ns   string // normalized
	id   int64  // the client's notification id
}

// notification is one namespace's current id and the ids it is made of.
type notification struct {
	id      int64
	details map[string]int64
}

// currentLocked is the notification of app's namespace ns in cluster
// (names in any case): the newest head version among the cluster's and
// the default cluster's of the app and, for a public namespace, of its
// owner (-1: none). The details name the namespaces as stored.
func (h *hub) currentLocked(app, cluster, ns string) notification {
	out := notification{id: -1, details: map[string]int64{}}
	add := func(a, c string) {
		n, ok := nsID{a, c, ns}, true
		if _, exact := h.versions[n.path()]; !exact {
			n, ok = h.names.lookup(a, c, ns)
		}
		if v, found := h.versions[n.path()]; ok && found {
			out.details[n.watchKey()] = int64(v)
			out.id = max(out.id, int64(v))
		}
	}
	add(app, cluster)
	if cluster != model.DefaultCluster {
		add(app, model.DefaultCluster)
	}
	if p, ok, _ := h.public.pick(ns); ok && p.owner != app {
		owner := p.owner
		add(owner, cluster)
		if cluster != model.DefaultCluster {
			add(owner, model.DefaultCluster)
		}
	}
	return out
}

// changedLocked returns the namespaces of ws whose id is newer than the
// client's.
func (h *hub) changedLocked(app, cluster string, ws []watched) []ApolloNotification {
	var out []ApolloNotification
	for _, w := range ws {
		cur := h.currentLocked(app, cluster, w.ns)
		if cur.id > w.id {
			out = append(out, ApolloNotification{NamespaceName: w.name, NotificationID: cur.id, Messages: &NotificationMessages{Details: cur.details}})
		}
	}
	return out
}

// register adds a waiter for app's namespaces ws, unless one changed
// already: then it returns those instead.
func (h *hub) register(app, cluster string, ws []watched) (*waiter, []ApolloNotification) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if out := h.changedLocked(app, cluster, ws); len(out) > 0 {
		return nil, out
	}
	w := &waiter{app: app, cluster: cluster, ws: ws, sig: signature(app, cluster, ws), ch: make(chan []byte, 1)}
	for _, x := range ws {
		w.keys = append(w.keys, wakeKey(app, x.ns), publicKey(x.ns))
	}
	for _, k := range w.keys {
		m := h.waiters[k]
		if m == nil {
			m = map[*waiter]struct{}{}
			h.waiters[k] = m
		}
		m[w] = struct{}{}
	}
	h.held++
	return w, nil
}

// unregister removes w unless the hub did when it answered it.
func (h *hub) unregister(w *waiter) {
	if w.removed.Load() {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if !w.removed.Load() {
		h.removeLocked(w)
	}
}

func (h *hub) removeLocked(w *waiter) {
	w.removed.Store(true)
	for _, k := range w.keys {
		delete(h.waiters[k], w)
		if len(h.waiters[k]) == 0 {
			delete(h.waiters, k)
		}
	}
	h.held--
}

// heldPolls is the number of polls held now.
func (h *hub) heldPolls() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.held
}

// waitFor waits (briefly) until the hub has seen the notifications of msgs.
func (h *hub) waitFor(ctx context.Context, msgs NotificationMessages) {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for {
		h.mu.Lock()
		caught := true
		for k, id := range msgs.Details {
			app, cluster, ns, ok := splitWatchKey(k)
			if ok && int64(h.versions[app+"/"+cluster+"/"+ns]) < id {
				caught = false
			}
		}
		h.mu.Unlock()
		if caught {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
