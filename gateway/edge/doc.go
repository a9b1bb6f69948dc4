// Package edge keeps the gateway's edge config — global ACL, limits, services
// and routes — in the store as one versioned document, so every gateway node
// builds the same snapshot from it.
//
// The document is a single key (DefaultKey) written with compare-and-swap:
// every change is a read-modify-write of the whole document, validated as a
// whole (a route can never name a limit that another writer just deleted),
// and stamped with a version, who made it and when. Every version is kept
// whole under DefaultHistoryPrefix, so any of them can be restored
// (Rollback) as a new version, under DefaultVersionPrefix beside a short
// change record under DefaultHistoryPrefix; history is never rewritten.
//
// The YAML file (and flags) seed the document only when the store has none:
// the first start. After that the store wins — a start never overwrites
// what is stored; Seed reports how the file differs (a Diff) so the process
// can say so, and Apply replaces the stored config on purpose, with
// compare-and-set on the version the user's diff was made against.
package edge

import (
	"time"

	"github.com/wharfhq/wharf/internal/config"
)

// Store key defaults.
const (
	DefaultKey           = "gateway/edge/config"
	DefaultHistoryPrefix = "gateway/edge/history/"
	// DefaultVersionPrefix holds every version's whole document.
	DefaultVersionPrefix = "gateway/edge/versions/"
	// DefaultOpTimeout bounds every store call.
	DefaultOpTimeout = 5 * time.Second
)

// Doc is the stored edge config with its version stamp.
type Doc struct {
	config.Edge
	// Version counts changes: 1 for the first write, +1 for each later one.
	Version   int64     `json:"version"`
	UpdatedBy string    `json:"updated_by"`
	UpdatedAt time.Time `json:"updated_at"`
	// Action says what the change that made this version did.
	Action string `json:"action,omitempty"`
}

// Change records one write of the document.
type Change struct {
	Version int64     `json:"version"`
	By      string    `json:"by"`
	At      time.Time `json:"at"`
	// Action says what changed, e.g. "put route shop" or "rollback to version 3".
	Action string `json:"action"`
}
