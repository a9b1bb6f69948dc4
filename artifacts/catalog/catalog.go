// Package catalog is the contract of the artifact records in the store:
// the store keys of a version's metadata and of an app's live versions,
// the metadata itself, the blob keys, and the rules for app and version
// names. functions/artifacts writes these records and functions/deploy
// reads them (and writes the live versions); both import this package,
// neither imports the other.
//
//	artifacts/apps/<app>/versions/<version>  Meta (JSON), MetaKey
//	deploys/live/<app>                       {"versions": [...]}, LiveKey, LiveValue, ParseLive
//	apps/<app>/<version>                     the bundle in the blob store, BlobKey
package catalog

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/wharfhq/wharf/artifacts/bundle"
	"github.com/wharfhq/wharf/internal/ident"
)

// Meta is a stored version's metadata (at MetaKey).
type Meta struct {
	App       string           `json:"app"`
	Version   string           `json:"version"`
	SHA256    string           `json:"sha256"`
	Size      int64            `json:"size"`
	Manifest  *bundle.Manifest `json:"manifest"`
	Team      string           `json:"team"`
	Uploader  string           `json:"uploader"`
	CreatedAt time.Time        `json:"created_at"`
	// LastDeployedAt is set by deploys; retention keeps versions deployed
	// within its window.
	LastDeployedAt *time.Time `json:"last_deployed_at,omitempty"`
}

// BlobPrefix starts every bundle's key in the blob store.
const BlobPrefix = "apps/"

// MetaPrefix is the store prefix of app's version metadata.
func MetaPrefix(app string) string { return "artifacts/apps/" + app + "/versions/" }

// MetaKey is the store key of the metadata of app's version.
func MetaKey(app, version string) string { return MetaPrefix(app) + version }

// BlobKey is the blob store key of app's version's bundle.
func BlobKey(app, version string) string { return BlobPrefix + app + "/" + version }

// LiveKey is the store key listing the versions of app in use, which
// retention keeps.
func LiveKey(app string) string { return "deploys/live/" + app }

// LiveValue is the value at LiveKey marking versions as in use.
func LiveValue(versions ...string) []byte {
	b, _ := json.Marshal(liveValue{Versions: versions})
	return b
}

// ParseLive decodes the value at LiveKey: {"versions": [...]}, or a bare
// array as written by hand.
func ParseLive(b []byte) ([]string, error) {
	var v liveValue
	if err := json.Unmarshal(b, &v); err != nil {
		if err2 := json.Unmarshal(b, &v.Versions); err2 != nil {
			return nil, fmt.Errorf("cannot decode live versions: %w", err)
		}
	}
	return v.Versions, nil
}

type liveValue struct {
	Versions []string `json:"versions"`
}

// ValidApp reports whether s can be an app name: the manifest's rule, 1-63
// of a-z, 0-9 and '-', starting with a letter.
func ValidApp(s string) bool {
	if s == "" || len(s) > 63 || s[0] < 'a' || s[0] > 'z' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// ValidVersion reports whether s can be a version (internal/ident.Version).
func ValidVersion(s string) bool { return ident.Version(s) }
