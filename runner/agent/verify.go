package agent

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/VictoriaMetrics/metrics"

	"github.com/wharfhq/wharf/functions/deploy/wire"
	"github.com/wharfhq/wharf/internal/apiclient"
)

// Why a task message is refused (the reason label of
// wharf_agent_tasks_refused_total).
const (
	refuseMalformed = "malformed"     // not a signed task at all
	refuseUnsigned  = "unsigned"      // no key id or signature
	refuseUnknown   = "unknown_key"   // signed by a key the API does not serve
	refuseSignature = "bad_signature" // the signature does not match: forged or tampered
	refuseHost      = "wrong_host"    // signed for another host
	refuseExpired   = "expired"       // outside its issued-at..expiry window
	refuseReplayed  = "replayed"      // a message (nonce) this agent has seen
)

var refuseReasons = []string{refuseMalformed, refuseUnsigned, refuseUnknown, refuseSignature, refuseHost, refuseExpired, refuseReplayed}

// errKeyUnknown: the API does not serve the key a task names.
var errKeyUnknown = errors.New("key id not served by the API")

// keyRefetchEvery bounds how often unknown key ids make the agent fetch
// the keys again.
const keyRefetchEvery = time.Second

// maxNonces bounds the nonces remembered; tasks live at most
// wire.MaxTaskTTL, so only a flood of validly signed tasks could reach it.
const maxNonces = 100000

// refusal is a task message the agent will not run.
type refusal struct {
	reason string
	err    error
}

func (r *refusal) Error() string { return r.reason + ": " + r.err.Error() }

func refuse(reason string, format string, args ...any) *refusal {
	return &refusal{reason: reason, err: fmt.Errorf(format, args...)}
}

// taskKeys caches the deploy function's public task-signing keys, fetched
// with the agent's token from wire.TaskKeysPath.
type taskKeys struct {
	api     *apiclient.Client
	timeout time.Duration

	fetchMu sync.Mutex // one lookup fetches at a time; taken before mu

	mu      sync.Mutex
	keys    map[string]ed25519.PublicKey
	fetched time.Time // last fetch attempt
	failed  error     // its error, if it failed
}

// fetch replaces the cached keys with the API's.
func (k *taskKeys) fetch(ctx context.Context) error {
	k.mu.Lock()
	k.fetched = time.Now()
	k.mu.Unlock()
	err := k.get(ctx)
	k.mu.Lock()
	k.failed = err
	k.mu.Unlock()
	return err
}

// get fetches the keys and caches them.
func (k *taskKeys) get(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, k.timeout)
	defer cancel()
	var out wire.TaskKeys
	if err := k.api.Do(ctx, "GET", wire.TaskKeysPath, nil, &out); err != nil {
		return fmt.Errorf("cannot fetch the task-signing keys: %w", err)
	}
	keys := make(map[string]ed25519.PublicKey, len(out.Keys))
	for _, key := range out.Keys {
		if len(key.PublicKey) == ed25519.PublicKeySize && wire.KeyID(key.PublicKey) == key.KeyID {
			keys[key.KeyID] = ed25519.PublicKey(key.PublicKey)
		}
	}
	if len(keys) == 0 {
		return errors.New("cannot fetch the task-signing keys: the API served none")
	}
	k.mu.Lock()
	k.keys = keys
	k.mu.Unlock()
	return nil
}

// lookup returns the key named id, fetching the keys again when id is
// unknown (a rotation) — at most once per keyRefetchEvery: an unknown id
// that comes sooner is refused at once, so a flood of forged key ids
// costs the API one call per period and never holds real tasks up (a
// real task refused that way is sent again by the deploy function after
// plan.ResendAfter, with the keys fetched by then).
func (k *taskKeys) lookup(ctx context.Context, id string) (ed25519.PublicKey, error) {
	k.mu.Lock()
	pub, ok := k.keys[id]
	last, failed := k.fetched, k.failed
	k.mu.Unlock()
	if ok {
		return pub, nil
	}
	if time.Since(last) < keyRefetchEvery {
		if failed != nil {
			return nil, failed // no keys to judge by: try the message again later
		}
		return nil, errKeyUnknown
	}
	k.fetchMu.Lock()
	k.mu.Lock()
	again := k.fetched.Equal(last) // nobody fetched since we looked
	k.mu.Unlock()
	var err error
	if again {
		err = k.fetch(ctx)
	}
	k.fetchMu.Unlock()
	if err != nil {
		return nil, err
	}
	k.mu.Lock()
	pub, ok = k.keys[id]
	failed = k.failed
	k.mu.Unlock()
	switch {
	case ok:
		return pub, nil
	case failed != nil: // another lookup's fetch failed meanwhile
		return nil, failed
	}
	return nil, errKeyUnknown
}

// taskMetrics count the task messages refused, by reason, and accepted.
type taskMetrics struct {
	refused  map[string]*metrics.Counter
	accepted *metrics.Counter
}

