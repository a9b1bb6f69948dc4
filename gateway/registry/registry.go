// Package registry is the gateway's service registry: instances register
// themselves (or are registered by the deploy agent) under a TTL that their
// heartbeats refresh, carrying their room, weight, labels, version and load.
// An instance that stops heartbeating disappears when its TTL runs out; one
// that deregisters disappears at once. Every gateway node follows the
// registry through a store watch (Follower) and rebuilds its upstream pools
// from the instances it sees.
//
// Instances live in the store under <prefix><service>/<id> as JSON, with the
// store's TTL.
package registry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/wharfhq/wharf/internal/ident"
	"github.com/wharfhq/wharf/internal/store"
)

// Defaults and bounds.
const (
	DefaultPrefix    = "registry/instances/"
	DefaultTTL       = 10 * time.Second
	MinTTL           = time.Second
	MaxTTL           = 10 * time.Minute
	DefaultOpTimeout = 5 * time.Second
)

// Load is what an instance reports about how busy it is.
type Load struct {
	// CPU and Memory are fractions in [0, 1].
	CPU    float64 `json:"cpu"`
	Memory float64 `json:"memory"`
	// InFlight is the number of requests the instance is serving.
	InFlight int `json:"in_flight"`
}

// Instance is one registered upstream instance.
type Instance struct {
	Service string            `json:"service"`
	ID      string            `json:"id"`
	Addr    string            `json:"addr"`
	Room    string            `json:"room,omitempty"`
	Weight  int               `json:"weight,omitempty"`
	Labels  map[string]string `json:"labels,omitempty"`
	Version string            `json:"version,omitempty"`
	Load    *Load             `json:"load,omitempty"`
	// UpdatedAt is the last heartbeat; ExpiresAt when the TTL runs out.
	UpdatedAt time.Time `json:"updated_at"`
	ExpiresAt time.Time `json:"expires_at"`
}

// FieldError names the field of an Instance that is wrong.
type FieldError struct{ Field, Msg string }

// Error implements error.
func (e *FieldError) Error() string { return e.Field + ": " + e.Msg }

// Validate checks an instance as sent by a client.
func (in Instance) Validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, &FieldError{Field: field, Msg: fmt.Sprintf(format, args...)})
	}
	if !ident.Name(in.Service) {
		bad("service", "must be 1-63 of a-z, 0-9, '-', '_', got %q", in.Service)
	}
	if !validID(in.ID) {
		bad("id", "must be 1-128 of A-Z, a-z, 0-9, '.', '-', '_', ':', got %q", in.ID)
	}
	if host, port, err := net.SplitHostPort(in.Addr); err != nil || host == "" || !validPort(port) || !ident.Printable(host) || strings.ContainsAny(host, " /") {
		bad("addr", "must be host:port, got %q", in.Addr)
	}
	if in.Room != "" && !ident.Name(in.Room) {
		bad("room", "must be 1-63 of a-z, 0-9, '-', '_', got %q", in.Room)
	}
	if in.Weight < 0 || in.Weight > 1000000 {
		bad("weight", "must be between 0 and 1000000, got %d", in.Weight)
	}
	if len(in.Labels) > 32 {
		bad("labels", "at most 32 labels")
	}
	for k, v := range in.Labels {
		switch {
		case !ident.Name(k):
			bad(fmt.Sprintf("labels[%q]", k), "label names are 1-63 of a-z, 0-9, '-', '_'")
		case len(v) > 256 || !ident.Printable(v):
			bad("labels."+k, "values are at most 256 bytes without control characters")
		}
	}
	if len(in.Version) > 128 || !ident.Printable(in.Version) {
		bad("version", "at most 128 bytes without control characters")
	}
	if l := in.Load; l != nil {
		if l.CPU < 0 || l.CPU > 1 || l.CPU != l.CPU {
			bad("load.cpu", "must be a fraction between 0 and 1, got %v", l.CPU)
		}
		if l.Memory < 0 || l.Memory > 1 || l.Memory != l.Memory {
			bad("load.memory", "must be a fraction between 0 and 1, got %v", l.Memory)
		}
		if l.InFlight < 0 {
			bad("load.in_flight", "must not be negative, got %d", l.InFlight)
		}
	}
	return errors.Join(errs...)
}

func validPort(p string) bool {
	n, err := strconv.Atoi(p)
	return err == nil && n > 0 && n < 65536
}

func validID(s string) bool {
	if len(s) == 0 || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte(".-_:", c) >= 0) {
			return false
		}
	}
	return true
}

// Options configures a Registry.
type Options struct {
	Prefix    string        // default DefaultPrefix
	OpTimeout time.Duration // default DefaultOpTimeout
	Now       func() time.Time
}

// Registry writes and reads registrations. It is safe for concurrent use and
// keeps no state of its own.
type Registry struct {
	st   store.Store
	opts Options
}

