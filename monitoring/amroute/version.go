package amroute

import "time"

// Versioned is a route tree as stored: the document as written, its
// version (1 for the first, +1 per change; writers compare-and-swap on
// it) and who changed it when. The notify layer compiles Config with
// Compile when it loads a new version.
type Versioned struct {
	Version   int64     `json:"version"`
	UpdatedBy string    `json:"updated_by"`
	UpdatedAt time.Time `json:"updated_at"`
	Comment   string    `json:"comment,omitempty"`
	Config    Config    `json:"config"`
}

// Next returns the version that replaces v with c, written by who at t.
func (v Versioned) Next(c Config, who string, t time.Time, comment string) Versioned {
	return Versioned{Version: v.Version + 1, UpdatedBy: who, UpdatedAt: t, Comment: comment, Config: c}
}
