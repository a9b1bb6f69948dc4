// Package edge keeps the gateway's edge config — global ACL, limits, services
// and routes — in the store as one versioned document, so every gateway node
// builds the same snapshot from it.
//
// The document is a single key (DefaultKey) written with compare-and-swap:
// every change is a read-modify-write of the whole document, validated as a
// whole (a route can never name a limit that another writer just deleted),
// and stamped with a version, who made it and when. A short record of every
// change is kept under DefaultHistoryPrefix.
//
// The YAML file seeds the document: on start, Seed writes the file's edge
// config when the store has none, or when the file changed since the last
// seed (its hash is kept in the document). Otherwise the store — with the
// changes made through the admin API — wins, so restarting a node does not
// undo run-time changes.
package edge

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"time"

	"github.com/wharfhq/wharf/internal/config"
)

// Store key defaults.
const (
	DefaultKey           = "gateway/edge/config"
	DefaultHistoryPrefix = "gateway/edge/history/"
	// DefaultHistoryTTL is how long change records are kept.
	DefaultHistoryTTL = 90 * 24 * time.Hour
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
	// SeedHash is the hash of the YAML edge config last seeded.
	SeedHash string `json:"seed_hash,omitempty"`
}

// Change records one write of the document.
type Change struct {
	Version int64     `json:"version"`
	By      string    `json:"by"`
	At      time.Time `json:"at"`
	// Action says what changed, e.g. "put route shop" or "seed from config file".
	Action string `json:"action"`
}

// Hash returns a stable hash of an edge config, used to notice that the YAML
// file changed between starts.
func Hash(e config.Edge) string {
	b, _ := json.Marshal(e) // plain data: cannot fail
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
