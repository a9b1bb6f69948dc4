package model

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"maps"
	"time"
)

// Branch names whose release it is: the main line or the gray branch.
const (
	BranchMain = "main"
	BranchGray = "gray"
)

// Release is one published, immutable configuration of a namespace.
type Release struct {
	ID        int64  `json:"id"`
	Key       string `json:"release_key"`
	App       string `json:"app"`
	Cluster   string `json:"cluster"`
	Namespace string `json:"namespace"`
	// Branch is BranchMain or BranchGray.
	Branch         string            `json:"branch"`
	Configurations map[string]string `json:"configurations"`
	Author         string            `json:"author"`
	Comment        string            `json:"comment,omitempty"`
	CreatedAt      time.Time         `json:"created_at"`
	// Previous is the release clients of the branch read before this one
	// (0 for the first); Diff is the change from it.
	Previous int64    `json:"previous,omitempty"`
	Diff     []Change `json:"diff"`
}

// ReleaseKey is a release's key in Apollo's shape: the UTC time
// (yyyyMMddHHmmss), '-', and 16 hex digits of a hash of the namespace,
// the release id and its configuration. Clients send it back to get 304.
func ReleaseKey(at time.Time, app, cluster, ns string, id int64, conf map[string]string) string {
	h := sha256.New()
	for _, s := range []string{app, cluster, ns} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(id))
	h.Write(b[:])
	for _, k := range SortedKeys(conf) {
		h.Write([]byte(k))
		h.Write([]byte{0})
		h.Write([]byte(conf[k]))
		h.Write([]byte{0})
	}
	return at.UTC().Format("20060102150405") + "-" + hex.EncodeToString(h.Sum(nil)[:8])
}

// Overlay returns base with every key of over set on it (over wins): a
// public namespace with an app's override, or a main release with gray
// changes.
func Overlay(base, over map[string]string) map[string]string {
	out := make(map[string]string, len(base)+len(over))
	maps.Copy(out, base)
	maps.Copy(out, over)
	return out
}

// Edits are the changes a gray branch makes to the main release: keys set
// and keys deleted.
type Edits struct {
	Set    map[string]string `json:"set,omitempty"`
	Delete []string          `json:"delete,omitempty"`
}

// Apply returns base with e applied.
func (e Edits) Apply(base map[string]string) map[string]string {
	out := Overlay(base, e.Set)
	for _, k := range e.Delete {
		delete(out, k)
	}
	return out
}

// SetKey records k=v (and forgets a delete of k).
func (e *Edits) SetKey(k, v string) {
	if e.Set == nil {
		e.Set = map[string]string{}
	}
	e.Set[k] = v
	e.Delete = remove(e.Delete, k)
}

// DeleteKey records the delete of k (and forgets a set of k).
func (e *Edits) DeleteKey(k string) {
	delete(e.Set, k)
	if !contains(e.Delete, k) {
		e.Delete = append(e.Delete, k)
	}
}

func remove(l []string, k string) []string {
	out := l[:0]
	for _, s := range l {
		if s != k {
			out = append(out, s)
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

func contains(l []string, k string) bool {
	for _, s := range l {
		if s == k {
			return true
		}
	}
	return false
}