// New returns a Registry over st.
func New(st store.Store, opts Options) *Registry {
	if opts.Prefix == "" {
		opts.Prefix = DefaultPrefix
	}
	if opts.OpTimeout <= 0 {
		opts.OpTimeout = DefaultOpTimeout
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Registry{st: st, opts: opts}
}

// Prefix is the store prefix the registry writes under.
func (r *Registry) Prefix() string { return r.opts.Prefix }

func (r *Registry) key(service, id string) string { return r.opts.Prefix + service + "/" + id }

// Register creates or refreshes an instance for ttl (DefaultTTL when zero;
// MinTTL..MaxTTL) and returns it as stored.
func (r *Registry) Register(ctx context.Context, in Instance, ttl time.Duration) (Instance, error) {
	return r.RegisterIf(ctx, in, ttl, nil)
}

// maxCASRetries bounds the compare-and-swap loops of RegisterIf and
// DeregisterIf.
const maxCASRetries = 10

// RegisterIf is Register, but when check is set it is called with the
// registration in place (nil when there is none) and its error stops the
// write; the check and the write are one compare-and-swap.
func (r *Registry) RegisterIf(ctx context.Context, in Instance, ttl time.Duration, check func(old *Instance) error) (Instance, error) {
	if ttl == 0 {
		ttl = DefaultTTL
	}
	if ttl < MinTTL || ttl > MaxTTL {
		return Instance{}, &FieldError{Field: "ttl", Msg: fmt.Sprintf("must be between %s and %s, got %s", MinTTL, MaxTTL, ttl)}
	}
	if err := in.Validate(); err != nil {
		return Instance{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, r.opts.OpTimeout)
	defer cancel()
	key := r.key(in.Service, in.ID)
	err := store.Retry(ctx, store.RetryOptions{Attempts: maxCASRetries}, func(ctx context.Context) error {
		now := r.opts.Now().UTC()
		in.UpdatedAt, in.ExpiresAt = now, now.Add(ttl)
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("cannot encode instance: %w", err)
		}
		if check == nil {
			if _, err := r.st.Put(ctx, key, b, store.PutOptions{TTL: ttl}); err != nil {
				return fmt.Errorf("cannot register instance %s/%s: %w", in.Service, in.ID, err)
			}
			return nil
		}
		old, ver, err := r.get(ctx, key)
		if err != nil {
			return err
		}
		if err := check(old); err != nil {
			return err
		}
		if _, err := r.st.CompareAndSwap(ctx, key, ver, b, store.PutOptions{TTL: ttl}); err != nil {
			return fmt.Errorf("cannot register instance %s/%s: %w", in.Service, in.ID, store.AsConflict(err))
		}
		return nil
	})
	if err != nil {
		return Instance{}, err
	}
	return in, nil
}

// get reads a registration: nil and version 0 when there is none.
func (r *Registry) get(ctx context.Context, key string) (*Instance, uint64, error) {
	e, err := r.st.Get(ctx, key)
	if errors.Is(err, store.ErrNotFound) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, fmt.Errorf("cannot read instance %s: %w", key, err)
	}
	var in Instance
	if err := json.Unmarshal(e.Value, &in); err != nil {
		return nil, 0, fmt.Errorf("cannot decode instance %s: %w", key, err)
	}
	return &in, e.Version, nil
}

// Deregister removes an instance at once. It returns an error wrapping
// store.ErrNotFound when there is none.
func (r *Registry) Deregister(ctx context.Context, service, id string) error {
	return r.DeregisterIf(ctx, service, id, nil)
}

// DeregisterIf is Deregister, but when check is set it is called with the
// registration and its error stops the delete; the check and the delete
// are one compare-and-delete.
func (r *Registry) DeregisterIf(ctx context.Context, service, id string, check func(Instance) error) error {
	ctx, cancel := context.WithTimeout(ctx, r.opts.OpTimeout)
	defer cancel()
	key := r.key(service, id)
	if check == nil {
		if _, err := r.st.Delete(ctx, key); err != nil {
			return fmt.Errorf("cannot deregister instance %s/%s: %w", service, id, err)
		}
		return nil
	}
	return store.Retry(ctx, store.RetryOptions{Attempts: maxCASRetries}, func(ctx context.Context) error {
		old, ver, err := r.get(ctx, key)
		if err != nil {
			return err
		}
		if old == nil {
			return fmt.Errorf("cannot deregister instance %s/%s: %w", service, id, store.ErrNotFound)
		}
		if err := check(*old); err != nil {
			return err
		}
		if _, err := r.st.CompareAndDelete(ctx, key, ver); err != nil {
			return fmt.Errorf("cannot deregister instance %s/%s: %w", service, id, store.AsConflict(err))
		}
		return nil
	})
}

// List returns the live instances of a service, sorted by room and id.
func (r *Registry) List(ctx context.Context, service string) ([]Instance, error) {
	ctx, cancel := context.WithTimeout(ctx, r.opts.OpTimeout)
	defer cancel()
	var out []Instance
	for e, err := range store.Entries(ctx, r.st, r.opts.Prefix+service+"/", store.ScanOptions{}) {
		if err != nil {
			return nil, fmt.Errorf("cannot list instances of %s: %w", service, err)
		}
		var in Instance
		if json.Unmarshal(e.Value, &in) == nil {
			out = append(out, in)
		}
	}
	sortInstances(out)
	return out, nil
}

func sortInstances(in []Instance) {
	slices.SortFunc(in, func(a, b Instance) int {
		if a.Room != b.Room {
			return strings.Compare(a.Room, b.Room)
		}
		return strings.Compare(a.ID, b.ID)
	})
}