func newTaskMetrics(set *metrics.Set) taskMetrics {
	m := taskMetrics{refused: map[string]*metrics.Counter{},
		accepted: set.GetOrCreateCounter("wharf_agent_tasks_verified_total")}
	for _, r := range refuseReasons {
		m.refused[r] = set.GetOrCreateCounter(`wharf_agent_tasks_refused_total{reason="` + r + `"}`)
	}
	return m
}

// DecodeSignedTask parses a task message: one JSON wire.SignedTask of at
// most MaxTaskSize bytes, nothing after it.
func DecodeSignedTask(b []byte) (wire.SignedTask, error) {
	var s wire.SignedTask
	if len(b) > MaxTaskSize {
		return s, fmt.Errorf("cannot decode task: %w: larger than %d bytes", ErrBadTask, MaxTaskSize)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&s); err != nil {
		return wire.SignedTask{}, fmt.Errorf("cannot decode task: %w: %w", ErrBadTask, err)
	}
	if len(bytes.TrimSpace(b[dec.InputOffset():])) > 0 {
		return wire.SignedTask{}, fmt.Errorf("cannot decode task: %w: trailing data after the JSON value", ErrBadTask)
	}
	return s, nil
}

// verify checks a task message: signed by a key the API serves, over
// exactly these fields, for this host, within its time window, and not a
// message seen before. A task that passes has its nonce remembered (in
// the state file, saved before verify returns) so that the same message
// is never run twice, across restarts too.
func (a *Agent) verify(ctx context.Context, b []byte) (wire.Task, error) {
	s, err := DecodeSignedTask(b)
	if err != nil {
		return wire.Task{}, refuse(refuseMalformed, "%v", err)
	}
	if s.KeyID == "" || len(s.Sig) == 0 {
		return s.Task, refuse(refuseUnsigned, "the task carries no signature")
	}
	pub, err := a.keys.lookup(ctx, s.KeyID)
	switch {
	case errors.Is(err, errKeyUnknown):
		return s.Task, refuse(refuseUnknown, "key %q: %v", s.KeyID, err)
	case err != nil: // the API is unreachable: try the message again later
		a.log.Warn("cannot verify a task now, requeueing it", "key_id", clip(s.KeyID), "err", err)
		return s.Task, fmt.Errorf("cannot verify task: %w", err)
	}
	if !s.Verify(pub) {
		return s.Task, refuse(refuseSignature, "the signature of key %s does not match the task", s.KeyID)
	}
	if s.Task.Host != a.opts.HostID {
		return s.Task, refuse(refuseHost, "the task is for host %q", s.Task.Host)
	}
	now := time.Now()
	switch {
	case !s.ExpiresAt.After(s.IssuedAt) || s.ExpiresAt.Sub(s.IssuedAt) > wire.MaxTaskTTL:
		return s.Task, refuse(refuseExpired, "the task's window %s..%s is not 0-%s long", s.IssuedAt, s.ExpiresAt, wire.MaxTaskTTL)
	case now.After(s.ExpiresAt):
		return s.Task, refuse(refuseExpired, "the task expired at %s", s.ExpiresAt.UTC().Format(time.RFC3339))
	case s.IssuedAt.After(now.Add(wire.MaxClockSkew)):
		return s.Task, refuse(refuseExpired, "the task is issued in the future (%s)", s.IssuedAt.UTC().Format(time.RFC3339))
	}
	if len(s.Nonce) != 32 || !validHex(s.Nonce) {
		return s.Task, refuse(refuseMalformed, "the nonce must be 32 hex digits")
	}
	a.mu.Lock()
	for n, exp := range a.st.Nonces {
		if now.After(exp) {
			delete(a.st.Nonces, n)
		}
	}
	if _, seen := a.st.Nonces[s.Nonce]; seen {
		a.mu.Unlock()
		return s.Task, refuse(refuseReplayed, "message %s was seen before", s.Nonce)
	}
	if len(a.st.Nonces) >= maxNonces {
		a.mu.Unlock()
		return s.Task, refuse(refuseReplayed, "%d live messages remembered already", maxNonces)
	}
	if a.st.Nonces == nil {
		a.st.Nonces = map[string]time.Time{}
	}
	a.st.Nonces[s.Nonce] = s.ExpiresAt
	a.mu.Unlock()
	if err := a.save(); err != nil {
		a.mu.Lock()
		delete(a.st.Nonces, s.Nonce)
		a.mu.Unlock()
		return s.Task, err // not a refusal: the message is requeued
	}
	a.tm.accepted.Inc()
	return s.Task, nil
}

// refused logs and counts a refused task message. Only the task's public
// fields are logged, never the signature.
func (a *Agent) refused(r *refusal, t wire.Task, nsqID string) {
	a.tm.refused[r.reason].Inc()
	a.log.Warn("refusing a task message", "reason", r.reason, "err", r.err, "nsq_id", nsqID,
		"deploy", clip(t.DeployID), "task", t.TaskID, "app", clip(t.App), "task_host", clip(t.Host), "version", clip(t.Version))
}

// clip bounds a string from an unverified message before it is logged.
func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}

func validHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}
