package experiment

import (
	"time"

	"github.com/wharfhq/wharf/internal/auth"
	"github.com/wharfhq/wharf/monitoring/fielderr"
)

// Buckets is the number of buckets of a layer.
const Buckets = 10000

// Layer is a set of mutually exclusive experiments: each unit falls in one
// bucket of the layer (by the layer's salt), and each experiment of the
// layer owns a disjoint range of buckets.
type Layer struct {
	Name string `json:"name"`
	Team string `json:"team"`
	// Salt is the layer's hashing salt; default its team and name
	// ("shop/checkout"). Two layers with different salts are orthogonal.
	Salt        string `json:"salt"`
	Description string `json:"description,omitempty"`
	Audit
}

// Audit says who created and last changed a value, and when.
type Audit struct {
	CreatedBy string    `json:"created_by"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedBy string    `json:"updated_by"`
	UpdatedAt time.Time `json:"updated_at"`
	// Revision counts the changes (1 on create).
	Revision int `json:"revision"`
}

// Touch records a change by who at now (a create when Revision is 0).
func (a *Audit) Touch(who string, now time.Time) {
	if a.Revision == 0 {
		a.CreatedBy, a.CreatedAt = who, now
	}
	a.UpdatedBy, a.UpdatedAt = who, now
	a.Revision++
}

// Normalize fills the defaults of l.
func (l *Layer) Normalize() {
	if l.Salt == "" && l.Team != "" && l.Name != "" {
		l.Salt = l.Team + "/" + l.Name
	}
}

// Validate returns every invalid field of l.
func (l Layer) Validate() fielderr.List {
	var errs fielderr.List
	if !ValidKey(l.Name) {
		errs.Add("name", "must be 1-63 characters of a-z, 0-9, '-', '_' and '.', starting with a letter or digit")
	}
	if !auth.ValidName(l.Team) {
		errs.Add("team", "must be a valid team name")
	}
	if l.Salt == "" || len(l.Salt) > 200 {
		errs.Add("salt", "must be 1-200 characters")
	}
	if len(l.Description) > 1000 {
		errs.Add("description", "must be at most 1000 characters")
	}
	return errs
}

// ValidKey reports whether s is a valid layer name or experiment key:
// 1-63 characters of a-z, 0-9, '-', '_' and '.', starting with a letter
// or digit.
func ValidKey(s string) bool {
	if s == "" || len(s) > 63 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case (c == '-' || c == '_' || c == '.') && i > 0:
		default:
			return false
		}
	}
	return true
}
