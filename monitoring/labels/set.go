package labels

import (
	"sort"

	"github.com/prometheus/common/model"
)

// Set is a set of labels, name to value. An empty value is the same as an
// absent label (as in Alertmanager).
type Set map[string]string

// Fingerprint is Alertmanager's fingerprint of the set: FNV-1a 64 over the
// names and values sorted by name, exactly model.LabelSet.Fingerprint
// (a label with an empty value counts, as there; Wharf's own label sets
// never carry one).
func (s Set) Fingerprint() uint64 {
	ls := make(model.LabelSet, len(s))
	for k, v := range s {
		ls[model.LabelName(k)] = model.LabelValue(v)
	}
	return uint64(ls.Fingerprint())
}

// FingerprintString is the fingerprint as Alertmanager prints it: 16
// lower-case hex digits.
func (s Set) FingerprintString() string {
	return model.Fingerprint(s.Fingerprint()).String()
}

// String renders the set as Alertmanager's model.LabelSet does:
// {a="1", b="2"}, sorted by name, values Go-quoted. Group keys contain it.
func (s Set) String() string {
	ls := make(model.LabelSet, len(s))
	for k, v := range s {
		ls[model.LabelName(k)] = model.LabelValue(v)
	}
	return ls.String()
}

// Names returns the label names, sorted.
func (s Set) Names() []string {
	names := make([]string, 0, len(s))
	for k := range s {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

// Clone returns a copy of s (nil for nil).
func (s Set) Clone() Set {
	if s == nil {
		return nil
	}
	c := make(Set, len(s))
	for k, v := range s {
		c[k] = v
	}
	return c
}

// ValidName reports whether name is a label name in Prometheus' classic
// form, [a-zA-Z_][a-zA-Z0-9_]*, the names the matcher syntax can write.
// (Alertmanager's classic parser also takes ':'; Wharf accepts it too.)
func ValidName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c == '_' || c == ':' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'):
		case c >= '0' && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

// SanitizeName turns any string into a valid label name: every byte that
// ValidName refuses becomes '_', and a leading digit gets a '_' before it
// ("host-name" → "host_name", "1x" → "_1x", "" → "_").
func SanitizeName(name string) string {
	if ValidName(name) {
		return name
	}
	b := make([]byte, 0, len(name)+1)
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c == '_' || c == ':' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'):
			b = append(b, c)
		case c >= '0' && c <= '9':
			if len(b) == 0 {
				b = append(b, '_')
			}
			b = append(b, c)
		default:
			b = append(b, '_')
		}
	}
	if len(b) == 0 {
		return "_"
	}
	return string(b)
}
