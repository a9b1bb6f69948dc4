package model

import (
	"fmt"
	"strings"
)

// Defaults Apollo clients assume.
const (
	// DefaultCluster is the cluster of an app that names none.
	DefaultCluster = "default"
	// DefaultNamespace is the namespace of an app that names none.
	DefaultNamespace = "application"
	// ContentKey holds the whole text of a namespace that is not properties.
	ContentKey = "content"
)

// Limits of publish validation.
const (
	// MaxNamespaceBytes bounds a namespace's configuration (keys and values).
	MaxNamespaceBytes = 1 << 20
	// MaxKeyBytes bounds one key of a properties namespace.
	MaxKeyBytes = 128
	// MaxNameBytes bounds an app, cluster or namespace name.
	MaxNameBytes = 128
)

// ValidName returns an error naming what is wrong with an app id, cluster
// or namespace name: 1–128 of letters, digits, '-', '_' and '.', not
// starting with '.'. kind names it in the message.
func ValidName(kind, s string) error {
	if s == "" {
		return fmt.Errorf("%s is empty", kind)
	}
	if len(s) > MaxNameBytes {
		return fmt.Errorf("%s is %d bytes, at most %d", kind, len(s), MaxNameBytes)
	}
	if s[0] == '.' {
		return fmt.Errorf("%s %q must not start with '.'", kind, s)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_', c == '.':
		default:
			return fmt.Errorf("%s %q has %q at byte %d: use letters, digits, '-', '_' and '.'", kind, s, c, i)
		}
	}
	return nil
}

// AppOfClient is the app an Apollo client's appId names: Apollo matches
// appIds without regard to case (its sample app is "SampleApp") and
// Wharf's app names are lowercase, so "SampleApp" is app sampleapp.
func AppOfClient(appID string) string { return strings.ToLower(appID) }

// NormalizeNamespace strips the ".properties" suffix Apollo clients may add
// to a properties namespace ("application.properties" is "application").
func NormalizeNamespace(ns string) string {
	if n, ok := strings.CutSuffix(ns, ".properties"); ok && n != "" {
		return n
	}
	return ns
}

// FormatOf is the format of a namespace by its name, Apollo's convention:
// "config.json" is json, "app.yaml" and "app.yml" yaml, "x.xml" xml,
// "notes.txt" txt, anything else properties.
func FormatOf(ns string) Format {
	i := strings.LastIndexByte(ns, '.')
	if i < 0 {
		return Properties
	}
	switch strings.ToLower(ns[i+1:]) {
	case "json":
		return JSON
	case "yaml", "yml":
		return YAML
	case "xml":
		return XML
	case "txt":
		return TXT
	}
	return Properties
}

// WatchKey is the key of a namespace in Apollo's notification messages:
// "app+cluster+namespace".
func WatchKey(app, cluster, ns string) string { return app + "+" + cluster + "+" + ns }
