package config

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"sync/atomic"
	"time"
)

// Namespace is one namespace's current values. Its getters are safe for
// concurrent use and cheap (one atomic load); a nil *Namespace reads as
// empty, so that every getter returns its default.
type Namespace struct {
	name string
	snap atomic.Pointer[snapshot]
}

// snapshot is an immutable state of a namespace.
type snapshot struct {
	values     map[string]string
	releaseKey string
	source     Source
}

// Source says where a namespace's values came from.
type Source string

// Sources of a namespace's values.
const (
	SourceNone   Source = ""       // nothing loaded yet
	SourceServer Source = "server" // a /configs answer
	SourceAgent  Source = "agent"  // the deploy agent's file (ConfigDir)
	SourceBackup Source = "backup" // the client's own backup file
)

func newNamespace(name string) *Namespace {
	ns := &Namespace{name: name}
	ns.snap.Store(&snapshot{values: map[string]string{}})
	return ns
}

func (n *Namespace) load() *snapshot {
	if n == nil {
		return &snapshot{}
	}
	return n.snap.Load()
}

// Name is the namespace's name.
func (n *Namespace) Name() string {
	if n == nil {
		return ""
	}
	return n.name
}

// ReleaseKey is the release the values are from ("" when they came from
// a file).
func (n *Namespace) ReleaseKey() string { return n.load().releaseKey }

// Source says where the values came from.
func (n *Namespace) Source() Source { return n.load().source }

// Get returns key's value and whether the namespace has it.
func (n *Namespace) Get(key string) (string, bool) {
	v, ok := n.load().values[key]
	return v, ok
}

// Keys returns the namespace's keys, sorted.
func (n *Namespace) Keys() []string { return slices.Sorted(maps.Keys(n.load().values)) }

// All returns a copy of every key and value.
func (n *Namespace) All() map[string]string { return maps.Clone(n.load().values) }

// Content is the whole text of a namespace that is not in properties
// format (json, yaml, xml, txt), or "".
func (n *Namespace) Content() string { return n.load().values[ContentKey] }

// String returns key's value, or def when the namespace lacks it.
func (n *Namespace) String(key, def string) string {
	if v, ok := n.Get(key); ok {
		return v
	}
	return def
}

// Int returns key's value as an integer, or def when the namespace lacks
// it or it is not one.
func (n *Namespace) Int(key string, def int64) int64 {
	if v, ok := n.Get(key); ok {
		if i, err := strconv.ParseInt(v, 10, 64); err == nil {
			return i
		}
	}
	return def
}

// Float returns key's value as a float, or def.
func (n *Namespace) Float(key string, def float64) float64 {
	if v, ok := n.Get(key); ok {
		if f, err := strconv.ParseFloat(v, 64); err == nil {
			return f
		}
	}
	return def
}

// Bool returns key's value as a bool (strconv.ParseBool's forms), or def.
func (n *Namespace) Bool(key string, def bool) bool {
	if v, ok := n.Get(key); ok {
		if b, err := strconv.ParseBool(v); err == nil {
			return b
		}
	}
	return def
}

// Duration returns key's value as a duration ("1.5s", "200ms"), or def.
func (n *Namespace) Duration(key string, def time.Duration) time.Duration {
	if v, ok := n.Get(key); ok {
		if d, err := time.ParseDuration(v); err == nil {
			return d
		}
	}
	return def
}

// JSON decodes key's value into v. It fails when the namespace lacks the
// key or the value is not JSON that fits v.
func (n *Namespace) JSON(key string, v any) error {
	s, ok := n.Get(key)
	if !ok {
		return fmt.Errorf("cannot decode %s: namespace %s has no such key", key, n.Name())
	}
	if err := json.Unmarshal([]byte(s), v); err != nil {
		return fmt.Errorf("cannot decode %s of namespace %s: %w", key, n.Name(), err)
	}
	return nil
}

// ChangeType says what happened to a key.
type ChangeType string

// Change types.
const (
	Added    ChangeType = "added"
	Modified ChangeType = "modified"
	Deleted  ChangeType = "deleted"
)

// Change is one key's change: Old is "" for an added key, New "" for a
// deleted one.
type Change struct {
	Key      string
	Old, New string
	Type     ChangeType
}

// ChangeEvent is what an OnChange callback gets: a namespace's changed
// keys, sorted by key, and where the new values came from.
type ChangeEvent struct {
	Namespace  string
	ReleaseKey string
	Source     Source
	Changes    []Change
}

// diff returns the changes from old to new, sorted by key.
func diff(old, new map[string]string) []Change {
	var out []Change
	for k, nv := range new {
		ov, had := old[k]
		switch {
		case !had:
			out = append(out, Change{Key: k, New: nv, Type: Added})
		case ov != nv:
			out = append(out, Change{Key: k, Old: ov, New: nv, Type: Modified})
		}
	}
	for k, ov := range old {
		if _, has := new[k]; !has {
			out = append(out, Change{Key: k, Old: ov, Type: Deleted})
		}
	}
	slices.SortFunc(out, func(a, b Change) int {
		if a.Key < b.Key {
			return -1
		}
		if a.Key > b.Key {
			return 1
		}
		return 0
	})
	return out
}
